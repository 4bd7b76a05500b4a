"""Mapping details that need no server."""

import pytest

import constants as C
from embedtune.review.records import dataset_name, settings_differences, suggestion_agent
from tests.review.test_round_trip import make_rows


@pytest.mark.parametrize("model_name, agent", [
    ("qwen2.5-coder-1.5b-instruct-q4_k_m", "qwen2.5-coder-1.5b-instruct-q4_k_m"),
    ("vllm:meta-llama/Llama-3.1-8B", "vllm:meta-llama/Llama-3.1-8B"),
    ("gpt-3.5 (seed data)", "gpt-3.5 -seed data-"),
    (None, "llm"),
    ("()", "llm"),
])
def test_suggestion_agent_matches_argilla_servers_pattern(model_name, agent):
    assert suggestion_agent(model_name) == agent


def test_dataset_name_follows_the_content_not_the_order():
    rows = make_rows()
    assert dataset_name("p", rows) == dataset_name("p", list(reversed(rows)))
    changed = [{**rows[0], C.QUERY: "another query"}, *rows[1:]]
    assert dataset_name("p", changed) != dataset_name("p", rows)


def test_settings_differences_name_each_change():
    have = {"fields": {"query": {"type": "text"}}, "questions": {}, "metadata": {"split": "terms"},
            "vectors": {"v": 384}}
    want = {"fields": {"query": {"type": "text"}}, "questions": {"q": {"type": "label_selection"}},
            "metadata": {}, "vectors": {"v": 768}}
    assert settings_differences(have, want) == [
        "question 'q' is new", "metadata 'split' is no longer used", "vector 'v' changed: 384 -> 768",
    ]
