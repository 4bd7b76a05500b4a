from embedtune.generation.resume_cache import CachedAnswer, ResumeCache, cache_key

MESSAGES = [{"role": "system", "content": "x"}, {"role": "user", "content": "Passage:\nabc"}]
KWARGS = {"temperature": 0.0, "max_new_tokens": 320}


def key(**changes):
    values = dict(split="train", model="embedded:sha", messages=MESSAGES, generation_kwargs=KWARGS)
    values.update(changes)
    return cache_key(**values)


def test_key_depends_on_everything_that_shapes_the_answer():
    base = key()
    assert key() == base
    assert key(split="test") != base
    assert key(model="vllm:m") != base
    assert key(messages=[MESSAGES[0], {"role": "user", "content": "Passage:\nabd"}]) != base
    assert key(generation_kwargs={**KWARGS, "temperature": 0.2}) != base
    assert key(generation_kwargs={**KWARGS, "extra_body": {"response_format": {"a": 1}}}) != base


def test_answers_survive_a_new_process_and_splits_never_share_a_file(tmp_path):
    with ResumeCache(tmp_path, "train") as cache:
        cache.put(key(), "c1", CachedAnswer('{"questions": []}', 10, 5))
    with ResumeCache(tmp_path, "train") as cache:
        assert cache.get_many([key(), key(model="other")]) == {
            key(): CachedAnswer('{"questions": []}', 10, 5)}
    with ResumeCache(tmp_path, "test") as test_cache:
        assert test_cache.path != tmp_path / "queries-train.sqlite"
        assert test_cache.get_many([key()]) == {}
