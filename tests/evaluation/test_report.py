from embedtune.evaluation.report import Comparison, html_report, markdown_table, rank_changes


def test_rank_changes_orders_biggest_moves_first():
    improved, worsened = rank_changes(
        ["q1", "q2", "q3", "q4"], [5, None, 1, 2], [1, 3, 4, 2], limit=5
    )
    assert [m["query"] for m in improved] == ["q2", "q1"]
    assert [m["query"] for m in worsened] == ["q3"]


def comparison():
    return Comparison(
        metrics={"base": {"ndcg@10": 0.5, "hit_rate@1": 0.4}, "finetuned": {"ndcg@10": 0.6, "hit_rate@1": 0.3}},
        n_queries=10, n_corpus=100,
        improved=[{"query": "<b>q</b>", "base_rank": None, "finetuned_rank": 1, "delta": 9}],
        context={"base_model": "m"},
    )


def test_markdown_table_shows_values_and_change():
    table = markdown_table(comparison())
    assert "| ndcg@10 | 0.500 | 0.600 | +0.100 |" in table
    assert "| hit_rate@1 | 0.400 | 0.300 | -0.100 |" in table
    assert "10 held-out queries, retrieving over 100 chunks." in table


def test_html_report_escapes_queries():
    page = html_report(comparison())
    assert "&lt;b&gt;q&lt;/b&gt;" in page and "<b>q</b>" not in page
    assert "<td>0.600</td>" in page
