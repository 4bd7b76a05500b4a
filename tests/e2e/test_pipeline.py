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
    "generate_test_queries", "curate_queries", "finetune_model", "evaluate_models",
    "promote_model", "write_report",
}
# Never cached: the gate depends on which version is production now; the report shows its answer.
UNCACHED = {"promote_model", "write_report"}


def run_cli(config_path: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "run.py", "--config", str(config_path)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
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
            "queries_per_chunk": 2, "max_new_tokens": 160, "max_chunks": 2,
            "cache_dir": str(root / "generation-cache"),  # no answers from earlier test runs
            "domain_context": "Lyft's 2021 annual report (Form 10-K)",
            # A resume cache of the test's own: the first run must really call the LLM.
            "cache_dir": str(root / "generation-cache"),
        },
        "training": {"max_steps": 3, "batch_size": 4},
        # 2 chunks and 3 steps cannot show a real gain: the gate must pass on any result here,
        # so the test can follow promotion and the production comparison deterministically.
        "promotion": {"min_improvement": -1.0},
        # With 4 training queries the round trip could drop them all; it has unit tests.
        "curation": {"filtering": {"round_trip_top_k": None}},
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
    inspected = subprocess.run(
        [sys.executable, "tests/e2e/inspect_runs.py", "embedding_finetuning", "e2e-test-model"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert inspected.returncode == 0, inspected.stderr[-3000:]
    return {"root": root, "first": first, "second": second, "third": third,
            "zenml": json.loads(inspected.stdout.strip().splitlines()[-1])}


def test_first_run_completes_every_step_and_stores_the_artifacts(workspace):
    first_run = workspace["zenml"]["runs"][0]
    assert first_run["status"] == "completed"
    assert set(first_run["steps"]) == STEPS
    assert all(status == "completed" for status in first_run["steps"].values())
    assert {"documents", "chunks", "train_chunks", "test_chunks", "queries", "generation_failures",
            "finetuned_model", "evaluation", "evaluation_report"} <= set(first_run["outputs"])


def test_second_identical_run_is_cached_except_the_gate(workspace):
    second_run = workspace["zenml"]["runs"][1]
    assert {s for s, status in second_run["steps"].items() if status != "cached"} == UNCACHED


def test_gate_promotes_then_compares_a_new_version_with_production(workspace):
    runs, stages = workspace["zenml"]["runs"], workspace["zenml"]["stages"]
    first_version, third_version = runs[0]["model_version"], runs[2]["model_version"]
    assert third_version != first_version
    first = json.loads((workspace["root"] / "outputs" / "promotion.json").read_text())
    assert first["promote"] and first["production_version"] is None
    third = json.loads((workspace["root"] / "outputs-third" / "promotion.json").read_text())
    assert third["promote"] and third["production_version"] == first_version
    assert 0.0 <= third["production"] <= 1.0
    assert stages == {first_version: "archived", third_version: "production"}
    assert "Promotion: promoted" in workspace["third"].stdout
    assert "this version already is the production version" in workspace["second"].stdout


def test_cached_rerun_attaches_to_the_same_model_version_which_keeps_its_metrics(workspace):
    zen = workspace["zenml"]
    first, second = (run["model_version"] for run in zen["runs"][:2])
    assert first is not None and first.startswith("data-") and first == second
    assert zen["model_versions"] == 2  # the third run's changed seed made the second
    assert all({"base", "finetuned", "bm25", "promotion"} <= set(k) for k in zen["metadata_keys"])


def test_exported_model_loads_and_encodes(workspace):
    folder = workspace["root"] / "outputs" / "finetuned-model"
    model = SentenceTransformer(str(folder), device="cpu")
    embedding = model.encode(["What is Lyft's mission?"])
    assert embedding.shape == (1, 384)
    assert (folder / "README.md").exists()


def test_evaluation_has_every_metric_for_both_models(workspace):
    evaluation = json.loads((workspace["root"] / "outputs" / "evaluation.json").read_text())
    assert set(evaluation["metrics"]) == {"base", "finetuned", "bm25"}
    assert {"finetuned_vs_base", "finetuned_vs_bm25"} == set(evaluation["differences"])
    for values in evaluation["metrics"].values():
        assert set(values) == METRIC_KEYS
        assert all(0.0 <= v <= 1.0 for v in values.values())
    assert evaluation["n_queries"] > 0 and evaluation["n_corpus"] > 40
    general = evaluation["regression"]["general"]
    assert general["n_queries"] == 2 and set(general["metrics"]) == {"base", "finetuned"}
    assert "| ndcg@10 |" in workspace["first"].stdout


def test_missing_corpus_is_a_clear_error_naming_the_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"corpus": {"path": str(tmp_path / "nowhere")}}))
    result = run_cli(path, {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml")})
    assert result.returncode == 2
    assert f"Corpus path {tmp_path / 'nowhere'}" in result.stderr
