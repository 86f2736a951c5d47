"""The retry policy: Retry-After honoured, long waits refused, backoff bounded, budgets kept."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from airflow_provider_codat.client import CodatClient, RetryPolicy
from airflow_provider_codat.client._errors import error_for
from airflow_provider_codat.client._retry import wait_before_retry
from airflow_provider_codat.exceptions import (
    CodatApiError,
    CodatDecodeError,
    CodatNotFoundError,
    CodatRateLimitError,
    CodatRequestTimeoutError,
    CodatServerError,
    CodatTransportError,
)
from airflow_provider_codat.sandbox import CodatSandbox

from .conftest import WatchingTransport, config_for, fast_retry

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def sandbox_429(sb: CodatSandbox, form: str, seconds: float) -> httpx.Response:
    """A real rate-limited response from the sandbox."""
    sb.set_faults(rate_limit={"burst": 1}, retry_after_seconds=seconds, retry_after_form=form)
    response = httpx.get(f"{sb.url}/companies", headers={"Authorization": sb.auth_header})
    assert response.status_code == 429
    return response


# --- Retry-After ---------------------------------------------------------------------------------------


def test_retry_after_seconds_is_the_wait(sandbox: CodatSandbox) -> None:
    error = error_for(sandbox_429(sandbox, "seconds", 7), now=NOW)
    assert isinstance(error, CodatRateLimitError)
    assert error.retry_at == NOW + timedelta(seconds=7)
    policy = RetryPolicy(max_wait=60)
    # Never earlier than asked; a jitter of up to 1 s spreads callers told the same moment.
    first = wait_before_retry(policy, 1, error, NOW)
    assert first is not None and 7.0 <= first <= 8.0
    later = wait_before_retry(policy, 4, error, NOW + timedelta(seconds=5))  # the attempt is irrelevant
    assert later is not None and 2.0 <= later <= 3.0
    assert wait_before_retry(policy, 1, error, NOW + timedelta(seconds=9)) == 0.0  # never negative


def test_retry_after_http_date_is_the_wait(sandbox: CodatSandbox) -> None:
    response = sandbox_429(sandbox, "http-date", 20)
    date = parsedate_to_datetime(response.headers["Retry-After"])
    error = error_for(response, now=NOW)
    assert error.retry_at == date and error.retry_at.tzinfo is not None
    wait = wait_before_retry(RetryPolicy(max_wait=60), 1, error, date - timedelta(seconds=12))
    assert wait is not None and 12.0 <= wait <= 13.0


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_beyond_max_wait_raises_now_with_retry_at(sandbox: CodatSandbox, form: str) -> None:
    error = error_for(sandbox_429(sandbox, form, 90))
    assert error.retry_at is not None
    assert wait_before_retry(RetryPolicy(max_wait=60), 1, error, datetime.now(UTC)) is None
    assert wait_before_retry(RetryPolicy(max_wait=120), 1, error, datetime.now(UTC)) is not None


@pytest.mark.parametrize(("form", "seconds"), [("seconds", 1), ("http-date", 2)])
def test_client_sleeps_through_a_short_retry_after(sandbox: CodatSandbox, form: str, seconds: int) -> None:
    # An HTTP date has whole seconds: "now + 2 s" truncated still means a wait of more than 1 s.
    sandbox.set_faults(rate_limit={"burst": 1}, retry_after_seconds=seconds, retry_after_form=form)
    wire = WatchingTransport()
    with CodatClient(config_for(sandbox, retry=fast_retry(max_wait=3)), transport=wire) as client:
        started = time.monotonic()
        body = client.request("GET", "/companies")
        elapsed = time.monotonic() - started
    assert body["totalResults"] == 2 and len(wire.requests) == 2
    assert elapsed >= 0.95  # the backoff alone (initial_wait 0.01) would have retried at once


def test_client_raises_at_once_when_retry_after_exceeds_max_wait(sandbox: CodatSandbox) -> None:
    sandbox.set_faults(rate_limit={"every": 1}, retry_after_seconds=45)
    wire = WatchingTransport()
    with CodatClient(config_for(sandbox, retry=fast_retry(max_wait=5)), transport=wire) as client:
        started = time.monotonic()
        with pytest.raises(CodatRateLimitError) as caught:
            client.request("GET", "/companies")
        elapsed = time.monotonic() - started
    assert elapsed < 1 and len(wire.requests) == 1
    expected = datetime.now(UTC) + timedelta(seconds=45)
    assert caught.value.retry_at is not None
    assert abs((caught.value.retry_at - expected).total_seconds()) < 3


# --- which errors, which requests ----------------------------------------------------------------------


def _api(cls: type[CodatApiError], status: int) -> CodatApiError:
    return cls(status, "boom", method="GET", path="/companies")


@pytest.mark.parametrize(
    ("error", "idempotent", "retried"),
    [
        (_api(CodatServerError, 503), True, True),
        (_api(CodatRequestTimeoutError, 408), True, True),
        (_api(CodatRateLimitError, 429), True, True),
        (CodatTransportError("request failed: ConnectError"), True, True),
        (CodatDecodeError("cut short"), True, True),
        (_api(CodatNotFoundError, 404), True, False),
        (ValueError("not ours"), True, False),
        (_api(CodatServerError, 500), False, False),
        (_api(CodatRequestTimeoutError, 408), False, False),
        (CodatTransportError("request failed: ReadTimeout"), False, False),
        (_api(CodatRateLimitError, 429), False, True),
    ],
)
def test_which_errors_are_retried(error: BaseException, idempotent: bool, retried: bool) -> None:
    wait = wait_before_retry(RetryPolicy(), 1, error, NOW, idempotent=idempotent)
    assert (wait is not None) is retried


def test_post_is_not_retried_after_a_server_error(sandbox: CodatSandbox) -> None:
    sandbox.set_faults(server_error={"burst": 1}, sync_seconds=0)
    company, connection = sandbox.connections[2]
    wire = WatchingTransport()
    with CodatClient(config_for(sandbox), transport=wire) as client, pytest.raises(CodatServerError):
        client.request(
            "POST", f"/companies/{company}/data/queue/commerce-products", {"connectionId": connection}
        )
    assert len(wire.requests) == 1


def test_post_is_retried_after_a_429(sandbox: CodatSandbox) -> None:
    sandbox.set_faults(rate_limit={"burst": 1}, retry_after_seconds=0, sync_seconds=0)
    company, connection = sandbox.connections[3]
    wire = WatchingTransport()
    with CodatClient(config_for(sandbox), transport=wire) as client:
        op = client.request(
            "POST", f"/companies/{company}/data/queue/commerce-products", {"connectionId": connection}
        )
    assert op["dataType"] == "commerce-products" and op["connectionId"] == connection
    assert [r.method for r in wire.requests] == ["POST", "POST"]


# --- backoff -------------------------------------------------------------------------------------------


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_wait=0.5, multiplier=2, max_wait=5)
    error = _api(CodatServerError, 503)
    highest = []
    for attempt in range(1, 9):
        ceiling = min(5.0, 0.5 * 2 ** (attempt - 1))
        waits = [wait_before_retry(policy, attempt, error, NOW) for _ in range(400)]
        assert all(w is not None and 0.25 <= w <= ceiling for w in waits), (attempt, ceiling)
        highest.append(max(w for w in waits if w is not None))
    assert highest[0] <= 0.5 < highest[1] <= 1 < highest[2] <= 2 < highest[3] <= 4 < highest[4]
    assert all(4.5 < h <= 5 for h in highest[4:])


@pytest.mark.parametrize(("initial", "max_wait"), [(1.0, 0.2), (4.0, 1.0), (0.5, 0.0)])
def test_max_wait_caps_even_the_first_wait(initial: float, max_wait: float) -> None:
    policy = RetryPolicy(initial_wait=initial, max_wait=max_wait)
    for attempt in (1, 2, 5):
        waits = [wait_before_retry(policy, attempt, _api(CodatServerError, 500), NOW) for _ in range(100)]
        assert all(w is not None and 0 <= w <= max_wait for w in waits)


# --- budgets -------------------------------------------------------------------------------------------


def test_max_attempts_is_the_number_of_requests(sandbox: CodatSandbox) -> None:
    sandbox.set_faults(server_error={"every": 1})
    wire = WatchingTransport()
    with (
        CodatClient(config_for(sandbox, retry=fast_retry(max_attempts=3)), transport=wire) as client,
        pytest.raises(CodatServerError),
    ):
        client.request("GET", "/companies")
    assert len(wire.requests) == 3


def test_max_total_bounds_the_whole_call(sandbox: CodatSandbox) -> None:
    sandbox.set_faults(server_error={"every": 1})
    policy = RetryPolicy(max_attempts=100, initial_wait=0.2, multiplier=1, max_wait=0.2, max_total=0.5)
    wire = WatchingTransport()
    with CodatClient(config_for(sandbox, retry=policy), transport=wire) as client:
        started = time.monotonic()
        with pytest.raises(CodatServerError):
            client.request("GET", "/companies")
        elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 0.3
    assert 2 <= len(wire.requests) <= 5


def test_a_retry_after_past_the_budget_is_not_slept(sandbox: CodatSandbox) -> None:
    sandbox.set_faults(rate_limit={"every": 1}, retry_after_seconds=2)
    policy = fast_retry(max_wait=10, max_total=1)
    wire = WatchingTransport()
    with CodatClient(config_for(sandbox, retry=policy), transport=wire) as client:
        started = time.monotonic()
        with pytest.raises(CodatRateLimitError) as caught:
            client.request("GET", "/companies")
    assert time.monotonic() - started < 0.5 and len(wire.requests) == 1
    assert caught.value.retry_at is not None


# --- the defaults ride out an outage -------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [_api(CodatServerError, 503), CodatTransportError("dropped"), _api(CodatRequestTimeoutError, 408)],
    ids=["503", "dropped", "408"],
)
def test_the_default_policy_rides_out_two_minutes_within_its_budget(error: Exception) -> None:
    policy = RetryPolicy()
    totals = []
    for _ in range(200):
        waits = [wait_before_retry(policy, attempt, error, NOW) for attempt in range(1, policy.max_attempts)]
        assert all(w is not None for w in waits)
        totals.append(sum(w for w in waits if w is not None))
    assert min(totals) >= 120, "a shorter outage than two minutes could fail the call"
    assert max(totals) <= policy.max_total


def test_the_default_policy_waits_out_seven_seconds_of_503s(sandbox: CodatSandbox) -> None:
    """The old defaults (6 attempts) gave up within 6.6 s at most; one call now lives through it."""
    sandbox.set_faults(server_error={"every": 1}, server_error_status=503)
    outage = threading.Timer(7.0, sandbox.reset_faults)
    outage.start()
    wire = WatchingTransport()
    try:
        with CodatClient(config_for(sandbox, retry=RetryPolicy()), transport=wire) as client:
            started = time.monotonic()
            body = client.request("GET", "/companies", {"page": 1, "pageSize": 1})
            elapsed = time.monotonic() - started
    finally:
        outage.cancel()
    assert body["totalResults"] >= 1
    assert elapsed >= 7 and 7 <= len(wire.requests) <= 11
