"""The one poll loop of every Codat trigger (``CodatPollTrigger``), driven against the sandbox.

The loop is one class, so its rules are tested once, through the payout trigger's ``run()``;
serialization and bad settings are tested for every trigger.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sensors.commerce import format_since
from airflow_provider_codat.triggers.base import CodatPollTrigger
from airflow_provider_codat.triggers.commerce import CodatPayoutTrigger
from airflow_provider_codat.triggers.platform import CodatDataSyncTrigger, CodatPullOperationTrigger
from tests.commerce_fixtures import API_KEY, FAST, fire, this_second

COMPANY, CONNECTION = "8a210b68-6988-11ed-a1eb-0242ac120002", "51baa045-4836-4317-a42e-3542e991e581"


def payout_trigger(ids: tuple[str, str] = (COMPANY, CONNECTION), **settings: Any) -> CodatPayoutTrigger:
    settings = {"deadline": time.time() + 60, "poll_interval": 0.2, **settings}
    return CodatPayoutTrigger(
        company_id=ids[0], connection_id=ids[1], since=format_since(this_second()), **settings
    )


def pull_trigger(**settings: Any) -> CodatPullOperationTrigger:
    return CodatPullOperationTrigger(
        company_id=COMPANY, pull_operation_ids=str(uuid.uuid4()), deadline=time.time() + 60, **settings
    )


def sync_trigger(**settings: Any) -> CodatDataSyncTrigger:
    return CodatDataSyncTrigger(
        company_id=COMPANY,
        data_types="commerce-orders",
        synced_after="2026-01-01T00:00:00+00:00",
        deadline=time.time() + 60,
        **settings,
    )


TRIGGERS = [payout_trigger, pull_trigger, sync_trigger]


# -- serialization and settings -----------------------------------------------------------------
@pytest.mark.parametrize("make", TRIGGERS)
def test_every_trigger_serializes_plain_values_and_is_rebuilt_from_its_events(make: Any) -> None:
    from airflow.sdk.module_loading import import_string

    trigger = make(poll_interval=1, max_poll_interval=5, max_errors=2)
    classpath, kwargs = trigger.serialize()
    assert classpath == f"{type(trigger).__module__}.{type(trigger).__name__}"
    assert all(type(v) in (str, int, float, bool) for v in kwargs.values()), kwargs
    assert import_string(classpath)(**json.loads(json.dumps(kwargs))).serialize() == (classpath, kwargs)
    for status in ("done", "error", "timeout"):
        event = json.loads(json.dumps(trigger.event(status, message="m")))
        assert event["status"] == status and event["trigger"] == kwargs
        assert type(trigger).from_event(event).serialize() == (classpath, kwargs)
    assert kwargs["max_poll_interval"] == 5.0 and kwargs["max_errors"] == 2


def test_a_subclass_serializes_its_own_classpath() -> None:
    class MyTrigger(CodatPayoutTrigger):
        pass

    trigger = MyTrigger(
        company_id=COMPANY, connection_id=CONNECTION, since="2024-01-01T00:00:00.000Z", deadline=0
    )
    assert trigger.serialize()[0].endswith("test_a_subclass_serializes_its_own_classpath.<locals>.MyTrigger")


@pytest.mark.parametrize("make", TRIGGERS)
@pytest.mark.parametrize(
    ("setting", "value"), [("poll_interval", 0), ("max_poll_interval", -1), ("max_errors", 0)]
)
def test_every_trigger_refuses_a_busy_loop_or_no_error_budget(make: Any, setting: str, value: Any) -> None:
    with pytest.raises(CodatConfigError, match=f"^{setting}: "):
        make(**{setting: value})


@pytest.mark.parametrize(
    ("make", "setting", "value"),
    [
        (payout_trigger, "min_payouts", 0),
        (payout_trigger, "max_payouts_returned", 5001),
        (sync_trigger, "synced_after", "today"),
    ],
)
def test_triggers_refuse_their_own_bad_settings_by_name(make: Any, setting: str, value: Any) -> None:
    if setting == "synced_after":
        with pytest.raises(CodatConfigError, match=f"^{setting}: "):
            CodatDataSyncTrigger(
                company_id=COMPANY, data_types="commerce-orders", synced_after=value, deadline=0
            )
        return
    with pytest.raises(CodatConfigError, match=f"^{setting}: "):
        make(**{setting: value})


# -- errors that end the wait at once -----------------------------------------------------------
@pytest.mark.parametrize("kind", ["401", "403", "404"])
def test_an_error_no_retry_can_fix_ends_the_wait_at_once(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None], kind: str
) -> None:
    company = ids[0]
    if kind == "401":
        codat_env(password="not-the-key")
    elif kind == "403":
        sandbox.set_faults(forced_error={"every": 1}, forced_error_status=403)
    else:
        company = str(uuid.uuid4())
    before = sandbox.requests_today()
    event = fire(payout_trigger((company, ids[1]), poll_interval=5))
    assert sandbox.requests_today() - before <= 1, "no retries of a request that cannot succeed"
    assert event["status"] == "error" and event["retryable"] is False and event["errors"] == 1
    assert event["status_code"] == int(kind) and kind in event["message"]
    assert event["trigger"]["company_id"] == company
    assert API_KEY not in json.dumps(event)


def test_a_daily_quota_past_the_deadline_hands_back_after_one_request(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(quota_exhausted=True)
    before = sandbox.requests_today()
    event = fire(payout_trigger(ids, poll_interval=0.1), timeout=5)
    assert sandbox.requests_today() - before == 1, "Retry-After is hours away: no polling into it"
    assert event["status"] == "error" and event["retryable"] is True and event["status_code"] == 429
    assert "past the deadline" in event["message"]


# -- calm: not yet, transient errors, backoff ---------------------------------------------------
def test_a_409_is_not_yet_and_not_an_error(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(not_synced=["commerce-transactions"])
    trigger = payout_trigger(ids, max_errors=2)
    before = sandbox.requests_today()

    async def main() -> dict[str, Any]:
        async def event() -> dict[str, Any]:
            async for fired in trigger.run():
                return dict(fired.payload)
            raise AssertionError("no event")

        waiting = asyncio.ensure_future(event())
        await asyncio.sleep(0.9)
        assert not waiting.done(), "a 409 means not yet, and is no error"
        sandbox.set_faults(not_synced=[])
        sandbox.add_payouts(ids[1], 1)
        return await asyncio.wait_for(waiting, 5)

    event = asyncio.run(main())
    assert event["status"] == "done" and event["count"] == 1
    assert sandbox.requests_today() - before >= 4, "several 409 polls went by without an error event"


def test_gives_up_after_max_errors_in_a_row(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(server_error={"every": 1}, server_error_status=503)
    before, started = sandbox.requests_today(), time.monotonic()
    event = fire(payout_trigger(ids, poll_interval=0.1, max_errors=3))
    assert event["status"] == "error" and event["retryable"] is True and event["errors"] == 3
    assert event["status_code"] == 503 and event["error"] == "CodatServerError"
    assert "3 failed polls in a row" in event["message"]
    assert sandbox.requests_today() - before == 3 * FAST["max_attempts"], "per-call retries, then 3 polls"
    assert time.monotonic() - started >= 0.3, "backed off 0.1 s, then 0.2 s"


def test_a_server_error_storm_backs_off(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(server_error={"every": 1})
    poll, attempts = 0.5, FAST["max_attempts"]
    before = sandbox.requests_today()
    event, elapsed = _run_for(payout_trigger(ids, poll_interval=poll, max_errors=99), 3)
    sent = sandbox.requests_today() - before
    assert event is None
    # the trigger's own backoff doubles the wait: polls at 0, 0.5, 1.5 s (and 3.5 s, past the end)
    assert attempts * 2 <= sent <= attempts * 3, (sent, elapsed)


def test_a_rate_limit_storm_honours_retry_after(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    sandbox.set_faults(rate_limit={"every": 1}, retry_after_seconds=1)
    before = sandbox.requests_today()
    event, elapsed = _run_for(payout_trigger(ids, poll_interval=0.2, max_errors=99), 3.5)
    sent = sandbox.requests_today() - before
    assert event is None
    assert 2 <= sent <= elapsed / 1.0 + 1, (
        f"{sent} requests in {elapsed:.1f} s: Retry-After 1 s was not honoured"
    )


def test_the_waits_double_up_to_their_ceilings_and_never_undercut_retry_after(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None], mocker: Any
) -> None:
    """The loop's clock is mocked (sleeps return at once, and are recorded); the errors are real."""
    codat_env(max_attempts=1)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 11:
            raise _Stop

    class LoopClock:
        """``asyncio`` as the loop's module sees it, ``sleep`` recorded (the sandbox keeps the real one)."""

        def __getattr__(self, name: str) -> Any:
            return sleep if name == "sleep" else getattr(asyncio, name)

    mocker.patch("airflow_provider_codat.triggers.base.asyncio", LoopClock())

    def waits_of(trigger: CodatPollTrigger) -> list[float]:
        waits.clear()
        with pytest.raises(_Stop):
            fire(trigger)
        return [round(w) for w in waits]

    deadline = time.time() + 3600
    assert waits_of(payout_trigger(ids, poll_interval=2, max_poll_interval=9, deadline=deadline)) == [
        2,
        4,
        8,
        9,
        9,
        9,
        9,
        9,
        9,
        9,
        9,
    ], "polls that found nothing double the wait up to max_poll_interval"
    sandbox.set_faults(server_error={"every": 1})
    assert waits_of(payout_trigger(ids, poll_interval=1, max_errors=99, deadline=deadline)) == [
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
        300,
    ], "failed polls double the wait up to 5 minutes"
    sandbox.reset_faults()
    sandbox.set_faults(rate_limit={"every": 1}, retry_after_seconds=60)
    retry_after = waits_of(payout_trigger(ids, poll_interval=1, max_errors=99, deadline=deadline))
    assert retry_after[:6] == [60] * 6 and retry_after[6:] == [64, 128, 256, 300, 300], retry_after


class _Stop(Exception):
    """Ends a loop whose sleeps are mocked."""


def test_times_out_at_its_deadline_saying_what_it_awaited(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    started = time.monotonic()
    event = fire(payout_trigger(ids, min_payouts=5, poll_interval=0.1, deadline=time.time() + 0.4))
    assert time.monotonic() - started >= 0.35, "polled on until the deadline"
    assert event["status"] == "timeout" and "fewer than 5 payout(s)" in event["message"]


def _run_for(trigger: CodatPollTrigger, seconds: float) -> tuple[dict[str, Any] | None, float]:
    """Run the trigger for ``seconds`` (cancelled then); return its event, if any, and the time taken."""

    async def main() -> dict[str, Any] | None:
        async def event() -> dict[str, Any]:
            async for fired in trigger.run():
                return dict(fired.payload)
            raise AssertionError("no event")

        try:
            return await asyncio.wait_for(event(), seconds)
        except TimeoutError:
            return None

    started = time.monotonic()
    result = asyncio.run(main())
    return result, time.monotonic() - started


def test_check_now_and_wait_now_run_the_same_check_in_a_worker_thread(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    from airflow_provider_codat.hooks.commerce import CodatCommerceHook

    trigger = payout_trigger(ids, poll_interval=0.1, deadline=time.time() + 10)
    hook = CodatCommerceHook()
    assert trigger.check_now(hook) is None, "no payouts since now"
    sandbox.add_payouts(ids[1], 2)
    result = trigger.check_now(hook)
    assert result is not None and result["count"] == 2
    event = trigger.wait_now(hook)
    assert event["status"] == "done" and event["count"] == 2 and event["trigger"] == trigger.settings()
