"""A tiny real pipeline config for operations tests (scheduling, remote execution): the sample
corpus, 3 chunks per split, 2 training steps, and a scripted OpenAI-compatible LLM on loopback so
that generation takes seconds. Everything else (ZenML, training, evaluation) is real."""

import json
from pathlib import Path

from tests.conftest import SAMPLE_CORPUS
from tests.generation.scripted_server import chat_completion, passage_of


def scripted_answer(body):
    """Questions made from the passage's own words: deterministic, and about the passage."""
    words = passage_of(body).split()
    content = json.dumps({
        "questions": [f"What does the report say about {' '.join(words[2:7])}?",
                      f"How is {' '.join(words[8:12])} described?"],
        "unanswerable_question": "What will the share price be in 2040?",
    })
    return 200, chat_completion(content)


def tiny_config(root: Path, llm_url: str, model_name: str) -> dict:
    return {
        "corpus": {"path": str(SAMPLE_CORPUS)},
        "split": {"test_fraction": 0.25, "seed": 7},
        "generation": {"backend": "openai_compatible", "base_url": llm_url, "model": "scripted",
                       "queries_per_chunk": 2, "max_chunks": 3, "max_retries": 0,
                       "cache_dir": str(root / "generation-cache")},
        "curation": {"filtering": {"round_trip_top_k": None}},
        "training": {"max_steps": 2, "batch_size": 4},
        "evaluation": {"bm25": False, "bootstrap_samples": 200},
        "promotion": {"min_improvement": -1.0, "no_training_margin": -1.0},
        "model": {"name": model_name},
        "output_dir": str(root / "outputs"),
    }
