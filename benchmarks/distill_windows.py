"""Can the base model's windowed reading teach the single-vector model? A GPL-style probe.

GPL needs a teacher that ranks better than the student, and none ships on PyPI (see
benchmarks/README.md, "Is there a teacher?"). One is at hand without a download: the base model
itself, reading each chunk as its first 512 tokens plus its best 128-token window
(``chunk_reading.py``: 0.725 NDCG@10 on the test against 0.661 for one 512-token embedding).
This trains on row R's data (gpt-3.5's first-half questions, curated as in ``quality.py``) with
R's settings from the config, plain in-batch MNRL over batches of ``batch_size`` (R used the
cached variant: the same loss), plus ``lam`` times the KL divergence from the teacher's softmax
over the batch's chunks to the student's (Hinton et al. 2015; in-batch, as in RocketQAv2).
``lam 0`` is the control and should land on R's number.

    python benchmarks/distill_windows.py --data ../shared/data/seed-10k-lyft --lam 0 1
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from datasets import Dataset
from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.training_args import BatchSamplers
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import constants as C  # noqa: E402
from embedtune.config import load_config  # noqa: E402
from embedtune.evaluation.retrieval import evaluate_retrieval  # noqa: E402
from embedtune.evaluation.significance import paired_bootstrap  # noqa: E402
from embedtune.training.models import load_model  # noqa: E402
from chunk_reading import readings  # noqa: E402  (benchmarks/, this script's folder)
from quality import K_VALUES, curated_reference_rows, load_benchmark, split_benchmark  # noqa: E402

WINDOW = 126  # tokens per window, without [CLS] and [SEP]: chunk_reading.py's best reading


class DistilledMNRL(nn.Module):
    """MNRL plus ``lam`` x KL(teacher's in-batch softmax || student's).

    Each training row's ``label`` is its index, so the batch's teacher scores are looked up in
    ``teacher`` (queries x chunks) through ``chunk_of`` (each row's chunk index).
    """

    def __init__(self, model, teacher: torch.Tensor, chunk_of: torch.Tensor, lam: float,
                 scale: float, teacher_scale: float) -> None:
        super().__init__()
        self.model, self.teacher, self.chunk_of = model, teacher, chunk_of
        self.lam, self.scale, self.teacher_scale = lam, scale, teacher_scale

    def forward(self, features, labels: torch.Tensor) -> torch.Tensor:
        queries, chunks = (F.normalize(self.model(f)["sentence_embedding"], dim=-1) for f in features)
        student = self.scale * queries @ chunks.T
        loss = F.cross_entropy(student, torch.arange(len(student), device=student.device))
        if self.lam:
            rows = labels.long().cpu()
            teacher = self.teacher_scale * self.teacher[rows][:, self.chunk_of[rows]]
            loss = loss + self.lam * F.kl_div(F.log_softmax(student, dim=1),
                                              F.softmax(teacher.to(student.device), dim=1),
                                              reduction="batchmean")
        return loss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=Path("configs/lyft_10k.yaml"))
    p.add_argument("--data", type=Path, default=Path("../shared/data/seed-10k-lyft"))
    p.add_argument("--lam", type=float, nargs="+", default=[0.0, 1.0], help="KL weights; 0 is the control")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = load_config(args.config)
    training = config.training
    corpus, qa = load_benchmark(args.data)
    ids, first_half, _, test = split_benchmark(corpus, qa)
    base = load_model(training.base_model, training.max_seq_length)
    rows = curated_reference_rows(qa, corpus, first_half, config.curation, base)

    # The teacher: the base model's first512 + max126 reading of the training chunks.
    questions = [r[C.QUERY] for r in rows]
    teacher = readings(base, questions, [corpus[i] for i in first_half], [WINDOW])[f"first512+max{WINDOW}"]
    base.max_seq_length = training.max_seq_length
    position = {cid: k for k, cid in enumerate(first_half)}
    chunk_of = torch.tensor([position[r[C.CHUNK_ID]] for r in rows])
    print(f"{len(rows)} training questions; the teacher ranks a question's own chunk first for "
          f"{(teacher.argmax(axis=1) == chunk_of.numpy()).mean():.0%} of them")
    teacher = torch.tensor(teacher, dtype=torch.float32)

    texts, relevant = [t for _, t in test], [set(qa["relevant_docs"][q]) for q, _ in test]
    chunk_texts = [corpus[i] for i in ids]
    base_result = evaluate_retrieval(base, texts, relevant, ids, chunk_texts, K_VALUES)
    print("| run | hit@1 | hit@5 | mrr@10 | ndcg@10 | vs base (95% CI) | train loss |\n|---|---:|---:|---:|---:|---:|---:|")
    m = base_result.metrics
    print(f"| base | {m['hit_rate@1']:.3f} | {m['hit_rate@5']:.3f} | {m['mrr@10']:.3f} | {m['ndcg@10']:.3f} | | |")
    dataset = Dataset.from_dict({"anchor": questions, "positive": [r[C.POSITIVE] for r in rows],
                                 "label": list(range(len(rows)))})
    for lam in args.lam:
        model = load_model(training.base_model, training.max_seq_length)
        model.max_seq_length = training.train_max_seq_length or training.max_seq_length
        # The teacher's scores are sums of two cosines: half the student's scale keeps both
        # softmaxes equally sharp.
        loss = DistilledMNRL(model, teacher, chunk_of, lam, training.scale, training.scale / 2)
        with tempfile.TemporaryDirectory() as scratch:
            train_args = SentenceTransformerTrainingArguments(
                output_dir=scratch, num_train_epochs=training.epochs,
                per_device_train_batch_size=training.batch_size, learning_rate=training.learning_rate,
                warmup_steps=training.warmup_ratio, weight_decay=training.weight_decay,
                batch_sampler=BatchSamplers.NO_DUPLICATES, seed=training.seed, data_seed=training.seed,
                save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True,
            )
            output = SentenceTransformerTrainer(model=model, args=train_args, train_dataset=dataset,
                                                loss=loss).train()
        model.max_seq_length = training.max_seq_length
        result = evaluate_retrieval(model, texts, relevant, ids, chunk_texts, K_VALUES)
        lift = paired_bootstrap([q["ndcg@10"] for q in base_result.per_query],
                                [q["ndcg@10"] for q in result.per_query], "ndcg@10")
        m = result.metrics
        print(f"| lam {lam:g} | {m['hit_rate@1']:.3f} | {m['hit_rate@5']:.3f} | {m['mrr@10']:.3f} | "
              f"{m['ndcg@10']:.3f} | {lift.mean:+.3f} ({lift.low:+.3f}..{lift.high:+.3f}) | "
              f"{output.training_loss:.4f} |", flush=True)


if __name__ == "__main__":
    main()
