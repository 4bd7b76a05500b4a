"""Print the ablation table of ``benchmarks/quality.py`` runs (``<work-dir>/results.jsonl``).

One row per label, from its latest run, in the order labels first appeared.

    python benchmarks/quality_table.py outputs/quality/results.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

METRICS = ["hit_rate@1", "hit_rate@5", "hit_rate@10", "mrr@10", "ndcg@10"]


def main(path: Path) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not records:
        raise SystemExit(f"{path} has no results")
    base, bm25 = records[0]["metrics"]["base"], records[0]["metrics"].get("bm25")
    print("| run | train queries | " + " | ".join(METRICS) + " | NDCG@10 vs base (95% CI) | train s |")
    print("|---|---:|" + "---:|" * (len(METRICS) + 2))
    print("| base all-MiniLM-L6-v2 (512) | - | " + " | ".join(f"{base[m]:.3f}" for m in METRICS) + " | | |")
    if bm25:
        print("| BM25 (bm25s) | - | " + " | ".join(f"{bm25[m]:.3f}" for m in METRICS) + " | | |")
    latest = {r["settings"]["label"]: r for r in records}  # a rerun of a label replaces it
    for r in latest.values():
        s, tuned = r["settings"], r["metrics"]["finetuned"]
        d = r["differences"]["finetuned_vs_base"] if "differences" in r else r["ndcg@10_difference"]
        kept = s["curation"].get("kept_queries", "?")
        print(f"| {s['label']} | {kept} | " + " | ".join(f"{tuned[m]:.3f}" for m in METRICS)
              + f" | {d['mean']:+.3f} ({d['low']:+.3f}..{d['high']:+.3f}) | {s.get('train_seconds', 0):.0f} |")
    hybrid = [r for r in latest.values() if "finetuned+bm25" in r["metrics"]]
    if hybrid:  # runs since evaluation.hybrid: each model fused with BM25 (reciprocal rank fusion)
        print("\nHybrid search (reciprocal rank fusion with BM25), NDCG@10:\n")
        print("| run | base | base+bm25 | finetuned | finetuned+bm25 | finetuned+bm25 vs finetuned (95% CI) |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in hybrid:
            m, d = r["metrics"], r["differences"].get("finetuned_vs_finetuned+bm25")
            gain = f"{-d['mean']:+.3f} ({-d['high']:+.3f}..{-d['low']:+.3f})" if d else ""
            print(f"| {r['settings']['label']} | " + " | ".join(
                f"{m[k]['ndcg@10']:.3f}" for k in ("base", "base+bm25", "finetuned", "finetuned+bm25"))
                + f" | {gain} |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/quality/results.jsonl"))
