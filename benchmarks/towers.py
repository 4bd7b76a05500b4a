"""Which side of retrieval does finetuning improve: the query's embedding or the chunk's?

The product trains one encoder for both (tied towers). This probe splits it into a query tower
and a chunk tower (sentence-transformers' ``Router``), both starting from the base model, and
trains on row R's data with row R's recipe (gpt-3.5's first-half questions, curated as in
``quality.py``, the config's training settings and seed):

- ``query``: only the query tower trains; chunks keep the base model's embeddings. This is the
  variant a team would want, since an existing vector index would not need re-embedding;
- ``document``: only the chunk tower trains; queries keep the base model's embeddings;
- ``untied``: both train, as two separate encoders (twice the parameters).

Each is scored on the benchmark's 334 test questions over all 334 chunks, against the base
model, with a paired bootstrap interval on the NDCG@10 difference. ``untied`` is also scored
with one tower swapped back to the base model, which shows what each trained tower adds.

    .venv/bin/python benchmarks/towers.py --data ../shared/data/seed-10k-lyft --train query document untied
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from sentence_transformers import (  # noqa: E402
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.losses import CachedMultipleNegativesRankingLoss  # noqa: E402
from sentence_transformers.sentence_transformer.modules import Router  # noqa: E402
from sentence_transformers.sentence_transformer.training_args import BatchSamplers  # noqa: E402

import constants as C  # noqa: E402
from embedtune.config import Loss, load_config  # noqa: E402
from embedtune.evaluation.retrieval import RetrievalResult, score_rankings  # noqa: E402
from embedtune.evaluation.significance import paired_bootstrap  # noqa: E402
from embedtune.training.models import load_model  # noqa: E402
from quality import K_VALUES, curated_reference_rows, load_benchmark, split_benchmark  # noqa: E402

QUERY, DOCUMENT = "query", "document"
FROZEN = {"query": DOCUMENT, "document": QUERY, "untied": None}  # the side that stays the base


def two_towers(base: SentenceTransformer, frozen: str | None) -> SentenceTransformer:
    """A query tower and a chunk tower, each a copy of ``base``; ``frozen`` names one to freeze."""
    towers = {side: copy.deepcopy(list(base)) for side in (QUERY, DOCUMENT)}
    if frozen:
        for module in towers[frozen]:
            module.requires_grad_(False)
    router = Router.for_query_document(query_modules=towers[QUERY], document_modules=towers[DOCUMENT])
    return SentenceTransformer(modules=[router], device="cpu")


def train(model: SentenceTransformer, rows: list[dict], training) -> float:
    """Row R's recipe on the two towers: the config's loss, batch, lr, epochs, seed, windows."""
    if training.loss is not Loss.cached_mnrl:
        raise ValueError("towers.py follows the benchmark config's cached_mnrl recipe.")
    dataset = Dataset.from_dict({"anchor": [r[C.QUERY] for r in rows],
                                 "positive": [r[C.POSITIVE] for r in rows]})
    model.max_seq_length = training.train_max_seq_length or training.max_seq_length
    with tempfile.TemporaryDirectory(prefix="embedtune-towers-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch, num_train_epochs=training.epochs,
            per_device_train_batch_size=min(training.batch_size, len(rows)),
            learning_rate=training.learning_rate, warmup_steps=training.warmup_ratio,
            weight_decay=training.weight_decay, batch_sampler=BatchSamplers.NO_DUPLICATES,
            seed=training.seed, data_seed=training.seed, save_strategy="no", report_to="none",
            logging_steps=4, use_cpu=True,
            router_mapping={"anchor": QUERY, "positive": DOCUMENT},
        )
        loss = CachedMultipleNegativesRankingLoss(model, scale=training.scale,
                                                  mini_batch_size=training.mini_batch_size,
                                                  show_progress_bar=False)
        output = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                            loss=loss).train()
    model.max_seq_length = training.max_seq_length
    return float(output.training_loss)


def ranked(queries: torch.Tensor, chunks: torch.Tensor, ids: list[str],
           relevant: list[set[str]]) -> RetrievalResult:
    top = torch.topk(queries @ chunks.T, k=max(K_VALUES), dim=1).indices.tolist()
    return score_rankings([[ids[i] for i in hits] for hits in top], relevant, K_VALUES)


def interval(reference: list[float], result: RetrievalResult) -> str:
    d = paired_bootstrap(reference, [s["ndcg@10"] for s in result.per_query], "ndcg@10")
    return f"{d.mean:+.3f} ({d.low:+.3f}..{d.high:+.3f})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=Path("configs/lyft_10k.yaml"))
    p.add_argument("--data", type=Path, default=Path("../shared/data/seed-10k-lyft"))
    p.add_argument("--train", nargs="+", choices=list(FROZEN), default=list(FROZEN))
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = load_config(args.config)
    training = config.training
    corpus, qa = load_benchmark(args.data)
    ids, first_half, _, test = split_benchmark(corpus, qa)
    texts = [t for _, t in test]
    relevant = [set(qa["relevant_docs"][qid]) for qid, _ in test]
    chunk_texts = [corpus[i] for i in ids]

    base = load_model(training.base_model, training.max_seq_length)
    rows = curated_reference_rows(qa, corpus, first_half, config.curation, base)
    encode = {"batch_size": 64, "convert_to_tensor": True, "normalize_embeddings": True}
    base_q, base_c = base.encode(texts, **encode), base.encode(chunk_texts, **encode)
    results = {"base": ranked(base_q, base_c, ids, relevant)}
    for mode in args.train:
        model = two_towers(base, FROZEN[mode])
        loss = train(model, rows, training)
        q, c = model.encode_query(texts, **encode), model.encode_document(chunk_texts, **encode)
        label = f"{mode} (loss {loss:.4f})"
        results[label] = ranked(q, c, ids, relevant)
        if mode == "untied":
            results["untied: trained chunks, base queries"] = ranked(base_q, c, ids, relevant)
            results["untied: trained queries, base chunks"] = ranked(q, base_c, ids, relevant)

    reference = [s["ndcg@10"] for s in results["base"].per_query]
    print(f"\n{len(rows)} training questions; {len(test)} test questions over {len(ids)} chunks.\n")
    print("| trained | hit@1 | hit@5 | mrr@10 | ndcg@10 | NDCG@10 vs base (95% CI) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, result in results.items():
        m = result.metrics
        diff = "" if label == "base" else interval(reference, result)
        print(f"| {label} | {m['hit_rate@1']:.3f} | {m['hit_rate@5']:.3f} | {m['mrr@10']:.3f} "
              f"| {m['ndcg@10']:.3f} | {diff} |")

if __name__ == "__main__":
    main()
