"""``CodatPayoutTrigger``'s check, driven with asyncio against the sandbox over loopback.

Payouts arrive over time (``payout_interval_s``, ``add_payouts``). The poll loop around the
check, its errors and its backoff are tested once, in ``test_poll_loop.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sandbox.query import to_utc
from airflow_provider_codat.sensors.commerce import format_since
from airflow_provider_codat.triggers.commerce import CodatPayoutTrigger, payout_query
from tests.commerce_fixtures import fire

from .conftest import API_KEY, connection_json, this_second

PAYOUT_KEYS = {"id", "type", "amount", "currency", "modifiedDate", "createdDate"}


def make_trigger(ids: tuple[str, str], since: datetime, **kwargs: Any) -> CodatPayoutTrigger:
    settings: dict[str, Any] = {"poll_interval": 0.2, "deadline": time.time() + 60, **kwargs}
    return CodatPayoutTrigger(company_id=ids[0], connection_id=ids[1], since=format_since(since), **settings)


async def first_event(trigger: CodatPayoutTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        payload: dict[str, Any] = event.payload
        return payload
    raise AssertionError("the trigger ended without an event")


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

    before = sandbox.requests_today()
    sandbox.set_faults(payout_interval_s=0.3)
    started = time.monotonic()
    event = asyncio.run(main())
    elapsed = time.monotonic() - started
    polls = sandbox.requests_today() - before

    assert event["status"] == "done"
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
    before = sandbox.requests_today()
    event = fire(make_trigger(ids, since, min_payouts=5, max_payouts_returned=3))
    assert sandbox.requests_today() - before == 1, "one list call, not the whole list"
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

    payouts = fire(make_trigger(ids, since, max_payouts_returned=5000))
    both = fire(make_trigger(ids, since, include_failed=True, max_payouts_returned=5000))

    assert payouts["count"] == kinds["Payout"]
    assert both["count"] == kinds["Payout"] + kinds["FailedPayout"]
    assert {p["type"] for p in both["payouts"]} == {"Payout", "FailedPayout"}
    by_id = {t["id"]: t for t in everything}
    for payout in both["payouts"]:
        assert Decimal(payout["amount"]) == by_id[payout["id"]]["totalAmount"], "amounts must stay exact"
