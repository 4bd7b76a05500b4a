"""TSDAE domain adaptation of the base model on the train chunks' text, for quality.py --init-model.

TSDAE (Wang et al. 2021) trains the encoder to let a decoder rebuild each sentence from the
sentence's embedding with 60% of its words deleted. It needs only raw text, so it can adapt a
model to a team's documents before the contrastive finetuning; GPL (Wang et al. 2022) starts
from such a model. This script adapts all-MiniLM-L6-v2 on sentences of the quality benchmark's
first half (the chunks the LLM's questions come from; the test half is never read) and saves the
result. ``quality.py --init-model DIR`` then finetunes from it while base metrics and curation
stay on the base model, so the row is comparable with the others.

    python benchmarks/tsdae.py --data ../shared/data/seed-10k-lyft --out outputs/quality/tsdae
    python benchmarks/quality.py --reference-queries --label R-tsdae \
        --init-model outputs/quality/tsdae

Noise is word deletion done here (sentence-transformers' DenoisingAutoEncoderDataset tokenizes
with NLTK's punkt data, which cannot be downloaded here).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sentence_transformers import InputExample  # noqa: E402
from sentence_transformers.sentence_transformer.losses import DenoisingAutoEncoderLoss  # noqa: E402

from embedtune.config import TrainingConfig  # noqa: E402
from embedtune.training.models import load_model  # noqa: E402
from quality import load_benchmark, split_benchmark  # noqa: E402  (benchmarks/, this script's folder)


def sentences(chunks: list[str], min_words: int = 6, max_words: int = 64) -> list[str]:
    """Sentences and paragraphs of the chunks; long ones (table rows) cut into max_words pieces."""
    out = []
    for chunk in chunks:
        for part in re.split(r"(?<=[.!?])\s+|\n{2,}", chunk):
            words = part.split()
            pieces = (words[i : i + max_words] for i in range(0, len(words), max_words))
            out += [" ".join(piece) for piece in pieces if len(piece) >= min_words]
    return out


def delete_words(text: str, rng: random.Random, ratio: float = 0.6) -> str:
    """TSDAE's noise: each word deleted with probability ``ratio`` (at least one kept)."""
    words = text.split()
    return " ".join([w for w in words if rng.random() > ratio] or [rng.choice(words)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/seed-10k-lyft"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=3e-5, help="TSDAE's paper: 3e-5, constant")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    corpus, qa = load_benchmark(args.data)
    _, first_half, _, _ = split_benchmark(corpus, qa)
    texts = sentences([corpus[i] for i in first_half])
    print(f"{len(texts)} sentences from {len(first_half)} chunks", flush=True)

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = load_model(TrainingConfig().base_model, 128)
    examples = [InputExample(texts=[delete_words(t, rng), t]) for t in texts]
    loader = DataLoader(examples, batch_size=args.batch_size, shuffle=True, drop_last=True)
    # The decoder shares the encoder's weights (tie_encoder_decoder); its cross-attention and
    # language-model head start untrained, since the package ships only the encoder.
    encoder_path = model[0].auto_model.config._name_or_path
    loss = DenoisingAutoEncoderLoss(model, decoder_name_or_path=encoder_path,
                                    tie_encoder_decoder=True)
    started = time.monotonic()
    model.fit(train_objectives=[(loader, loss)], epochs=args.epochs, weight_decay=0,
              scheduler="constantlr", optimizer_params={"lr": args.lr}, show_progress_bar=True)
    seconds = time.monotonic() - started
    print(f"TSDAE: {len(loader) * args.epochs} steps in {seconds:.0f} s", flush=True)
    model.save(str(args.out))
    print(f"Saved to {args.out}")


if __name__ == "__main__":
    main()
