"""Role prompts: queries and chunks are each read with the prompt the model gives their role."""

from types import SimpleNamespace

import numpy as np
import pytest

from embedtune.encoding import DOCUMENT, QUERY, encoder, role_prompts

QUESTION = "What does the Lyft Pink membership offer?"
CHUNK = "Lyft Pink is a monthly membership that offers ride discounts and free bike unlocks."


@pytest.mark.parametrize("prompts, expected", [
    ({}, {QUERY: "", DOCUMENT: ""}),
    ({"query": "query: ", "passage": "passage: "}, {QUERY: "query: ", DOCUMENT: "passage: "}),
    # bge-en-v1.5 and arctic-embed instruct only the query.
    ({"query": "Represent this sentence for searching relevant passages: "},
     {QUERY: "Represent this sentence for searching relevant passages: ", DOCUMENT: ""}),
    # encode_document's order: document, then passage, then corpus.
    ({"corpus": "c: ", "passage": "p: ", "document": "d: "}, {QUERY: "", DOCUMENT: "d: "}),
    ({"corpus": "c: ", "classification": "x: "}, {QUERY: "", DOCUMENT: "c: "}),
])
def test_role_prompts_follow_encode_query_and_encode_document(prompts, expected):
    assert role_prompts(SimpleNamespace(prompts=prompts)) == expected


def test_encoder_reads_each_side_with_its_prompt(prompted_model):
    sides = encoder(prompted_model)
    query, chunk = sides.queries([QUESTION]), sides.chunks([CHUNK])
    with_prompt = prompted_model.encode([QUESTION], prompt="query: ", normalize_embeddings=True)
    plain = prompted_model.encode([QUESTION], normalize_embeddings=True)
    assert np.allclose(query, with_prompt, atol=1e-5) and not np.allclose(query, plain, atol=1e-3)
    assert np.allclose(chunk, prompted_model.encode([CHUNK], prompt="passage: ", normalize_embeddings=True),
                       atol=1e-5)
    assert np.linalg.norm(query, axis=1) == pytest.approx([1.0])


def test_encoder_of_a_model_without_prompts_is_plain_encode(base_model):
    sides = encoder(base_model)
    plain = base_model.encode([QUESTION, CHUNK], normalize_embeddings=True)
    assert np.allclose(sides.queries([QUESTION, CHUNK]), plain, atol=1e-6)
    assert np.allclose(sides.chunks([QUESTION, CHUNK]), plain, atol=1e-6)
