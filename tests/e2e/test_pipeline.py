"""The real thing, small: ZenML pipeline, embedded LLM on 2 chunks per split, a few training
steps, evaluation, export; then an identical second run that must be fully cached. The runs
happen once per session in the ``workspace`` fixture (tests/e2e/conftest.py)."""

import json
import os

import pytest
import yaml
from sentence_transformers import SentenceTransformer

from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.e2e

METRIC_KEYS = {"hit_rate@1", "hit_rate@5", "hit_rate@10", "mrr@10", "ndcg@10", "recall@10"}
STEPS = {
    "load_documents", "chunk_documents", "split_chunks", "generate_train_queries",
    "generate_test_queries", "curate_queries", "finetune_model", "evaluate_models",
    "promote_model", "write_report",
}
# Never cached: the gate depends on which version is production now; the report shows its answer.
UNCACHED = {"promote_model", "write_report"}


def test_first_run_completes_every_step_and_stores_the_artifacts(workspace):
    first_run = workspace["zenml"]["runs"][0]
    assert first_run["status"] == "completed"
    assert set(first_run["steps"]) == STEPS
    assert all(status == "completed" for status in first_run["steps"].values())
    assert {"documents", "chunks", "train_chunks", "test_chunks", "queries", "generation_failures",
            "generation_summary", "finetuned_model", "evaluation", "evaluation_report",
            "evaluation_summary"} <= set(first_run["outputs"])


def test_second_identical_run_is_cached_except_the_gate(workspace):
    second_run = workspace["zenml"]["runs"][1]
    assert {s for s, status in second_run["steps"].items() if status != "cached"} == UNCACHED


def test_a_training_only_change_reuses_the_generated_and_curated_data(workspace):
    third_run = workspace["zenml"]["runs"][2]  # only training.seed differs from the first run
    rerun = {s for s, status in third_run["steps"].items() if status != "cached"}
    assert rerun == {"finetune_model", "evaluate_models"} | UNCACHED


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
    assert set(evaluation["metrics"]) == {"base", "finetuned", "bm25", "base+bm25", "finetuned+bm25"}
    assert {"finetuned_vs_base", "finetuned_vs_bm25", "finetuned_vs_base+bm25",
            "finetuned_vs_finetuned+bm25"} == set(evaluation["differences"])
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
