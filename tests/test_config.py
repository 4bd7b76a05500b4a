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


@pytest.mark.parametrize("section, key", [
    ("training", "loss_directions: [query_to_doc]"), ("training", "base_weight: 0.3"),
    ("curation", "sentence_pairs: true"), ("teacher", "distill_weight: 1"),
])
def test_a_removed_option_says_so_and_where_its_result_is(tmp_path, section, key):
    path = write(tmp_path, f"corpus: {{path: x}}\n{section}: {{{key}}}\n")
    with pytest.raises(ConfigError, match=rf"{section}\.{key.split(':')[0]}: removed: it lost on the "
                                          r"development benchmark \(docs/experiments.md"):
        load_config(path)


def test_the_old_name_of_max_chunk_words_names_the_new_one(tmp_path):
    path = write(tmp_path, "corpus: {path: x}\ngeneration: {max_chunk_tokens: 300}\n")
    with pytest.raises(ConfigError, match=r"generation.max_chunk_tokens: renamed to "
                                          r"generation.max_chunk_words \(it counts words\)"):
        load_config(path)
    ok = write(tmp_path, "corpus: {path: x}\ngeneration: {max_chunk_words: 300}\n")
    assert load_config(ok).generation.max_chunk_words == 300


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


def test_runtime_only_generation_settings_do_not_change_the_version_name():
    import run

    base = {"corpus": {"path": "."}}
    plain = RunConfig.model_validate(base)
    faster = RunConfig.model_validate({**base, "generation": {"concurrency": 4, "timeout_s": 9,
                                                              "embedded": {"threads": 1}},
                                       "export": {"formats": []}, "output_dir": "elsewhere"})
    more = RunConfig.model_validate({**base, "generation": {"queries_per_chunk": 5}})
    assert run.model_version_name(plain, "abcdef12") == run.model_version_name(faster, "abcdef12")
    assert run.model_version_name(plain, "abcdef12") != run.model_version_name(more, "abcdef12")


def test_the_teacher_guides_curation_only_when_enabled_and_asked():
    from embedtune.config import TeacherConfig

    assert not TeacherConfig().guides
    assert TeacherConfig(enabled=True).guides
    assert not TeacherConfig(enabled=True, guide_training=False).guides
