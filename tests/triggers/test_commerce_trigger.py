"""``CodatPayoutTrigger`` driven with asyncio against the sandbox over loopback.

Payouts arrive over time (``payout_interval_s``, ``add_payouts``); faults are sandbox settings.
The fault-storm tests count the requests the sandbox received, to show the loop stays calm.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sandbox.query import to_utc
from airflow_provider_codat.sensors.commerce import format_since
from airflow_provider_codat.triggers.commerce import CodatPayoutTrigger, payout_query

from .conftest import API_KEY, FAST, connection_json, requests_today, this_second

CLASSPATH = "airflow_provider_codat.triggers.commerce.CodatPayoutTrigger"
PAYOUT_KEYS = {"id", "type", "amount", "currency", "modifiedDate", "createdDate"}


def make_trigger(ids: tuple[str, str], since: datetime, **kwargs: Any) -> CodatPayoutTrigger:
    settings: dict[str, Any] = {"poll_interval": 0.2, **kwargs}
    return CodatPayoutTrigger(company_id=ids[0], connection_id=ids[1], since=format_since(since), **settings)


async def first_event(trigger: CodatPayoutTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        payload: dict[str, Any] = event.payload
        return payload
    raise AssertionError("the trigger ended without an event")


def run_trigger(trigger: CodatPayoutTrigger, timeout: float = 15.0) -> dict[str, Any]:
    return asyncio.run(asyncio.wait_for(first_event(trigger), timeout))


def run_for(trigger: CodatPayoutTrigger, seconds: float) -> tuple[dict[str, Any] | None, float]:
    """Run the trigger for ``seconds`` (cancelled then); return its event, if any, and the time taken."""

    async def main() -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(first_event(trigger), seconds)
        except TimeoutError:
            return None

    started = time.monotonic()
    event = asyncio.run(main())
    return event, time.monotonic() - started


# -- serialization ----------------------------------------------------------------------------
def test_serialize_gives_the_classpath_and_plain_values(ids: tuple[str, str]) -> None:
    from airflow.sdk.module_loading import import_string

    trigger = make_trigger(ids, this_second(), include_failed=True, min_payouts=3, max_poll_interval=5)
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    assert all(type(v) in (str, int, float, bool) for v in kwargs.values()), kwargs
    json.dumps(kwargs)
    rebuilt = import_string(classpath)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs["max_poll_interval"] == 5.0 and kwargs["include_failed"] is True


def test_subclass_serializes_its_own_classpath(ids: tuple[str, str]) -> None:
    class MyTrigger(CodatPayoutTrigger):
        pass

    assert (
        MyTrigger(company_id=ids[0], connection_id=ids[1], since="2024-01-01T00:00:00.000Z")
        .serialize()[0]
        .endswith("test_commerce_trigger.test_subclass_serializes_its_own_classpath.<locals>.MyTrigger")
    )


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"poll_interval": 0}, "poll_interval"), ({"max_consecutive_errors": 0}, "max_")]
)
def test_refuses_a_busy_loop_or_no_error_budget(
    ids: tuple[str, str], kwargs: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        make_trigger(ids, this_second(), **kwargs)


def test_payout_query() -> None:
    since = "2024-05-01T00:00:00.000Z"
    assert payout_query(since) == "type=Payout&&modifiedDate>=2024-05-01T00:00:00.000Z"
    assert payout_query(since, include_failed=True) == (
        "{type=Payout||type=FailedPayout}&&modifiedDate>=2024-05-01T00:00:00.000Z"
    )


# -- success ----------------------------------------------------------------------------------
async def _loop_lag(lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(0.01)
        lags.append(loop.time() - before - 0.01)


def test_fires_once_payouts_have_arrived_over_time(
    codat_sandbox_factory: Callable[..., CodatSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sandbox of its own: arriving payouts land on every connection of a sandbox.
    sandbox = codat_sandbox_factory(records=5, api_key=API_KEY)
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", connection_json(sandbox))
    ids = sandbox.connections[0]
    since = this_second()
    trigger = make_trigger(ids, since, min_payouts=3)
    lags: list[float] = []

    async def main() -> dict[str, Any]:
        ticker = asyncio.ensure_future(_loop_lag(lags))
        try:
            return await asyncio.wait_for(first_event(trigger), 15)
        finally:
            ticker.cancel()

    before = requests_today(sandbox)
    sandbox.set_faults(payout_interval_s=0.3)
    started = time.monotonic()
    event = asyncio.run(main())
    elapsed = time.monotonic() - started
    polls = requests_today(sandbox) - before

    assert event["status"] == "success"
    assert event["count"] >= 3 and event["truncated"] is False
    assert len(event["payouts"]) == event["count"]
    assert elapsed >= 0.6, "three payouts 0.3 s apart cannot all be there at once"
    assert 2 <= polls <= elapsed / 0.2 + 2, (polls, elapsed)
    # The first poll resolves the connection once; every other tick of the loop must come on time.
    worst, next_worst = sorted(lags)[-1], sorted(lags)[-2]
    assert worst < 0.5 and next_worst < 0.15, f"the event loop was blocked for {worst:.3f} s"
    for payout in event["payouts"]:
        assert set(payout) == PAYOUT_KEYS
        assert payout["type"] == "Payout"
        assert isinstance(payout["amount"], str) and Decimal(payout["amount"]) < 0
        assert to_utc(payout["modifiedDate"]) >= since
    dates = [to_utc(p["modifiedDate"]) for p in event["payouts"]]
    assert dates == sorted(dates)


def test_counts_all_but_returns_at_most_the_bound(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    since = this_second()
    added = sandbox.add_payouts(ids[1], 7)
    before = requests_today(sandbox)
    event = run_trigger(make_trigger(ids, since, min_payouts=5, max_payouts_returned=3))
    assert requests_today(sandbox) - before == 1, "one list call, not the whole list"
    assert event["count"] == 7 and event["truncated"] is True
    assert [p["id"] for p in event["payouts"]] == added[:3]


def test_include_failed_counts_failed_payouts_and_since_filters(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    hook = CodatCommerceHook()
    everything = list(hook.list("transactions", *ids))
    hook.close()
    dates = sorted(to_utc(t["modifiedDate"]) for t in everything)
    since = dates[len(dates) // 2]
    kinds = {"Payout": 0, "FailedPayout": 0}
    for txn in everything:
        if txn["type"] in kinds and to_utc(txn["modifiedDate"]) >= since:
            kinds[txn["type"]] += 1
    assert kinds["Payout"] and kinds["FailedPayout"], "the seeded data should hold both kinds"

    payouts = run_trigger(make_trigger(ids, since, max_payouts_returned=5000))
    both = run_trigger(make_trigger(ids, since, include_failed=True, max_payouts_returned=5000))

    assert payouts["count"] == kinds["Payout"]
    assert both["count"] == kinds["Payout"] + kinds["FailedPayout"]
    assert {p["type"] for p in both["payouts"]} == {"Payout", "FailedPayout"}
    by_id = {t["id"]: t for t in everything}
    for payout in both["payouts"]:
        assert Decimal(payout["amount"]) == by_id[payout["id"]]["totalAmount"], "amounts must stay exact"


# -- errors that end at once ------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["401", "403", "404"])
def test_fails_at_once_on_auth_forbidden_and_not_found(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None], kind: str
) -> None:
    company = ids[0]
    if kind == "401":
        codat_env(password="not-the-key")
    elif kind == "403":
        sandbox.set_faults(forced_error={"every": 1}, forced_error_status=403)
    else:
        company = str(uuid.uuid4())
    before = requests_today(sandbox)
    started = time.monotonic()
    event = run_trigger(make_trigger((company, ids[1]), this_second(), poll_interval=5))
    assert time.monotonic() - started < 2
    assert requests_today(sandbox) - before <= 1, "no retries of a request that cannot succeed"
    assert event["status"] == "error" and event["retryable"] is False
    assert event["status_code"] == int(kind)
    assert kind in event["message"]
    assert API_KEY not in json.dumps(event)


def test_a_409_is_not_yet_and_not_an_error(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(not_synced=["commerce-transactions"])
    since = this_second()
    before = requests_today(sandbox)

    async def main() -> dict[str, Any]:
        waiting = asyncio.ensure_future(first_event(make_trigger(ids, since, max_consecutive_errors=2)))
        await asyncio.sleep(0.9)
        assert not waiting.done(), "a 409 means not yet, and is no error"
        sandbox.set_faults(not_synced=[])
        sandbox.add_payouts(ids[1], 1)
        return await asyncio.wait_for(waiting, 5)

    event = asyncio.run(main())
    assert event["status"] == "success" and event["count"] == 1
    assert requests_today(sandbox) - before >= 4, "several 409 polls went by without an error event"


# -- calm under fault storms ------------------------------------------------------------------
def test_gives_up_after_consecutive_errors(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(server_error={"every": 1}, server_error_status=503)
    before = requests_today(sandbox)
    event = run_trigger(make_trigger(ids, this_second(), poll_interval=0.1, max_consecutive_errors=3))
    assert event["status"] == "error" and event["retryable"] is True
    assert event["status_code"] == 503
    assert "3 failed polls in a row" in event["message"]
    assert requests_today(sandbox) - before == 3 * FAST["max_attempts"], "per-call retries, then 3 polls"


def test_server_error_storm_backs_off(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(server_error={"every": 1})
    poll, attempts = 0.5, FAST["max_attempts"]
    before = requests_today(sandbox)
    event, elapsed = run_for(
        make_trigger(ids, this_second(), poll_interval=poll, max_consecutive_errors=99), 3
    )
    sent = requests_today(sandbox) - before
    assert event is None
    assert sent <= (elapsed / poll + 1) * attempts, (sent, elapsed)
    # the trigger's own backoff doubles the wait: polls at 0, 0.5, 1.5, 3.5 s, ...
    assert sent <= attempts * 3, (sent, elapsed)
    assert sent >= attempts * 2, "the trigger kept polling (each poll with its per-call retries)"


def test_rate_limit_storm_honours_retry_after(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(rate_limit={"every": 1}, retry_after_seconds=1)
    poll, attempts = 0.2, FAST["max_attempts"]
    before = requests_today(sandbox)
    event, elapsed = run_for(
        make_trigger(ids, this_second(), poll_interval=poll, max_consecutive_errors=99), 3.5
    )
    sent = requests_today(sandbox) - before
    assert event is None
    assert 2 <= sent <= (elapsed / poll + 1) * attempts, (sent, elapsed)
    assert sent <= elapsed / 1.0 + 1, f"{sent} requests in {elapsed:.1f} s: Retry-After 1 s was not honoured"


def test_a_daily_quota_429_is_waited_out_not_polled(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(quota_exhausted=True)
    before = requests_today(sandbox)
    event, _ = run_for(make_trigger(ids, this_second(), poll_interval=0.1), 1.5)
    assert event is None
    assert requests_today(sandbox) - before == 1, "Retry-After is hours away: one request, then a long sleep"


def test_the_wait_after_a_rate_limit_is_at_least_retry_after(ids: tuple[str, str]) -> None:
    from airflow_provider_codat.exceptions import CodatRateLimitError, CodatServerError

    trigger = make_trigger(ids, this_second(), poll_interval=1)
    in_a_minute = CodatRateLimitError(
        429, "slow down", retry_at=datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)
    )
    assert 58 <= trigger._error_wait(1, in_a_minute) <= 60
    assert trigger._error_wait(1, CodatServerError(503, "down")) == 1
    assert trigger._error_wait(3, CodatServerError(503, "down")) == 4
    assert trigger._error_wait(40, CodatServerError(503, "down")) == 600, "the backoff is capped"
