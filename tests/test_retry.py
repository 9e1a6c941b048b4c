"""The retry policy as a table: every outcome x idempotency x budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from intelepeer_async import InvalidInputError
from intelepeer_async._retry import (
    Failure,
    RetryPolicy,
    backoff_delay,
    parse_retry_after,
    should_retry,
)

IDEMPOTENT_RETRY = {408, 429, 500, 502, 503, 504, 599}
IDEMPOTENT_FINAL = {400, 401, 403, 404, 409, 422}
POST_RETRY = {429, 503}
POST_FINAL = {400, 401, 403, 404, 408, 409, 422, 500, 502, 504}


@pytest.mark.parametrize("status", sorted(IDEMPOTENT_RETRY))
def test_idempotent_retries_transient_statuses(status: int) -> None:
    assert should_retry(status, idempotent=True, retries_done=0, max_retries=2)


@pytest.mark.parametrize("status", sorted(IDEMPOTENT_FINAL))
def test_idempotent_does_not_retry_client_errors(status: int) -> None:
    assert not should_retry(status, idempotent=True, retries_done=0, max_retries=2)


@pytest.mark.parametrize("status", sorted(POST_RETRY))
def test_non_idempotent_retries_only_refusals(status: int) -> None:
    assert should_retry(status, idempotent=False, retries_done=0, max_retries=2)


@pytest.mark.parametrize("status", sorted(POST_FINAL))
def test_non_idempotent_never_retries_what_may_have_run(status: int) -> None:
    assert not should_retry(status, idempotent=False, retries_done=0, max_retries=2)


@pytest.mark.parametrize("idempotent", [True, False])
def test_not_sent_is_always_retryable(idempotent: bool) -> None:
    assert should_retry(Failure.NOT_SENT, idempotent=idempotent, retries_done=1, max_retries=2)


def test_maybe_sent_retries_only_idempotent() -> None:
    assert should_retry(Failure.MAYBE_SENT, idempotent=True, retries_done=0, max_retries=2)
    assert not should_retry(Failure.MAYBE_SENT, idempotent=False, retries_done=0, max_retries=2)


@pytest.mark.parametrize("outcome", [Failure.NOT_SENT, Failure.MAYBE_SENT, 429, 503, 500])
def test_budget_exhausted_stops_everything(outcome: int | Failure) -> None:
    assert not should_retry(outcome, idempotent=True, retries_done=2, max_retries=2)
    assert not should_retry(outcome, idempotent=True, retries_done=0, max_retries=0)


def test_retry_after_seconds_and_millis() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": " 1.5 "}) == 1.5
    assert parse_retry_after({"Retry-After-Ms": "250", "Retry-After": "9"}) == 0.25
    assert parse_retry_after({"Retry-After": "-4"}) == 0.0


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=now) == 42.0
    past = format_datetime(now - timedelta(seconds=42), usegmt=True)
    assert parse_retry_after({"Retry-After": past}, now=now) == 0.0


@pytest.mark.parametrize("value", ["soon", "", "nan", "inf", "Mon, 99 Foo 2026"])
def test_retry_after_garbage_is_ignored(value: str) -> None:
    assert parse_retry_after({"Retry-After": value}) is None


def test_retry_after_absent() -> None:
    assert parse_retry_after({}) is None


def test_backoff_grows_exponentially_and_caps() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=3.0, jitter=0.25)
    delays = [
        backoff_delay(n, policy=policy, retry_after=None, random_fraction=0.0) for n in range(5)
    ]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_takes_off_at_most_the_jitter_fraction() -> None:
    policy = RetryPolicy(initial_delay=1.0, jitter=0.25)
    assert backoff_delay(0, policy=policy, retry_after=None, random_fraction=0.999) == (
        pytest.approx(0.75025)
    )
    assert backoff_delay(0, policy=policy, retry_after=None, random_fraction=0.5) == 0.875


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    assert backoff_delay(0, policy=policy, retry_after=7.0, random_fraction=0.9) == 7.0
    assert backoff_delay(0, policy=policy, retry_after=3600.0, random_fraction=0.0) == 60.0


@pytest.mark.parametrize("bad", [-1, True, 1.5, "2"])
def test_policy_rejects_bad_max_retries(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="max_retries"):
        RetryPolicy(max_retries=bad)  # type: ignore[arg-type]
