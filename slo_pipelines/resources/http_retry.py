"""One retry policy for every HTTP client (Prometheus, PagerDuty/Opsgenie notifiers, incident polling).

Built on tenacity: a call is retried when it raises `RetryableError` — throttling (429), server errors
(500, 502, 503, 504), network errors, timeouts, and answers that make no sense (a 2xx that is not the
expected JSON) — and never for other 4xx, which are the request's own fault. The wait before retry n
(n ≥ 1) is `backoff_seconds · 2^(n−1)`, stretched to the server's `Retry-After` (seconds or an HTTP
date, RFC 9110 §10.2.3) when it gave one, and capped at `max_backoff_seconds`. Retrying is safe for the
POSTs we make because each carries an idempotency key (PagerDuty `dedup_key`, Opsgenie `alias`).
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})

T = TypeVar("T")


class RetryableError(Exception):
    """A failure worth another attempt; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The `Retry-After` header in seconds (delta-seconds or HTTP-date); None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try and how long to wait in between (see the module docstring)."""

    attempts: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 for the second attempt)."""
        wait = self.backoff_seconds * 2 ** (retry - 1)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_backoff_seconds)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        after = error.retry_after if isinstance(error, RetryableError) else None
        return self.delay(state.attempt_number, after)

    def run(self, call: Callable[[int], T], sleep: Callable[[float], None] = time.sleep) -> T:
        """`call(attempt_number)` until it returns, raises a non-retryable error, or attempts run out
        (then its last RetryableError propagates)."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(RetryableError),
            sleep=sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return call(attempt.retry_state.attempt_number)
        raise AssertionError("tenacity ends with a result or an exception")  # pragma: no cover
