"""The one retry policy every HTTP client shares: which failures are retried, and how long it waits."""

import pytest

from slo_pipelines.resources.http_retry import RetryableError, RetryPolicy, retry_after_seconds


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds({"Retry-After": "7"}) == 7.0
    assert retry_after_seconds({"retry-after": "0.5"}) == 0.5
    now = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}, now=now) == 30.0
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:27:00 GMT"}, now=now) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_backoff_doubles_is_stretched_by_retry_after_and_capped() -> None:
    policy = RetryPolicy(attempts=5, backoff_seconds=0.5, max_backoff_seconds=3.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert policy.delay(1, retry_after=2.5) == 2.5
    assert policy.delay(1, retry_after=60) == 3.0


def test_run_retries_only_retryable_errors_and_reports_the_last() -> None:
    waits: list[float] = []
    calls: list[int] = []

    def flaky(attempt: int) -> str:
        calls.append(attempt)
        if attempt < 3:
            raise RetryableError("HTTP 429", 429, retry_after=1.5 if attempt == 2 else None)
        return "ok"

    policy = RetryPolicy(attempts=4, backoff_seconds=1.0, max_backoff_seconds=30)
    assert policy.run(flaky, sleep=waits.append) == "ok"
    assert calls == [1, 2, 3] and waits == [1.0, 2.0]  # retry 2 waits max(2.0, Retry-After 1.5)

    waits.clear()
    with pytest.raises(RetryableError, match="HTTP 503"):
        RetryPolicy(attempts=3, backoff_seconds=0.1).run(
            lambda n: (_ for _ in ()).throw(RetryableError("HTTP 503", 503)), sleep=waits.append
        )
    assert waits == [0.1, 0.2]

    seen: list[int] = []

    def bad_request(attempt: int) -> None:
        seen.append(attempt)
        raise ValueError("HTTP 400")

    with pytest.raises(ValueError):
        RetryPolicy(attempts=5).run(bad_request, sleep=waits.append)
    assert seen == [1]
