from pathlib import Path

import pytest

from embedtune.config import Backend, ConfigError, RunConfig, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_validates(path):
    config = load_config(path)
    assert isinstance(config, RunConfig)
    assert config.chunking.max_tokens <= config.training.max_seq_length


def test_default_config_runs_offline_on_the_embedded_llm():
    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.yaml")
    assert config.generation.backend is Backend.embedded
    assert config.generation.api_key_env is None
    assert config.corpus.path.exists()


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_unknown_key_is_named(tmp_path):
    path = write(tmp_path, "corpus: {path: x}\ntraining: {learning_rte: 0.1}\n")
    with pytest.raises(ConfigError, match=r"training\.learning_rte: unknown key"):
        load_config(path)


def test_bad_value_is_named(tmp_path):
    path = write(tmp_path, "corpus: {path: x}\nsplit: {test_fraction: 1.5}\n")
    with pytest.raises(ConfigError, match=r"split\.test_fraction"):
        load_config(path)


def test_chunks_longer_than_the_model_reads_are_rejected(tmp_path):
    path = write(tmp_path, "corpus: {path: x}\nchunking: {max_tokens: 400}\n")
    with pytest.raises(ConfigError, match="exceeds training.max_seq_length"):
        load_config(path)


def test_served_backend_needs_a_model(tmp_path):
    path = write(tmp_path, "corpus: {path: x}\ngeneration: {backend: vllm}\n")
    with pytest.raises(ConfigError, match="generation.model is required"):
        load_config(path)


def test_llama_cpp_grammar_is_refused_for_servers_that_do_not_take_it(tmp_path):
    path = write(tmp_path, "corpus: {path: x}\n"
                           "generation: {backend: ollama, model: m, structured_output: gbnf}\n")
    with pytest.raises(ConfigError, match="'gbnf' is a llama.cpp grammar; backend 'ollama'"):
        load_config(path)
    ok = write(tmp_path, "corpus: {path: x}\ngeneration: {structured_output: gbnf}\n")
    assert load_config(ok).generation.structured_output == "gbnf"


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "corpus: [unclosed\n"))


def test_gate_and_reading_metrics_must_be_ones_the_evaluation_measures(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("corpus: {path: x}\npromotion: {metric: ndcg@5}\n")
    with pytest.raises(ConfigError, match="promotion.metric 'ndcg@5' is not measured"):
        load_config(path)
    path.write_text("corpus: {path: x}\nretrieval: {metric: mrr@5}\n")
    with pytest.raises(ConfigError, match="retrieval.metric 'mrr@5' is not measured"):
        load_config(path)


def test_mining_window_must_be_a_real_range(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("corpus: {path: x}\ncuration: {hard_negatives: {range_min: 5, range_max: 5}}\n")
    with pytest.raises(ConfigError, match="range_min must be smaller than range_max"):
        load_config(path)


@pytest.mark.parametrize("training, message", [
    ("{loss_directions: [doc_to_query]}", "must include query_to_doc"),
    ("{loss_directions: [query_to_doc, query_to_doc]}", "lists a direction twice"),
    ("{loss_directions: [query_to_doc, doc_to_doc], partition_mode: per_direction}",
     r"per_direction works only .*drop \['doc_to_doc'\]"),
    ("{hardness_mode: in_batch_negatives}", "hardness_mode and training.hardness_strength go together"),
    ("{hardness_strength: 5}", "hardness_mode and training.hardness_strength go together"),
    ("{loss_directions: [query_to_doc, sideways]}", r"training\.loss_directions\.1"),
    ("{guided_negatives: true, loss_directions: [query_to_doc, doc_to_query]}",
     "guided_negatives .* drop doc_to_query"),
    ("{guided_negatives: true, hardness_mode: in_batch_negatives, hardness_strength: 9}",
     "without hardness weighting"),
    ("{guide_margin: 0.1}", "guide_margin needs training.guided_negatives"),
])
def test_contrastive_loss_settings_are_checked_at_load(tmp_path, training, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, f"corpus: {{path: x}}\ntraining: {training}\n"))
    ok = write(tmp_path, "corpus: {path: x}\ntraining: {loss_directions: [query_to_doc, doc_to_query], "
                         "hardness_mode: in_batch_negatives, hardness_strength: 9}\n")
    assert [d.value for d in load_config(ok).training.loss_directions] == ["query_to_doc", "doc_to_query"]


def test_weighting_explicit_negatives_needs_a_source_of_them(tmp_path):
    hardness = "hardness_mode: hard_negatives, hardness_strength: 5"
    with pytest.raises(ConfigError, match="neither curation.hard_negatives.enabled nor training.use_llm"):
        load_config(write(tmp_path, "corpus: {path: x}\ncuration: {hard_negatives: {enabled: false}}\n"
                                    f"training: {{{hardness}}}\n"))
    ok = write(tmp_path, "corpus: {path: x}\ncuration: {hard_negatives: {enabled: false}}\n"
                         f"training: {{{hardness}, use_llm_negatives: true}}\n")
    assert load_config(ok).training.hardness_mode == "hard_negatives"


def test_an_invalid_schedule_is_named_at_load(tmp_path):
    path = write(tmp_path, "corpus: {path: .}\nschedule: {cron: '0 3 * *'}\n")
    with pytest.raises(ConfigError, match=r"schedule: .*has 4 fields"):
        load_config(path)


def test_remote_config_maps_to_zenml_options():
    import run

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "remote" / "kubernetes_gpu.yaml")
    options = run.execution_options(config)
    assert options["steps"] == {"finetune_model": {
        "step_operator": "gpu", "settings": config.execution.training_settings}}
    assert set(options["settings"]) == {"docker", "orchestrator.kubernetes"}
    assert config.schedule.cron == "0 3 * * 1" and config.training.device == "cuda"
    local = load_config(Path(__file__).resolve().parents[1] / "configs" / "default.yaml")
    assert run.execution_options(local) == {}


def test_where_and_when_a_model_is_built_do_not_change_its_version_name(tmp_path):
    import run

    base = {"corpus": {"path": "."}}
    plain = RunConfig.model_validate(base)
    moved = RunConfig.model_validate({**base, "schedule": {"cron": "0 3 * * 1"},
                                      "execution": {"training_step_operator": "gpu"}})
    retrained = RunConfig.model_validate({**base, "training": {"epochs": 5}})
    assert run.model_version_name(plain, "abcdef12") == run.model_version_name(moved, "abcdef12")
    assert run.model_version_name(plain, "abcdef12") != run.model_version_name(retrained, "abcdef12")


def test_the_teacher_guides_training_only_when_enabled_and_asked():
    from embedtune.config import TeacherConfig

    assert not TeacherConfig().guides and not TeacherConfig().distills
    # The recipe: the teacher curates (its round trip) and does not distil.
    assert TeacherConfig(enabled=True).guides and not TeacherConfig(enabled=True).distills
    judge_only = TeacherConfig(enabled=True, guide_training=False, distill_weight=1)
    assert not judge_only.guides and not judge_only.distills
    assert TeacherConfig(enabled=True, distill_weight=1).distills
    assert TeacherConfig(enabled=True, margin_mse_weight=1).distills
