"""Conversions between plain rows and Hugging Face Datasets (the artifacts ZenML stores)."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any, Sequence

from datasets import Dataset


def to_dataset(rows: Sequence[Any], columns: Sequence[str]) -> Dataset:
    """Rows (dicts or dataclasses) to a Dataset with fixed columns, even when there are no rows:
    an empty failure table must still have its columns for whoever reads it next."""
    dicts = [asdict(r) if is_dataclass(r) else dict(r) for r in rows]
    return Dataset.from_dict({col: [d.get(col) for d in dicts] for col in columns})

