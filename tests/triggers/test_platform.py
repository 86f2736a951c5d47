"""The Platform triggers' checks, driven through their async ``run()`` against the sandbox.

The poll loop around the checks, its errors and its backoff are tested once, in ``test_poll_loop.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_codat.refresh import parse_time, pull_state, settled
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.triggers.platform import CodatDataSyncTrigger, CodatPullOperationTrigger
from tests.commerce_fixtures import fire, queue, wait_quiet


@pytest.fixture(autouse=True)
def _no_refresh_outlives_the_test(sandbox: CodatSandbox) -> Iterator[None]:
    """dataStatus is the company's: a refresh left running would answer the next test's wait."""
    yield
    sandbox.reset_faults()
    wait_quiet(sandbox)


def pull_trigger(ids: tuple[str, str], op_ids: list[str], **settings: Any) -> CodatPullOperationTrigger:
    settings.setdefault("deadline", time.time() + 20)
    settings.setdefault("poll_interval", 0.05)
    return CodatPullOperationTrigger(company_id=ids[0], pull_operation_ids=",".join(op_ids), **settings)


def sync_trigger(ids: tuple[str, str], types: str, after: datetime, **settings: Any) -> CodatDataSyncTrigger:
    settings.setdefault("deadline", time.time() + 20)
    settings.setdefault("poll_interval", 0.05)
    return CodatDataSyncTrigger(
        company_id=ids[0], data_types=types, synced_after=after.isoformat(), **settings
    )


# -- pure rules -----------------------------------------------------------------------------------
def test_pull_state_trusts_known_statuses_and_codat_flags_for_unknown_ones() -> None:
    assert pull_state({"id": "p", "dataType": "t", "status": "Fetching"})["done"] is False
    assert pull_state({"status": "Complete"})["done"] is True
    assert pull_state({"status": "Rebalancing"})["done"] is False
    assert pull_state({"status": "Exploded", "isErrored": True})["done"] is True
    long = pull_state({"status": "FetchError", "errorMessage": "x" * 1000})
    assert len(long["error"]) == 200


def test_settled_fails_fast_and_otherwise_waits_for_all() -> None:
    running = {"done": False, "status": "Fetching"}
    assert not settled([running, {"done": True, "status": "Complete"}])
    assert settled([running, {"done": True, "status": "FetchError"}])
    assert settled([{"done": True, "status": "NotSupported"}, {"done": True, "status": "Complete"}])


def test_parse_time_reads_codat_dates_and_takes_naive_as_utc() -> None:
    assert parse_time("2026-01-02T03:04:05.678Z") == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert parse_time("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_time("soon") is None and parse_time(None) is None


# -- CodatPullOperationTrigger --------------------------------------------------------------------
def test_pull_trigger_waits_calmly_until_complete(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(sync_seconds=1.5)
    op_id = queue("orders", ids)
    before, started = sandbox.requests_today(), time.monotonic()
    event = fire(pull_trigger(ids, [op_id], poll_interval=0.4))
    elapsed, polls = time.monotonic() - started, sandbox.requests_today() - before
    assert event["status"] == "done"
    assert event["states"][op_id] == {
        "id": op_id,
        "dataType": "commerce-orders",
        "connectionId": ids[1],
        "status": "Complete",
        "done": True,
        "error": None,
    }
    assert 1.2 <= elapsed < 3
    assert 3 <= polls <= 6  # one poll per 0.4 s interval, no busy loop


def test_pull_trigger_fails_fast_when_one_refresh_fails(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(sync_seconds=1.5)
    slow = queue("orders", ids)
    sandbox.set_faults(sync_seconds=0.2, pull_outcome={"commerce-payments": "FetchError"})
    failing = queue("payments", ids)
    started = time.monotonic()
    event = fire(pull_trigger(ids, [slow, failing]))
    assert time.monotonic() - started < 1
    assert event["status"] == "done"
    assert event["states"][failing]["status"] == "FetchError"
    assert event["states"][failing]["error"] == "Sandbox forced FetchError"
    assert event["states"][slow]["done"] is False


def test_pull_trigger_times_out_at_its_deadline(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(sync_seconds=1.0)
    op_id = queue("locations", ids)
    started = time.monotonic()
    event = fire(pull_trigger(ids, [op_id], deadline=time.time() + 0.4, poll_interval=0.1))
    assert 0.35 <= time.monotonic() - started < 1.2
    assert event["status"] == "timeout"
    assert "commerce-locations" in event["message"]


# -- CodatDataSyncTrigger -------------------------------------------------------------------------
def test_sync_trigger_fires_once_the_data_type_synced_after_the_moment(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(sync_seconds=1.0)
    after = datetime.now(UTC)
    started = time.monotonic()
    queue("orders", ids)
    event = fire(sync_trigger(ids, "commerce-orders", after, poll_interval=0.2))
    assert time.monotonic() - started >= 0.95, "the refresh takes a second from its queueing"
    assert event["status"] == "done"
    assert event["states"]["commerce-orders"]["status"] == "Complete"
    assert event["trigger"]["synced_after"] == after.isoformat()


def test_sync_trigger_is_done_at_once_when_already_synced(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    before = sandbox.requests_today()
    event = fire(sync_trigger(ids, "commerce-orders,commerce-products", datetime(2000, 1, 1, tzinfo=UTC)))
    assert event["status"] == "done" and sandbox.requests_today() - before == 1
    assert {s["status"] for s in event["states"].values()} == {"Complete"}


def test_sync_trigger_reports_a_refresh_that_failed_after_the_moment(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(sync_seconds=0.3, pull_outcome={"commerce-disputes": "AuthError"})
    after = datetime.now(UTC)
    op_id = queue("disputes", ids)
    event = fire(sync_trigger(ids, "commerce-disputes", after))
    state = event["states"]["commerce-disputes"]
    assert event["status"] == "done" and state["status"] == "AuthError" and state["id"] == op_id


def test_sync_trigger_ignores_a_failure_from_before_the_moment(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(sync_seconds=0.2, pull_outcome={"commerce-taxComponents": "FetchError"})
    queue("tax_components", ids)
    wait_quiet(sandbox)
    after = datetime.now(UTC) + timedelta(milliseconds=1)
    event = fire(sync_trigger(ids, "commerce-taxComponents", after, deadline=time.time() + 0.3))
    assert event["status"] == "timeout"
    assert "commerce-taxComponents" in event["message"]
