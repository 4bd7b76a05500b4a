from embedtune.evaluation.compare import rank_changes
from embedtune.evaluation.comparison import Comparison
from embedtune.evaluation.promotion import PromotionDecision
from embedtune.evaluation.report import html_report, markdown_table, worth_it


def test_rank_changes_orders_biggest_moves_first():
    improved, worsened = rank_changes(
        ["q1", "q2", "q3", "q4"], [5, None, 1, 2], [1, 3, 4, 2], limit=5
    )
    assert [m["query"] for m in improved] == ["q2", "q1"]
    assert [m["query"] for m in worsened] == ["q3"]


def comparison():
    return Comparison(
        metrics={"base": {"ndcg@10": 0.5, "hit_rate@1": 0.4}, "finetuned": {"ndcg@10": 0.6, "hit_rate@1": 0.3}},
        metric="ndcg@10", k_values=[1, 10], n_queries=10, n_corpus=100,
        improved=[{"query": "<b>q</b>", "base_rank": None, "finetuned_rank": 1, "delta": 9}],
        context={"base_model": "m"},
    )


def test_markdown_table_shows_every_system_in_a_row():
    table = markdown_table(comparison())
    assert "| system | ndcg@10 | hit_rate@1 |" in table
    assert "| base | 0.500 | 0.400 |" in table and "| finetuned | 0.600 | 0.300 |" in table
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
    decision = PromotionDecision(promote=False, metric="ndcg@10", candidate=0.6, base=0.5,
                                 reasons=["ndcg@10 0.600 vs base 0.500 (+0.100; needs +0.200): fail"])
    table = markdown_table(c, promotion=decision)
    assert "| bm25 | 0.550 | 0.350 |" in table
    assert "ndcg@10 finetuned vs base: +0.100 (95% CI +0.020 .. +0.180; wins/losses/ties 6/2/2)" in table
    assert "Promotion: not promoted: ndcg@10 0.600 vs base 0.500" in table
    page = html_report(c, promotion=decision)
    assert "Not promoted" in page and "<tr><td>bm25</td><td>0.550</td>" in page


def test_comparison_round_trips_through_json_as_zenml_stores_it():
    c = comparison()
    assert Comparison.model_validate_json(c.model_dump_json()) == c


def full_comparison():
    """Four queries with ranks and cosines per system, as ``compare`` records them."""
    ranks = [{"base": 2, "finetuned": 1, "bm25": 1}, {"base": None, "finetuned": 3, "bm25": None},
             {"base": 1, "finetuned": 1, "bm25": 4}, {"base": 5, "finetuned": 2, "bm25": None}]
    # (relevant, best wrong) for base, finetuned: relevant > best wrong exactly at rank 1.
    scores = [((0.50, 0.55), (0.70, 0.40)), ((0.31, 0.60), (0.52, 0.58)),
              ((0.62, 0.41), (0.75, 0.35)), ((0.45, 0.56), (0.67, 0.71))]
    per_query = [
        {"query_id": f"q{i}", "query": f"query {i}", "rank": r, "ndcg": {},
         "score": {"base": {"relevant": b[0], "best_wrong": b[1]},
                   "finetuned": {"relevant": t[0], "best_wrong": t[1]}}}
        for i, (r, (b, t)) in enumerate(zip(ranks, scores))
    ]
    metrics = {s: {"hit_rate@1": sum(q["rank"][s] == 1 for q in per_query) / 4, "ndcg@10": 0.5}
               for s in ("base", "finetuned", "bm25")}
    return Comparison(metrics=metrics, metric="ndcg@10", k_values=[1, 5], n_queries=4, n_corpus=20,
                      per_query=per_query,
                      context={"test_queries_dropped": {"too short (< 3 words)": 2}})


GENERATION = [
    {"split": "train", "documents": 3, "chunks": 12, "chunks_sent_to_llm": 12,
     "chunks_with_queries": 11, "failed_chunks": 1, "unparsable_chunks": 1, "queries": 33,
     "negative_queries": 11, "chunks_from_resume_cache": 0, "requests": 14, "retries": 2,
     "output_tokens": 2100, "seconds": 80.5, "failure_reasons": {"not valid JSON": 1}},
    {"split": "test", "documents": 1, "chunks": 4, "chunks_sent_to_llm": 4,
     "chunks_with_queries": 4, "failed_chunks": 0, "unparsable_chunks": 0, "queries": 12,
     "negative_queries": 4, "chunks_from_resume_cache": 4, "requests": 0, "retries": 0,
     "output_tokens": 0, "seconds": 0.2, "failure_reasons": {}},
]


def test_report_charts_carry_the_hit_rate_curves_and_score_histograms():
    import xml.etree.ElementTree as ET

    page = html_report(full_comparison(), generation=GENERATION)
    svgs = [ET.fromstring("<svg" + s[: s.index("</svg>") + 6]) for s in page.split("<svg")[1:]]
    assert len(svgs) == 2
    ns = "{http://www.w3.org/2000/svg}"
    curves = {g.get("data-series"): [float(c.get("data-y")) for c in g.iter(f"{ns}circle")]
              for g in svgs[0].iter(f"{ns}g") if g.get("class") == "series"}
    # base ranks 2, None, 1, 5; finetuned 1, 3, 1, 2; bm25 1, None, 4, None
    assert curves == {"base": [0.25, 0.5, 0.5, 0.5, 0.75], "finetuned": [0.5, 0.75, 1.0, 1.0, 1.0],
                      "bm25": [0.25, 0.25, 0.25, 0.5, 0.5]}
    assert curves["finetuned"][0] == full_comparison().metrics["finetuned"]["hit_rate@1"]
    counts = {(p.get("data-panel"), h.get("data-name")): sum(int(r.get("data-count")) for r in h)
              for p in svgs[1].iter(f"{ns}g") if p.get("class") == "panel"
              for h in p if h.get("class") == "histogram"}
    assert counts == {(m, k): 4 for m in ("base", "finetuned")
                      for k in ("relevant chunk", "best wrong chunk")}
    # mean margins: base (-0.05 - 0.29 + 0.21 - 0.11) / 4, finetuned (0.30 - 0.06 + 0.40 - 0.04) / 4
    assert "<td>base</td><td>0.470</td><td>0.530</td><td>-0.060</td>" in page
    assert "<td>finetuned</td><td>0.660</td><td>0.510</td><td>+0.150</td>" in page


def test_report_is_self_contained_and_shows_the_data_behind_the_numbers():
    page = html_report(full_comparison(), generation=GENERATION)
    assert "<script" not in page and "src=" not in page and "href" not in page
    assert "<tr><td>chunks sent to the LLM</td><td>12</td><td>4</td></tr>" in page
    assert "<tr><td>failed chunks</td><td>1</td><td>0</td></tr>" in page
    assert "<h4>Failed train chunks by reason</h4>" in page and "<td>not valid JSON</td><td>1</td>" in page
    assert "<td>too short (&lt; 3 words)</td><td>2</td>" in page
    summary = markdown_table(full_comparison(), generation=GENERATION)
    assert "- mean score margin, relevant minus best wrong chunk: finetuned +0.150, base -0.060" in summary
    assert ("- train data: 3 documents, 12 chunks, 12 sent to the LLM, 1 failed (not valid JSON: 1), "
            "33 queries generated") in summary
    assert "- test queries dropped by the rule filters: too short (< 3 words): 2" in summary


def shipped_comparison(low: float, mean: float) -> Comparison:
    """A run whose shipped retrieval is finetuned@windows128, against three free options."""
    metrics = {s: {"ndcg@10": v, "hit_rate@1": v - 0.1, "hit_rate@5": v + 0.1, "mrr@10": v - 0.05}
               for s, v in (("finetuned@windows128", 0.70), ("base@windows128", 0.60),
                            ("bm25", 0.70 - mean), ("base@windows128+bm25", 0.62))}
    diff = {"mean": mean, "low": low, "high": mean + 0.05, "confidence": 0.95, "wins": 30,
            "losses": 12, "ties": 8}
    return Comparison(
        metrics=metrics, metric="ndcg@10", k_values=[1, 5, 10], n_queries=50, n_corpus=200,
        candidate="finetuned@windows128", baseline="base@windows128",
        differences={f"finetuned@windows128_vs_{s}": {"ndcg@10": {**diff, "mean": 0.70 - m["ndcg@10"]}}
                     for s, m in metrics.items() if s != "finetuned@windows128"}
        | {"finetuned@windows128_vs_bm25": {"ndcg@10": diff}},
        shipped={"system": "finetuned@windows128", "model": "finetuned", "reading_name": "windows128",
                 "reading": {"kind": "windows", "window_tokens": 128, "stride_tokens": 63}},
        no_training={"options": ["base@windows128", "bm25", "base@windows128+bm25"], "best": "bm25",
                     "metric": "ndcg@10"},
        readings={"metric": "ndcg@10", "validation_queries": 40,
                  "chosen": {"base": "windows128", "finetuned": "windows128"},
                  "models": {"finetuned": [
                      {"reading": "chunk", "kind": "chunk", "window_tokens": None, "stride_tokens": None,
                       "validation_ndcg@10": 0.61, "test_ndcg@10": 0.65, "vectors_per_chunk": 1.0,
                       "encode_seconds": 2.0, "chosen": False},
                      {"reading": "windows128", "kind": "windows", "window_tokens": 128,
                       "stride_tokens": 63, "validation_ndcg@10": 0.66, "test_ndcg@10": 0.70,
                       "vectors_per_chunk": 3.5, "encode_seconds": 4.0, "chosen": True}]}},
    )


def test_first_table_compares_the_shipped_retrieval_with_what_needs_no_finetuning():
    c = shipped_comparison(low=0.01, mean=0.04)
    table = markdown_table(c)
    lines = table.splitlines()
    assert lines[0].startswith("Finetuning was worth it on this corpus: the shipped retrieval "
                               "(finetuned@windows128) scores ndcg@10 0.700, +0.040 over the best "
                               "option without finetuning (bm25, 0.660; 95% CI +0.010..+0.090")
    assert lines[2] == ("| retrieval | ndcg@10 | hit_rate@1 | hit_rate@5 | mrr@10 | shipped minus it "
                        "(ndcg@10, 95% CI) | wins/losses |")
    assert lines[4].startswith("| finetuned@windows128 (shipped) | 0.700 | 0.600 | 0.800 | 0.650 |")
    assert "| bm25 (best without finetuning) | 0.660 |" in table
    assert "+0.040 (+0.010..+0.090) | 30/12 |" in table
    assert ("| base@windows128 (base model, reading windows128 chosen on validation) | 0.600 |"
            in table)
    assert "| finetuned | windows128 | 0.660 | 0.700 | 3.5 | 4.0 | yes |" in table
    page = html_report(c)
    assert page.index("Was finetuning worth it?") < page.index("Every system on the test queries")
    assert "<td class='up'>+0.040 (+0.010..+0.090)</td><td>30/12</td>" in page


def test_the_sentence_says_when_finetuning_was_not_clearly_or_not_at_all_worth_it():
    assert worth_it(shipped_comparison(low=-0.01, mean=0.02)).startswith(
        "Finetuning helped on this corpus, but not clearly")
    lost = worth_it(shipped_comparison(low=-0.08, mean=-0.03))
    assert lost.startswith("Finetuning was not worth it on this corpus: bm25, which needs no "
                           "finetuning, scores ndcg@10 0.730 against 0.700")
