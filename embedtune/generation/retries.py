"""Which request errors are worth retrying, and how long to wait before the next try.

The runner retries by itself rather than through the OpenAI client's built-in retries (which the
backends switch off) for three reasons: every retry is counted and shown in the progress bar and
the summary; a ``Retry-After`` from one request pauses *every* request in flight (a rate limit is
per account, not per request); and an unparsable answer can be asked again under the same budget.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from dataclasses import dataclass

import httpx
import openai

from embedtune.config import GenerationConfig

# Status codes that say "not now" rather than "never": timeouts, conflicts, rate limits, and
# server-side failures. 400/401/403/404/422 would fail every chunk the same way.
RETRYABLE_STATUS = {408, 409, 425, 429}


def is_transient(error: BaseException) -> bool:
    """True for errors that concern one request (slow, overloaded or briefly broken server).

    Everything else (a bad API key, an unknown model, a request the server rejects) would repeat
    for every chunk, so the run stops at once with that error instead of burning the budget.
    """
    if isinstance(error, openai.APIStatusError):
        return error.status_code in RETRYABLE_STATUS or error.status_code >= 500
    status = _ollama_status(error)
    if status is not None:
        return status in RETRYABLE_STATUS or status >= 500
    return isinstance(
        error,
        (
            httpx.TransportError,  # the ollama client's lost connections and timeouts
            openai.APIConnectionError,  # includes APITimeoutError
            openai.APIResponseValidationError,
            json.JSONDecodeError,  # a 200 whose body is not JSON (a broken proxy or server)
            TimeoutError,  # asyncio.wait_for's per-request limit
            ConnectionError,
        ),
    )


def _ollama_status(error: BaseException) -> int | None:
    """The HTTP status of an ``ollama.ResponseError`` (ollama is optional, so not imported)."""
    if type(error).__name__ == "ResponseError" and type(error).__module__.startswith("ollama"):
        status = getattr(error, "status_code", None)
        return status if isinstance(status, int) and status > 0 else None
    return None


def retry_after_s(error: BaseException, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After-Ms``, or ``Retry-After`` in seconds or
    as an HTTP date), or None."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped; a server's ``Retry-After`` is a lower bound."""

    max_retries: int
    initial_s: float
    max_s: float
    max_retry_after_s: float

    @classmethod
    def from_config(cls, config: GenerationConfig) -> "RetryPolicy":
        return cls(config.max_retries, config.backoff_initial_s, config.backoff_max_s,
                   config.max_retry_after_s)

    def backoff_s(self, retry: int, rng: random.Random) -> float:
        """Delay before retry number ``retry`` (1-based): initial * 2^(retry-1), capped, with
        "equal jitter" (between half and all of it), so that concurrent requests that failed
        together do not all come back at the same instant."""
        ceiling = min(self.max_s, self.initial_s * 2 ** (retry - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def delay_s(self, retry: int, server_asked_s: float | None, rng: random.Random) -> float:
        """The wait before a retry: the backoff, but never less than what the server asked."""
        return max(self.backoff_s(retry, rng), server_asked_s or 0.0)
