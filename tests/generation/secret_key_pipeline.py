"""A real ZenML pipeline around the real generation step, for the API-key leak test.

Usage (with ZENML_CONFIG_PATH set to a test folder): python secret_key_pipeline.py SPEC.json,
where SPEC holds ``{"generation": {...}, "chunks": [...]}``.
"""

import json
import sys
from pathlib import Path
from typing import Annotated

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from datasets import Dataset  # noqa: E402
from zenml import pipeline, step  # noqa: E402

import steps  # noqa: E402,F401  (registers the datasets materializer)
from embedtune.config import GenerationConfig  # noqa: E402
from steps.generation import generate_queries  # noqa: E402


@step
def chunk_table(rows_json: str) -> Annotated[Dataset, "chunks"]:
    return Dataset.from_list(json.loads(rows_json))


@pipeline(enable_cache=False)
def secret_key_generation(rows_json: str, generation: GenerationConfig) -> None:
    generate_queries(chunk_table(rows_json), generation=generation, split="train")


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text())
    secret_key_generation(json.dumps(spec["chunks"]), GenerationConfig(**spec["generation"]))
