import json
import random
from datetime import datetime, timezone

import httpx
import openai
import pytest

from embedtune.generation.retries import RetryPolicy, is_transient, retry_after_s


def status_error(status, headers=None):
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, headers=headers or {}, request=request)
    cls = {429: openai.RateLimitError, 401: openai.AuthenticationError,
           404: openai.NotFoundError, 400: openai.BadRequestError}.get(
        status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    return cls("error", response=response, body=None)


@pytest.mark.parametrize("status, transient", [(429, True), (500, True), (503, True), (408, True),
                                               (400, False), (401, False), (404, False)])
def test_status_codes(status, transient):
    assert is_transient(status_error(status)) is transient


def test_timeouts_lost_connections_and_broken_bodies_are_transient():
    request = httpx.Request("POST", "http://127.0.0.1/v1")
    assert is_transient(openai.APITimeoutError(request=request))
    assert is_transient(openai.APIConnectionError(request=request))
    assert is_transient(TimeoutError())
    assert is_transient(json.JSONDecodeError("x", "{", 1))
    assert not is_transient(ValueError("a bug"))


def test_retry_after_in_seconds_milliseconds_and_http_date():
    assert retry_after_s(status_error(429, {"Retry-After": "3"})) == 3.0
    assert retry_after_s(status_error(429, {"Retry-After-Ms": "1500", "Retry-After": "9"})) == 1.5
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    then = datetime(2026, 10, 21, 7, 28, tzinfo=timezone.utc).timestamp()
    assert retry_after_s(status_error(429, {"Retry-After": date}), now=then - 10) == pytest.approx(10)
    assert retry_after_s(status_error(429)) is None
    assert retry_after_s(TimeoutError()) is None


def test_backoff_doubles_with_jitter_and_is_capped():
    policy = RetryPolicy(max_retries=5, initial_s=1.0, max_s=5.0, max_retry_after_s=60)
    rng = random.Random(0)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (6, 5.0)]:
        delays = [policy.backoff_s(retry, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jittered, not a constant
    assert policy.delay_s(1, 7.0, rng) == 7.0  # the server's Retry-After is a floor
