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


def test_every_system_gets_a_column_and_the_interval_and_decision_are_shown():
    c = comparison()
    c.metrics["bm25"] = {"ndcg@10": 0.55, "hit_rate@1": 0.35}
    c.differences = {"finetuned_vs_base": {"ndcg@10": {
        "mean": 0.1, "low": 0.02, "high": 0.18, "confidence": 0.95, "wins": 6, "losses": 2, "ties": 2}}}
    decision = {"promote": False, "reasons": ["ndcg@10 0.600 vs base 0.500 (+0.100; needs +0.200): fail"]}
    table = markdown_table(c, promotion=decision)
    assert "| metric | base | finetuned | bm25 | finetuned - base |" in table
    assert "| ndcg@10 | 0.500 | 0.600 | 0.550 | +0.100 |" in table
    assert "ndcg@10 finetuned vs base: +0.100 (95% CI +0.020 .. +0.180; wins/losses/ties 6/2/2)" in table
    assert "Promotion: not promoted: ndcg@10 0.600 vs base 0.500" in table
    page = html_report(c, promotion=decision)
    assert "Not promoted" in page and "<th>bm25</th>" in page


def test_comparison_round_trips_through_its_artifact_dict():
    c = comparison()
    assert Comparison.from_dict(c.as_dict()) == c
