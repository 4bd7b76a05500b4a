"""A real ZenML pipeline around the real generation step, for the API-key leak test.

Usage (with ZENML_CONFIG_PATH set to a test folder): python secret_key_pipeline.py SPEC.json,
where SPEC holds ``{"generation": {...}, "chunks": [...]}``.
"""

import json
import sys
from pathlib import Path
from typing import Annotated

from datasets import Dataset
from zenml import pipeline, step

import steps  # noqa: F401  (registers the datasets materializer)
from embedtune.config import GenerationConfig
from steps.generation import generate_queries


@step
def chunk_table(rows_json: str) -> Annotated[Dataset, "chunks"]:
    return Dataset.from_list(json.loads(rows_json))


@pipeline(enable_cache=False)
def secret_key_generation(rows_json: str, generation: GenerationConfig) -> None:
    generate_queries(chunk_table(rows_json), generation=generation, split="train")


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text())
    secret_key_generation(json.dumps(spec["chunks"]), GenerationConfig(**spec["generation"]))
