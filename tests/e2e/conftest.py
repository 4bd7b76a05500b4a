"""The end-to-end runs shared by the tests in this folder: real pipeline runs via ``run.py``,
each in a subprocess with the test's own ``ZENML_CONFIG_PATH``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, SAMPLE_CORPUS


def run_cli(config_path: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "run.py", "--config", str(config_path)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """Four real runs in a ZenML store of their own: a first run, an identical (cached) rerun,
    a run with another training seed that the gate compares with the first, now production, and
    one whose gate margin cannot be met.

    Session-scoped so that the pipeline tests and the dashboard test share one set of runs (each
    full set costs minutes of CPU).
    """
    root = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "ZENML_CONFIG_PATH": str(root / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"}
    general = root / "general.json"  # a tiny out-of-domain set for the regression check
    general.write_text(json.dumps({
        "queries": {"g1": "How do plants make food from sunlight?", "g2": "Who wrote Hamlet?"},
        "corpus": {"d1": "Photosynthesis turns light, water and CO2 into sugar in plants.",
                   "d2": "Hamlet is a tragedy written by William Shakespeare.",
                   "d3": "The Pacific is the largest ocean on Earth."},
        "relevant_docs": {"g1": ["d1"], "g2": ["d2"]},
    }))
    config = {
        "corpus": {"path": str(SAMPLE_CORPUS)},
        "evaluation": {"regression_sets": [str(general)]},
        "split": {"test_fraction": 0.25, "seed": 7},
        "generation": {
            # 3 train chunks: one is held out to choose the reading, two are trained on.
            "queries_per_chunk": 2, "max_new_tokens": 160, "max_chunks": 3,
            "domain_context": "Lyft's 2021 annual report (Form 10-K)",
            # A resume cache of the test's own: the first run must really call the LLM.
            "cache_dir": str(root / "generation-cache"),
        },
        "training": {"max_steps": 3, "batch_size": 4},
        # 2 chunks and 3 steps cannot show a real gain: the gate must pass on any result here,
        # so the test can follow promotion and the production comparison deterministically.
        "promotion": {"min_improvement": -1.0, "no_training_margin": -1.0},
        # With 4 training queries the round trip could drop them all; it has unit tests.
        "curation": {"filtering": {"round_trip_top_k": None}},
        # The real bundled teacher, with an embedding cache of the test's own.
        "teacher": {"enabled": True, "embedding_cache": str(root / "teacher-embeddings.sqlite")},
        "model": {"name": "e2e-test-model", "license": "apache-2.0"},
        "output_dir": str(root / "outputs"),
    }
    path = root / "e2e.yaml"
    path.write_text(yaml.safe_dump(config))
    first = run_cli(path, env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-5000:]
    second = run_cli(path, env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-5000:]
    # A different training seed: a new model version (generation and curation come from the
    # cache), which the gate must compare against the first version, now in production.
    config["training"]["seed"] = 8
    config["output_dir"] = str(root / "outputs-third")
    path.write_text(yaml.safe_dump(config))
    third = run_cli(path, env)
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-5000:]
    # A fourth version with a margin over the best no-training option that no model can meet
    # (+1.0 NDCG): the real step must refuse it, leaving the third version in production.
    config["training"]["seed"] = 9
    config["promotion"]["no_training_margin"] = 1.0
    config["output_dir"] = str(root / "outputs-refused")
    path.write_text(yaml.safe_dump(config))
    refused = run_cli(path, env)
    assert refused.returncode == 0, refused.stdout[-3000:] + refused.stderr[-5000:]
    inspected = subprocess.run(
        [sys.executable, "-m", "tests.e2e.inspect_runs", "embedding_finetuning", "e2e-test-model"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert inspected.returncode == 0, inspected.stderr[-3000:]
    return {"root": root, "env": env, "first": first, "second": second, "third": third,
            "refused": refused,
            "zenml": json.loads(inspected.stdout.strip().splitlines()[-1])}
