"""Push generated queries to the real local Argilla server, answer them as an annotator through
the SDK, pull, and check that exactly those corrections reach the training rows."""

from __future__ import annotations

import pytest

from embedtune import schema
from embedtune.config import ArgillaConfig, UnreviewedPolicy
from embedtune.review import records as R
from embedtune.review.pull import apply_reviews, fetch_reviews
from embedtune.review.push import push_queries

CHUNKS = {
    "c1": "Lyft's revenue was $3.2 billion in 2021, up 36% from 2020, as rideshare demand recovered.",
    "c2": "We face competition from Uber, taxi companies and public transit in every market we serve.",
    "c3": "Drivers in California are covered by Proposition 22, which guarantees minimum earnings.",
}


def make_rows() -> list[dict]:
    specs = [  # (query id, chunk, query, negative, split)
        ("c1-q0", "c1", "lyft revenue 2021 how much", "How many employees does Lyft have?", schema.TRAIN),
        ("c1-q1", "c1", "What is Lyft's mission statement?", "What was revenue growth?", schema.TRAIN),
        ("c2-q0", "c2", "Who are Lyft's competitors?", None, schema.TRAIN),
        ("c2-q1", "c2", "Does Lyft compete with public transit?", "Who competes with Lyft?", schema.TRAIN),
        ("c3-q0", "c3", "What does Proposition 22 guarantee drivers?", "What is Lyft's revenue?", schema.TEST),
        ("c3-q1", "c3", "Which state passed Proposition 22?", None, schema.TEST),
    ]
    return [
        {schema.QUERY_ID: qid, schema.QUERY: query, schema.CHUNK_ID: chunk, schema.DOCUMENT_ID: "doc-" + chunk,
         schema.SOURCE: f"lyft/{chunk}.md", schema.POSITIVE: CHUNKS[chunk], schema.NEGATIVE_QUERY: negative,
         schema.SPLIT: split, schema.MODEL_NAME: "test-llm"}
        for qid, chunk, query, negative, split in specs
    ]


@pytest.fixture(scope="module")
def config(argilla_server) -> ArgillaConfig:
    return ArgillaConfig(api_url=argilla_server.url, dataset_prefix="roundtrip")


@pytest.fixture(scope="module")
def pushed(argilla_client, config, base_model):
    rows = make_rows()
    first = push_queries(argilla_client, config, rows, base_model)
    return rows, first


def answer(owner_client, annotator, dataset_name: str, answers: dict[str, tuple[str, dict[str, str]]]) -> None:
    """Respond with the annotator's own API key, as the web UI does (one POST per record); the
    owner's client only lists the records (annotators may not use that listing endpoint)."""
    import argilla as rg

    user, client = annotator
    dataset = owner_client.datasets(dataset_name, workspace="argilla")
    for record in dataset.records(with_responses=False, with_suggestions=False):
        if record.id not in answers:
            continue
        status, values = answers[record.id]
        for question, value in values.items():
            record.responses.add(rg.Response(question, value, user_id=user.id, status=status))
        if not values:  # a discard with no answers
            record.responses.add(rg.Response(R.ANSWERS_QUESTION, R.NO, user_id=user.id, status=status))
        client.api.records.create_record_responses(record.api_model())


def test_push_creates_one_dataset_with_one_record_per_query(argilla_client, pushed, config):
    rows, result = pushed
    assert result.created and result.records == len(rows)
    assert result.dataset == R.dataset_name("roundtrip", rows)
    dataset = argilla_client.datasets(result.dataset, workspace="argilla")
    records = {r.id: r for r in dataset.records(with_suggestions=True, with_vectors=True)}
    assert set(records) == {row[schema.QUERY_ID] for row in rows}
    record = records["c1-q0"]
    assert record.fields[R.QUERY_FIELD] == "lyft revenue 2021 how much"
    assert record.fields[R.NEGATIVE_FIELD] == "How many employees does Lyft have?"
    assert record.metadata[schema.SPLIT] == schema.TRAIN and record.metadata[schema.SOURCE] == "lyft/c1.md"
    assert 0.0 < record.metadata[R.SIM_QUERY_CHUNK] <= 1.0
    assert record.metadata[R.CHUNK_TOKENS] > 10
    assert len(record.vectors[R.QUERY_VECTOR]) == 384
    suggestions = {s.question_name: s.value for s in record.suggestions}
    assert suggestions == {R.ANSWERS_QUESTION: R.YES, R.CORRECTED_QUESTION: "lyft revenue 2021 how much",
                           R.NEGATIVE_QUESTION: R.YES}
    # No negative: no negative suggestion and no similarity to a negative.
    assert R.NEGATIVE_QUESTION not in {s.question_name for s in records["c2-q0"].suggestions}
    assert R.SIM_QUERY_NEGATIVE not in records["c2-q0"].metadata


def test_round_trip_applies_exactly_the_annotators_corrections(
    argilla_client, annotator, pushed, config, base_model
):
    rows, result = pushed
    answer(argilla_client, annotator, result.dataset, {
        "c1-q0": ("submitted", {R.ANSWERS_QUESTION: R.YES,
                                R.CORRECTED_QUESTION: "How much revenue did Lyft make in 2021?",
                                R.NEGATIVE_QUESTION: R.YES}),
        "c1-q1": ("submitted", {R.ANSWERS_QUESTION: R.NO}),
        "c2-q0": ("discarded", {}),
        "c2-q1": ("submitted", {R.ANSWERS_QUESTION: R.YES,
                                R.CORRECTED_QUESTION: "Does Lyft compete with public transit?",
                                R.NEGATIVE_QUESTION: R.NO}),
        "c3-q0": ("draft", {R.ANSWERS_QUESTION: R.NO}),
    })
    # Pushing the same generated data again updates records and keeps every response.
    again = push_queries(argilla_client, config, rows, base_model)
    assert not again.created and again.dataset == result.dataset
    dataset = argilla_client.datasets(result.dataset, workspace="argilla")
    assert len(list(dataset.records())) == len(rows)

    reviews = fetch_reviews(argilla_client, config, rows)
    assert set(reviews) == {"c1-q0", "c1-q1", "c2-q0", "c2-q1"}  # the draft is not a review

    kept, counts = apply_reviews(rows, reviews, UnreviewedPolicy.keep)
    by_id = {row[schema.QUERY_ID]: row for row in kept}
    assert set(by_id) == {"c1-q0", "c2-q1", "c3-q0", "c3-q1"}
    assert by_id["c1-q0"][schema.QUERY] == "How much revenue did Lyft make in 2021?"
    assert by_id["c1-q0"][schema.ORIGINAL_QUERY] == "lyft revenue 2021 how much"
    assert by_id["c1-q0"][schema.NEGATIVE_QUERY] == "How many employees does Lyft have?"
    assert by_id["c2-q1"][schema.QUERY] == "Does Lyft compete with public transit?"
    assert by_id["c2-q1"][schema.ORIGINAL_QUERY] is None and by_id["c2-q1"][schema.NEGATIVE_QUERY] is None
    assert by_id["c3-q0"] == {**rows[4], schema.REVIEW_STATUS: "unreviewed", schema.ORIGINAL_QUERY: None}
    assert counts == {
        "generated": 6, "reviewed": 4, "kept": 4, "dropped_discarded": 1, "dropped_not_answered": 1,
        "queries_corrected": 1, "conflicting_corrections": 0, "negatives_dropped": 1,
        "unreviewed_kept": 2, "unreviewed_dropped": 0,
    }

    reviewed_only, counts = apply_reviews(rows, reviews, UnreviewedPolicy.drop)
    assert {row[schema.QUERY_ID] for row in reviewed_only} == {"c1-q0", "c2-q1"}
    assert counts["unreviewed_dropped"] == 2 and counts["kept"] == 2
