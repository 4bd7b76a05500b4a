"""Mapping details that need no server."""

import numpy as np
import pytest

from embedtune import schema
from embedtune.review.records import base_model_features, dataset_name, settings_differences, suggestion_agent
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
    changed = [{**rows[0], schema.QUERY: "another query"}, *rows[1:]]
    assert dataset_name("p", changed) != dataset_name("p", rows)


def test_settings_differences_name_each_change():
    have = {"fields": {"query": {"type": "text"}}, "questions": {}, "metadata": {"split": "terms"},
            "vectors": {"v": 384}}
    want = {"fields": {"query": {"type": "text"}}, "questions": {"q": {"type": "label_selection"}},
            "metadata": {}, "vectors": {"v": 768}}
    assert settings_differences(have, want) == [
        "question 'q' is new", "metadata 'split' is no longer used", "vector 'v' changed: 384 -> 768",
    ]


def test_review_similarities_read_queries_and_chunks_with_their_prompts(prompted_model):
    """The similarities shown to reviewers are the model's own: question after "query: ", chunk
    after "passage: ", the LLM's negative (a question) after "query: "."""
    row = {schema.QUERY: "What does Lyft Pink offer?", schema.NEGATIVE_QUERY: "Who founded Lyft?",
           schema.POSITIVE: "Lyft Pink is a monthly membership with ride discounts."}
    (features,) = base_model_features(prompted_model, [row])

    def enc(text, prompt):
        return prompted_model.encode(text, prompt=prompt, normalize_embeddings=True)

    query = enc(row[schema.QUERY], "query: ")
    assert features.sim_query_chunk == pytest.approx(float(query @ enc(row[schema.POSITIVE], "passage: ")), abs=1e-4)
    assert features.sim_query_negative == pytest.approx(float(query @ enc(row[schema.NEGATIVE_QUERY], "query: ")), abs=1e-4)
    assert np.allclose(features.query_embedding, query, atol=1e-5)
