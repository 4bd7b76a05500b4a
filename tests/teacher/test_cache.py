"""The teacher's embedding cache: the same vectors as the model, each text encoded once."""

import numpy as np

from embedtune.encoding import encoder
from embedtune.teacher.cache import CachingModel, EmbeddingCache


def test_cached_vectors_equal_the_models_and_are_encoded_once(tmp_path, base_model):
    cache = EmbeddingCache(tmp_path / "vectors.sqlite")
    wrapped = CachingModel(base_model, cache, identity="minilm")
    texts = ["Lyft's revenue grew in 2021.", "Riders pay per ride.", "Lyft's revenue grew in 2021."]
    first = encoder(wrapped).chunks(texts)
    assert wrapped.encoded == 2 and wrapped.reused == 1  # the repeated text is encoded once
    np.testing.assert_allclose(first, encoder(base_model).chunks(texts), atol=1e-5)
    again = CachingModel(base_model, EmbeddingCache(tmp_path / "vectors.sqlite"), identity="minilm")
    np.testing.assert_array_equal(encoder(again).chunks(texts), first)
    assert again.encoded == 0 and again.reused == 3


def test_role_length_prompt_and_model_each_miss_the_cache(tmp_path, base_model):
    cache = EmbeddingCache(tmp_path / "vectors.sqlite")
    wrapped = CachingModel(base_model, cache, identity="minilm")
    text = ["What did Lyft earn?"]
    encoder(wrapped).chunks(text)
    encoder(wrapped).queries(text)  # another role
    assert wrapped.encoded == 2
    wrapped.max_seq_length = 32  # another length
    encoder(wrapped).chunks(text)
    assert wrapped.encoded == 3 and base_model.max_seq_length == 32
    wrapped.max_seq_length = 128
    other = CachingModel(base_model, cache, identity="another model")
    encoder(other).chunks(text)
    assert other.encoded == 1
    original = base_model.prompts
    base_model.prompts = {"query": "query: "}
    try:
        encoder(wrapped).queries(text)  # another prompt
        assert wrapped.encoded == 4
    finally:
        base_model.prompts = original
