import json
import subprocess
import sys

import numpy as np
import pytest

from embedtune.evaluation.retrieval import evaluate_retrieval
from embedtune.retrieval import CHUNK, ParentRetriever, Reading, ReadingKind, RetrievalSpec
from embedtune.retrieval.index import chunk_scores, encode_corpus, encode_queries
from embedtune.retrieval.windows import token_windows
from tests.conftest import PROJECT_ROOT

CORPUS = {
    "mission": "Our mission is to improve people's lives with the world's best transportation. "
               "We believe in a future where cities are built around people, not cars.",
    "bikes": "Lyft operates bike-share systems in several cities, including Citi Bike in New York. "
             "Riders unlock bikes and scooters in the app and pay by the minute.",
    "insurance": "We maintain insurance for auto liability, general liability and workers "
                 "compensation. Insurance costs rose sharply in 2021 as claims grew.",
    "pink": "Lyft Pink is a monthly membership. It offers ride discounts, priority pickups and free "
            "bike unlocks, and members keep their benefits in every city we serve.",
}
QUERIES = ["Which bike-share system does Lyft run in New York?", "Why did insurance costs rise?",
           "What does a Lyft Pink membership include?",
           "Should cities be built around people or around cars?"]
WINDOWS = Reading(kind=ReadingKind.windows, window_tokens=16, stride_tokens=7)
BOTH = Reading(kind=ReadingKind.chunk_windows, window_tokens=16, stride_tokens=7)


def test_a_chunk_scores_as_its_best_window_and_the_sum_adds_the_chunk_score(base_model):
    corpus = encode_corpus(base_model, list(CORPUS), list(CORPUS.values()), [CHUNK, WINDOWS, BOTH])
    queries = encode_queries(base_model, QUERIES)
    windows, single, both = (chunk_scores(queries, corpus, r) for r in (WINDOWS, CHUNK, BOTH))
    for j, text in enumerate(CORPUS.values()):
        pieces = token_windows(base_model.tokenizer, text, 16, 7)
        assert len(pieces) > 1
        base_model.max_seq_length = 16
        vectors = base_model.encode(pieces, normalize_embeddings=True)
        base_model.max_seq_length = 128
        np.testing.assert_allclose(windows[:, j], (queries @ vectors.T).max(axis=1), atol=1e-5)
    np.testing.assert_allclose(both, single + windows, atol=1e-6)
    cost = corpus.cost(BOTH)
    assert cost["vectors_per_chunk"] == round(1 + len(corpus.windows[16].parents) / 4, 2)
    assert base_model.max_seq_length == 128  # windows encoded at 16, the model's length restored


@pytest.mark.parametrize("reading", [CHUNK, WINDOWS, BOTH], ids=lambda r: r.name)
def test_the_retriever_returns_each_parent_once_ranked_as_the_evaluation_ranks(base_model, reading):
    retriever = ParentRetriever(base_model, reading)
    retriever.index(list(CORPUS), list(CORPUS.values()))
    hits = retriever.search(QUERIES, top_k=4)
    relevant = [{"bikes"}, {"insurance"}, {"pink"}, {"mission"}]
    evaluated = evaluate_retrieval(base_model, QUERIES, relevant, list(CORPUS), list(CORPUS.values()),
                                   [1, 4], reading=reading)
    for query_hits, ranking in zip(hits, evaluated.rankings):
        ids = [h.chunk_id for h in query_hits]
        assert len(set(ids)) == len(ids) == 4
        assert ids == ranking
        assert [h.score for h in query_hits] == sorted((h.score for h in query_hits), reverse=True)
    if reading.uses_windows:
        assert retriever.n_vectors > len(CORPUS)
    assert [h[0].chunk_id for h in hits] == ["bikes", "insurance", "pink", "mission"]


def test_the_exported_spec_is_searched_the_same_way_in_a_fresh_process(base_model, tmp_path):
    """retrieval.json beside a saved model: a new process indexes and searches with the module
    alone and ranks as the evaluation does."""
    base_model.save(str(tmp_path / "finetuned-model"))
    RetrievalSpec("finetuned-model", BOTH, 128, {"note": "test"}).write(tmp_path / "retrieval.json")
    corpus_file = tmp_path / "corpus.json"
    corpus_file.write_text(json.dumps(CORPUS))
    script = (
        "import json, sys\n"
        "from embedtune.retrieval import ParentRetriever\n"
        "r = ParentRetriever.from_spec(sys.argv[1])\n"
        "corpus = json.load(open(sys.argv[2]))\n"
        "r.index(list(corpus), list(corpus.values()))\n"
        "print(json.dumps([[h.chunk_id for h in hits] for hits in r.search(json.loads(sys.argv[3]), 4)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(corpus_file), json.dumps(QUERIES)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    evaluated = evaluate_retrieval(base_model, QUERIES, [{"bikes"}] * 4, list(CORPUS),
                                   list(CORPUS.values()), [4], reading=BOTH)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == evaluated.rankings
    spec = RetrievalSpec.read(tmp_path / "retrieval.json")
    assert spec.reading == BOTH and spec.extra == {"note": "test"}
    assert spec.model == str(tmp_path / "finetuned-model")


def test_readings_are_validated_and_named():
    assert (CHUNK.name, WINDOWS.name, BOTH.name) == ("chunk", "windows16", "chunk+windows16")
    with pytest.raises(ValueError, match="needs window_tokens"):
        Reading(kind=ReadingKind.windows)
    with pytest.raises(ValueError, match="takes no window_tokens"):
        Reading(kind=ReadingKind.chunk, window_tokens=128, stride_tokens=63)
    with pytest.raises(FileNotFoundError, match="No retrieval.json"):
        RetrievalSpec.read("/nonexistent/retrieval.json")
