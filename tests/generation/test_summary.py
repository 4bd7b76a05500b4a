import pytest

from embedtune.generation.runner import GenerationStats
from embedtune.generation.summary import failure_kind, split_summary


@pytest.mark.parametrize("reason, kind", [
    ("not valid JSON (Expecting value at char 0)", "not valid JSON"),
    ("request failed: APITimeoutError: Request timed out.", "request failed: APITimeoutError"),
    ("request failed: RateLimitError: 429 (the server asked to wait 900s, over "
     "generation.max_retry_after_s)", "request failed: RateLimitError"),
    ("no usable question among 3 returned", "no usable question among 3 returned"),
    ("", "no reason given"),
])
def test_failure_kind_drops_the_instance_detail(reason, kind):
    assert failure_kind(reason) == kind


def test_split_summary_counts_chunks_documents_queries_and_failures_by_kind():
    chunks = [{"chunk_id": f"c{i}", "document_id": "d1" if i < 3 else "d2"} for i in range(5)]
    queries = [{"chunk_id": "c0"}, {"chunk_id": "c0"}, {"chunk_id": "c1"}]
    failures = [
        {"chunk_id": "c2", "reason": "not valid JSON (Expecting value at char 0)", "raw_output": "oops"},
        {"chunk_id": "c3", "reason": "not valid JSON (Unterminated string at char 9)", "raw_output": "{"},
    ]
    stats = GenerationStats(chunks=4, cached_chunks=1, requests=5, retries=2, negatives=2,
                            output_tokens=300, seconds=12.34)
    summary = split_summary("train", chunks, queries, failures, stats)
    assert summary["documents"] == 2 and summary["chunks"] == 5
    assert summary["chunks_sent_to_llm"] == 4  # generation.max_chunks left one chunk out
    assert summary["chunks_with_queries"] == 2 and summary["queries"] == 3
    assert summary["failed_chunks"] == 2 and summary["unparsable_chunks"] == 2
    assert summary["failure_reasons"] == {"not valid JSON": 2}
    assert (summary["requests"], summary["retries"], summary["seconds"]) == (5, 2, 12.3)


def test_a_failure_without_an_answer_is_not_unparsable():
    failures = [{"chunk_id": "c0", "reason": "request failed: APIConnectionError: refused",
                 "raw_output": ""}]
    summary = split_summary("test", [{"chunk_id": "c0", "document_id": "d"}], [], failures,
                            GenerationStats(chunks=1))
    assert summary["unparsable_chunks"] == 0
    assert summary["failure_reasons"] == {"request failed: APIConnectionError": 1}
