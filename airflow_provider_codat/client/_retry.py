"""The per-call retry policy as tenacity ``Retrying`` objects, sync and async alike.

Retried: errors whose class is ``retryable`` (408, 429, 5xx, transport failures and malformed
bodies). The wait is Codat's ``Retry-After`` when it sent one, else exponential backoff with
"equal" jitter (between half the ceiling and the ceiling), so the time a policy rides out is
bounded below as well as above. A wait longer than ``max_wait``, or past the ``max_total``
budget, is not slept: the error is raised at once, carrying ``retry_at`` for the caller (an operator defers or
reschedules instead of holding a worker slot).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, Retrying, stop_after_attempt, stop_after_delay

from airflow_provider_codat.client._config import RetryPolicy
from airflow_provider_codat.exceptions import CodatApiError, CodatError, CodatRateLimitError

__all__ = ["async_retrying", "retrying", "wait_before_retry"]

log = logging.getLogger("airflow_provider_codat.client")


def wait_before_retry(
    policy: RetryPolicy, attempt: int, error: BaseException, now: datetime, *, idempotent: bool = True
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None when the error must be raised now.

    A request that is not idempotent is retried only after a 429, which Codat answers before
    doing anything.
    """
    if not isinstance(error, CodatError) or not error.retryable:
        return None
    if not idempotent and not isinstance(error, CodatRateLimitError):
        return None
    retry_at = error.retry_at if isinstance(error, CodatApiError) else None
    if retry_at is not None:
        wait = max(0.0, (retry_at - now).total_seconds())
        if wait > policy.max_wait:
            return None
        # Never earlier than asked, but spread out: callers told to come back at the same moment
        # (every pull refused for the company's concurrency at once) would collide again.
        return wait + random.uniform(0, min(1.0, wait))
    ceiling = min(policy.max_wait, policy.initial_wait * policy.multiplier ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def _kwargs(policy: RetryPolicy, idempotent: bool, on_throttle: Callable[[], None] | None) -> dict[str, Any]:
    started = time.monotonic()
    planned = [0.0]  # the wait chosen by should_retry, read back by wait

    def should_retry(state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        if error is None:
            return False
        wait = wait_before_retry(
            policy, state.attempt_number, error, datetime.now(UTC), idempotent=idempotent
        )
        if wait is None or time.monotonic() - started + wait > policy.max_total:
            return False
        planned[0] = wait
        return True

    def wait(state: RetryCallState) -> float:
        return planned[0]

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if on_throttle is not None and isinstance(error, CodatRateLimitError):
            on_throttle()
        log.warning("Codat call failed (%s); retry %d in %.1f s", error, state.attempt_number, wait(state))

    return {
        "retry": should_retry,
        "wait": wait,
        "stop": stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.max_total),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def retrying(
    policy: RetryPolicy, *, idempotent: bool = True, on_throttle: Callable[[], None] | None = None
) -> Retrying:
    """A fresh synchronous ``Retrying`` for one call.

    :param on_throttle: Called before sleeping on a 429 that is waited out.
    """
    return Retrying(**_kwargs(policy, idempotent, on_throttle))


def async_retrying(
    policy: RetryPolicy, *, idempotent: bool = True, on_throttle: Callable[[], None] | None = None
) -> AsyncRetrying:
    """A fresh ``AsyncRetrying`` for one call; its sleeps do not block the event loop."""
    return AsyncRetrying(**_kwargs(policy, idempotent, on_throttle))
