"""The real thing, small: ZenML pipeline, embedded LLM on 2 chunks per split, a few training
steps, evaluation, export; then an identical second run that must be fully cached."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sentence_transformers import SentenceTransformer

from tests.conftest import PROJECT_ROOT, SAMPLE_CORPUS

pytestmark = pytest.mark.e2e

METRIC_KEYS = {"hit_rate@1", "hit_rate@5", "hit_rate@10", "mrr@10", "ndcg@10", "recall@10"}
STEPS = {
    "load_documents", "chunk_documents", "split_chunks", "generate_train_queries",
    "generate_test_queries", "finetune_model", "evaluate_models",
}


def run_cli(config_path: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "run.py", "--config", str(config_path)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "ZENML_CONFIG_PATH": str(root / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"}
    config = {
        "corpus": {"path": str(SAMPLE_CORPUS)},
        "split": {"test_fraction": 0.25, "seed": 7},
        "generation": {
            "queries_per_chunk": 2, "max_new_tokens": 160, "max_chunks": 2,
            "domain_context": "Lyft's 2021 annual report (Form 10-K)",
            # A resume cache of the test's own: the first run must really call the LLM.
            "cache_dir": str(root / "generation-cache"),
        },
        "training": {"max_steps": 3, "batch_size": 4},
        "model": {"name": "e2e-test-model", "license": "apache-2.0"},
        "output_dir": str(root / "outputs"),
    }
    path = root / "e2e.yaml"
    path.write_text(yaml.safe_dump(config))
    first = run_cli(path, env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-5000:]
    second = run_cli(path, env)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-5000:]
    inspected = subprocess.run(
        [sys.executable, "tests/e2e/inspect_runs.py", "embedding_finetuning", "e2e-test-model"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert inspected.returncode == 0, inspected.stderr[-3000:]
    return {"root": root, "first": first, "second": second,
            "zenml": json.loads(inspected.stdout.strip().splitlines()[-1])}


def test_first_run_completes_every_step_and_stores_the_artifacts(workspace):
    first_run = workspace["zenml"]["runs"][0]
    assert first_run["status"] == "completed"
    assert set(first_run["steps"]) == STEPS
    assert all(status == "completed" for status in first_run["steps"].values())
    assert {"documents", "chunks", "train_chunks", "test_chunks", "queries", "generation_failures",
            "finetuned_model", "evaluation", "evaluation_report"} <= set(first_run["outputs"])


def test_second_identical_run_is_fully_cached(workspace):
    second_run = workspace["zenml"]["runs"][1]
    assert set(second_run["steps"].values()) == {"cached"}


def test_cached_rerun_attaches_to_the_same_model_version_which_keeps_its_metrics(workspace):
    zen = workspace["zenml"]
    first, second = (run["model_version"] for run in zen["runs"])
    assert first is not None and first.startswith("data-") and first == second
    assert zen["model_versions"] == 1
    assert {"base", "finetuned"} <= set(zen["metadata_keys"][0])


def test_exported_model_loads_and_encodes(workspace):
    folder = workspace["root"] / "outputs" / "finetuned-model"
    model = SentenceTransformer(str(folder), device="cpu")
    embedding = model.encode(["What is Lyft's mission?"])
    assert embedding.shape == (1, 384)
    assert (folder / "README.md").exists()


def test_evaluation_has_every_metric_for_both_models(workspace):
    evaluation = json.loads((workspace["root"] / "outputs" / "evaluation.json").read_text())
    assert set(evaluation["metrics"]) == {"base", "finetuned"}
    for values in evaluation["metrics"].values():
        assert set(values) == METRIC_KEYS
        assert all(0.0 <= v <= 1.0 for v in values.values())
    assert evaluation["n_queries"] > 0 and evaluation["n_corpus"] > 40
    assert "| ndcg@10 |" in workspace["first"].stdout


def test_missing_corpus_is_a_clear_error_naming_the_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"corpus": {"path": str(tmp_path / "nowhere")}}))
    result = run_cli(path, {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml")})
    assert result.returncode == 2
    assert f"Corpus path {tmp_path / 'nowhere'}" in result.stderr
