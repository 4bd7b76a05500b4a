"""The real thing, small: ZenML pipeline, embedded LLM on 2 chunks per split, a few training
steps, evaluation, export; then an identical second run that must be fully cached. The runs
happen once per session in the ``workspace`` fixture (tests/e2e/conftest.py)."""

import json
import os
import re

import numpy as np
import pytest
import yaml
from sentence_transformers import SentenceTransformer

from tests.e2e.conftest import run_cli

pytestmark = pytest.mark.e2e

METRIC_KEYS = {"hit_rate@1", "hit_rate@5", "hit_rate@10", "mrr@10", "ndcg@10", "recall@10"}
STEPS = {
    "load_documents", "chunk_documents", "split_chunks", "generate_train_queries",
    "generate_test_queries", "embed_with_teacher", "curate_queries", "finetune_model",
    "evaluate_models", "promote_model", "export_model", "write_report",
}
# Never cached: the gate depends on which version is production now; the report shows its answer.
UNCACHED = {"promote_model", "write_report"}


def test_first_run_completes_every_step_and_stores_the_artifacts(workspace):
    first_run = workspace["zenml"]["runs"][0]
    assert first_run["status"] == "completed"
    assert set(first_run["steps"]) == STEPS
    assert all(status == "completed" for status in first_run["steps"].values())
    assert {"documents", "chunks", "train_chunks", "test_chunks", "queries", "generation_failures",
            "generation_summary", "finetuned_model", "validation_queries", "evaluation",
            "evaluation_report", "evaluation_summary", "teacher_embeddings", "export_report",
            "onnx_exports"} <= set(first_run["outputs"])


def test_second_identical_run_is_cached_except_the_gate(workspace):
    second_run = workspace["zenml"]["runs"][1]
    assert {s for s, status in second_run["steps"].items() if status != "cached"} == UNCACHED


def test_a_training_only_change_reuses_the_generated_and_curated_data(workspace):
    third_run = workspace["zenml"]["runs"][2]  # only training.seed differs from the first run
    rerun = {s for s, status in third_run["steps"].items() if status != "cached"}
    # embed_with_teacher among the cached: the teacher's vectors are not recomputed.
    assert rerun == {"finetune_model", "evaluate_models", "export_model"} | UNCACHED


def test_gate_promotes_then_compares_a_new_version_with_production(workspace):
    runs, stages = workspace["zenml"]["runs"], workspace["zenml"]["stages"]
    first_version, third_version = runs[0]["model_version"], runs[2]["model_version"]
    assert third_version != first_version
    first = json.loads((workspace["root"] / "outputs" / "promotion.json").read_text())
    assert first["promote"] and first["production_version"] is None
    third = json.loads((workspace["root"] / "outputs-third" / "promotion.json").read_text())
    assert third["promote"] and third["production_version"] == first_version
    assert 0.0 <= third["production"] <= 1.0
    refused_version = runs[3]["model_version"]
    assert stages == {first_version: "archived", third_version: "production", refused_version: None}
    assert "Promotion: promoted" in workspace["third"].stdout
    assert "this version already is the production version" in workspace["second"].stdout


def test_a_model_that_misses_the_gate_leaves_production_unchanged_and_the_report_says_why(workspace):
    out = workspace["root"] / "outputs-refused"
    decision = json.loads((out / "promotion.json").read_text())
    assert not decision["promote"]
    failed = [r for r in decision["reasons"] if r.endswith(": fail")]
    assert len(failed) == 1 and "vs the best option without finetuning" in failed[0]
    assert "needs more than +1.000" in failed[0]
    assert decision["production_version"] == workspace["zenml"]["runs"][2]["model_version"]
    summary = (out / "evaluation_summary.md").read_text()
    assert "Promotion: not promoted: " in summary and failed[0] in summary
    assert "Promotion: not promoted" in workspace["refused"].stdout
    assert "Not promoted" in (out / "evaluation_report.html").read_text()


def test_cached_rerun_attaches_to_the_same_model_version_which_keeps_its_metrics(workspace):
    zen = workspace["zenml"]
    first, second = (run["model_version"] for run in zen["runs"][:2])
    assert first is not None and first.startswith("data-") and first == second
    assert zen["model_versions"] == 3  # the third and fourth runs' changed seeds made the others
    assert all({"base", "finetuned", "bm25", "promotion", "retrieval", "readings"} <= set(k)
               for k in zen["metadata_keys"])


def test_exported_model_is_the_trained_model_of_its_version(workspace, base_model_path):
    folder = workspace["root"] / "outputs" / "finetuned-model"
    model = SentenceTransformer(str(folder), device="cpu")
    zen = workspace["zenml"]
    exported = model.encode([zen["probe"]], normalize_embeddings=True)[0]
    assert exported.shape == (384,) and (folder / "README.md").exists()
    stored = np.asarray(zen["embeddings"][zen["runs"][0]["model_version"]])
    np.testing.assert_allclose(exported, stored, atol=1e-5)
    base = SentenceTransformer(base_model_path, device="cpu")
    base.max_seq_length = model.max_seq_length
    assert np.abs(exported - base.encode([zen["probe"]], normalize_embeddings=True)[0]).max() > 1e-4
    third = SentenceTransformer(str(workspace["root"] / "outputs-third" / "finetuned-model"))
    assert np.abs(third.encode([zen["probe"]], normalize_embeddings=True)[0] - exported).max() > 1e-4


def test_the_exports_are_scored_and_shipped_in_a_folder_servers_read(workspace):
    from embedtune.serving.onnx_export import OnnxModel
    from embedtune.serving.server_folder import server_problems

    out = workspace["root"] / "outputs"
    exports = json.loads((out / "export.json").read_text())
    assert [f["format"] for f in exports["formats"]] == ["torch", "onnx", "onnx_int8"]
    retrieval = json.loads((out / "retrieval.json").read_text())
    assert exports["reading"] == (retrieval["reading"] if retrieval["reading"] == "chunk"
                                  else f"{retrieval['reading']}{retrieval['window_tokens']}")
    folder = out / "finetuned-model"
    assert server_problems(folder) == [] and exports["server_problems"] == []
    for row in exports["formats"][1:]:
        assert (folder / row["file"]).is_file() != row["flagged"]
        assert row["chunks_per_second"] > 0 and set(row["metrics"]) == METRIC_KEYS
    assert abs(exports["formats"][1]["metric_change"]) <= exports["tolerance"]
    # the fp32 export encodes as the exported torch model does
    torch_model = SentenceTransformer(str(folder), device="cpu")
    probe = workspace["zenml"]["probe"]
    np.testing.assert_allclose(OnnxModel(folder).encode_document([probe])[0],
                               torch_model.encode_document([probe], normalize_embeddings=True)[0],
                               atol=1e-4)
    summary = (out / "evaluation_summary.md").read_text()
    assert "Exports, scored on the" in summary and "| onnx_int8 |" in summary


def test_the_index_follows_the_model_and_the_corpus(workspace):
    from embedtune.serving.index import CorpusIndex, model_fingerprint

    out = workspace["root"] / "outputs"
    index = CorpusIndex(out / "index")
    manifest = index.manifest
    folder = out / "finetuned-model"
    retrieval = json.loads((out / "retrieval.json").read_text())
    assert manifest["model_fingerprint"] == model_fingerprint(folder, retrieval["max_seq_length"])
    assert manifest["reading"]["kind"] == retrieval["reading"]
    assert manifest["n_chunks"] == len(index.chunks()) > 10  # the whole sample corpus
    assert "rebuilt (no index yet)" in workspace["first"].stdout
    # the identical rerun exports the same model: nothing re-embedded
    assert f"0 chunks embedded, {manifest['n_chunks']} kept, 0 removed" in workspace["second"].stdout
    third = CorpusIndex(workspace["root"] / "outputs-third" / "index").manifest
    assert third["model_fingerprint"] != manifest["model_fingerprint"]


def test_the_real_teacher_curated_the_training_questions(workspace):
    zen = workspace["zenml"]
    teacher = zen["teacher"]
    assert teacher["queries"] > 0 and teacher["chunks"] >= 2 and teacher["dim"] == 768
    curation = json.loads((workspace["root"] / "outputs" / "evaluation.json").read_text())[
        "context"]["curation"]
    assert curation["teacher"]["model"] == "bundled:embeddinggemma-300m"
    # Its vectors were cached on disk: later runs encoded nothing already seen.
    assert (workspace["root"] / "teacher-embeddings.sqlite").stat().st_size > 0


def test_retrieval_json_names_the_reading_chosen_on_validation(workspace):
    out = workspace["root"] / "outputs"
    evaluation = json.loads((out / "evaluation.json").read_text())
    spec = json.loads((out / "retrieval.json").read_text())
    assert spec["model"] == "finetuned-model"
    assert spec["reading"] == evaluation["shipped"]["reading"]["kind"]
    assert spec["window_tokens"] == evaluation["shipped"]["reading"]["window_tokens"]
    chosen = evaluation["readings"]["chosen"]["finetuned"]
    assert chosen == evaluation["shipped"]["reading_name"]
    validation = spec["validation"]
    assert validation[chosen] == max(validation.values())
    assert evaluation["readings"]["validation_queries"] > 0


def test_evaluation_scores_every_reading_and_the_shipped_retrieval_against_every_system(workspace):
    evaluation = json.loads((workspace["root"] / "outputs" / "evaluation.json").read_text())
    # The model reads 256 tokens of a chunk, so 256-token windows would be the chunk itself.
    readings = ["chunk", "windows128", "chunk+windows128"]
    embedding = {m if r == "chunk" else f"{m}@{r}" for m in ("base", "finetuned") for r in readings}
    embedding.add("teacher")  # read as one vector per chunk (teacher.readings' default)
    assert set(evaluation["metrics"]) == embedding | {"bm25"} | {f"{s}+bm25" for s in embedding}
    shipped = evaluation["candidate"]
    assert shipped == evaluation["shipped"]["system"]
    assert set(evaluation["differences"]) == {f"{shipped}_vs_{s}" for s in evaluation["metrics"]
                                              if s != shipped}
    for values in evaluation["metrics"].values():
        assert set(values) == METRIC_KEYS
        assert all(0.0 <= v <= 1.0 for v in values.values())
    assert evaluation["n_queries"] > 0 and evaluation["n_corpus"] > 40
    assert evaluation["no_training"]["best"] in evaluation["no_training"]["options"]
    assert {"teacher", "teacher+bm25"} <= set(evaluation["no_training"]["options"])
    teacher_costs = evaluation["readings"]["models"]["teacher"]
    assert [r["reading"] for r in teacher_costs] == ["chunk"] and teacher_costs[0]["encode_seconds"] >= 0
    general = evaluation["regression"]["general"]
    assert general["n_queries"] == 2 and set(general["metrics"]) == {"base", "finetuned"}


def _table(text: str, header: str) -> tuple[list[str], dict[str, list[str]]]:
    """A Markdown table of evaluation_summary.md by its first header cell: columns, row -> cells."""
    lines = text[text.index(f"| {header} |"):].split("\n\n")[0].splitlines()
    split = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    return split[0][1:], {cells[0]: cells[1:] for cells in split[2:]}


def test_the_report_files_show_the_numbers_of_evaluation_json(workspace):
    out = workspace["root"] / "outputs"
    evaluation = json.loads((out / "evaluation.json").read_text())
    summary = (out / "evaluation_summary.md").read_text()
    page = (out / "evaluation_report.html").read_text()
    keys, rows = _table(summary, "system")
    assert set(rows) == set(evaluation["metrics"])
    for system, metrics in evaluation["metrics"].items():
        cells = [f"{metrics[k]:.3f}" for k in keys]
        assert rows[system] == cells
        assert f"<tr><td>{system}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" in page
    metric, shipped = evaluation["no_training"]["metric"], evaluation["candidate"]
    best = evaluation["no_training"]["best"]
    first = summary.splitlines()[0]
    assert first.startswith("Finetuning ") and best in first
    assert f"{evaluation['metrics'][shipped][metric]:.3f}" in first
    diff = evaluation["differences"][f"{shipped}_vs_{best}"][metric]
    cells = f"| {diff['mean']:+.3f} ({diff['low']:+.3f}..{diff['high']:+.3f}) | {diff['wins']}/{diff['losses']} |"
    assert cells in summary
    assert re.search(r"Was finetuning worth it\?</h2><p>Finetuning ", page)


def test_missing_corpus_is_a_clear_error_naming_the_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"corpus": {"path": str(tmp_path / "nowhere")}}))
    result = run_cli(path, {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml")})
    assert result.returncode == 2
    assert f"Corpus path {tmp_path / 'nowhere'}" in result.stderr
