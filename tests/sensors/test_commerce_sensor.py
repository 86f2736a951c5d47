"""``CodatPayoutSensor`` against the sandbox over loopback: poke, reschedule and deferrable modes.

The three modes also run end to end on real Airflow with ``dag.test()`` (the trigger runs inline).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)
from airflow.sdk import PokeReturnValue

from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sensors.commerce import CodatPayoutSensor, format_since, parse_since
from airflow_provider_codat.triggers.commerce import CodatPayoutTrigger

from .conftest import API_KEY, payouts_after_first_request, task_instance, this_second

C = "8a210b68-6988-11ed-a1eb-0242ac120002"
K = "7e7d2a8b-0b0f-4b1a-9f3e-5d2e4f3c2a10"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def sensor(ids: tuple[str, str] = (C, K), **kwargs: Any) -> CodatPayoutSensor:
    settings: dict[str, Any] = {"task_id": "wait_for_payouts", "poll_interval": 0.2, **kwargs}
    return CodatPayoutSensor(company_id=ids[0], connection_id=ids[1], **settings)


def context(**values: Any) -> Any:
    """The parts of a task context the sensor reads (poke mode needs no task instance)."""
    return {"data_interval_start": None, "logical_date": None, **values}


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"company_id": "acme"}, "company_id"),
        ({"connection_id": "123"}, "connection_id"),
        ({"connection_id": None}, "connection_id"),
        ({"company_id": "{" + C + "}"}, "company_id"),
        ({"connection_id": K.replace("-", "")}, "connection_id"),
        ({"connection_id": "urn:uuid:" + K}, "connection_id"),
        ({"since": "yesterday"}, "since"),
        ({"since": ""}, "since"),
        ({"since": 1714521600}, "since"),
        ({"since": "2024-13-01"}, "since"),
        ({"min_payouts": 0}, "min_payouts"),
        ({"min_payouts": -1}, "min_payouts"),
        ({"min_payouts": True}, "min_payouts"),
        ({"min_payouts": 1.5}, "min_payouts"),
        ({"min_payouts": "2"}, "min_payouts"),
        ({"max_payouts_returned": 0}, "max_payouts_returned"),
        ({"max_payouts_returned": 5001}, "max_payouts_returned"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": -5}, "poll_interval"),
        ({"poll_interval": timedelta(0)}, "poll_interval"),
        ({"poll_interval": "60"}, "poll_interval"),
        ({"max_errors": 0}, "max_errors"),
    ],
)
def test_bad_input_is_refused_at_parse_time_naming_the_parameter(kwargs: dict[str, Any], name: str) -> None:
    settings = {"company_id": C, "connection_id": K, **kwargs}
    with pytest.raises(CodatConfigError, match=f"^{name}: "):
        CodatPayoutSensor(task_id="wait", **settings)


def test_templated_values_are_checked_at_run_time_before_any_request(
    sandbox: CodatSandbox, codat_env: Callable[..., None]
) -> None:
    op = sensor(("{{ params.company }}", "{{ params.connection }}"), since="{{ params.since }}")
    assert op.template_fields == ("company_id", "connection_id", "since", "codat_conn_id")
    company, connection = sandbox.connections[0]
    for params, name in (
        ({"company": "acme", "connection": connection, "since": "2024-05-01"}, "company_id"),
        ({"company": company, "connection": connection, "since": "last tuesday"}, "since"),
    ):
        op = sensor(("{{ params.company }}", "{{ params.connection }}"), since="{{ params.since }}")
        op.render_template_fields({"params": params})  # type: ignore[arg-type]
        before = sandbox.requests_today()
        with pytest.raises(AirflowFailException, match=f"CodatConfigError: {name}: "):
            op.poke(context())
        with pytest.raises(AirflowFailException, match=f"CodatConfigError: {name}: "):
            op.execute(context())
        op.deferrable = True
        with pytest.raises(AirflowFailException, match=f"CodatConfigError: {name}: "):
            op.execute(context())
        assert sandbox.requests_today() == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 5, 1, 12, 30), datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        (
            datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        ),
        (date(2024, 5, 1), datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00.250+01:00", datetime(2024, 5, 1, 11, 30, 0, 250000, tzinfo=UTC)),
        (" 2024-05-01T12:30:00 ", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_since_accepts_datetimes_dates_and_iso_strings_naive_meaning_utc(
    value: Any, expected: datetime
) -> None:
    assert parse_since(value) == expected
    assert parse_since(value).tzinfo == UTC


def test_since_renders_as_codat_writes_dates() -> None:
    moment = datetime(2024, 5, 1, 14, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_since(moment) == "2024-05-01T12:30:05.123Z"


def test_poll_interval_is_the_poke_interval() -> None:
    assert sensor(poll_interval=7).poke_interval == 7
    assert sensor(poll_interval=timedelta(minutes=2)).poke_interval == 120
    assert CodatPayoutSensor(task_id="w", company_id=C, connection_id=K).poke_interval == 60
    assert CodatPayoutSensor(task_id="w", company_id=C, connection_id=K, poke_interval=5).poke_interval == 5


# -- poke -------------------------------------------------------------------------------------
def test_poke_is_not_done_until_enough_payouts_arrived(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    since = this_second()
    op = sensor(ids, since=since, min_payouts=2)
    before = sandbox.requests_today()
    assert op.poke(context()).is_done is False
    sandbox.add_payouts(ids[1], 1)
    assert op.poke(context()).is_done is False
    added = sandbox.add_payouts(ids[1], 2)
    result = op.poke(context())
    assert sandbox.requests_today() - before == 3, "one request per poke"
    assert isinstance(result, PokeReturnValue) and result.is_done
    value = result.xcom_value
    assert value["count"] == 3 and value["truncated"] is False
    assert [p["id"] for p in value["payouts"]][-2:] == added
    hook = CodatCommerceHook()
    for payout in value["payouts"]:
        assert set(payout) == {"id", "type", "amount", "currency", "modifiedDate", "createdDate"}
        raw = hook.get("transactions", *ids, payout["id"])
        assert Decimal(payout["amount"]) == raw["totalAmount"] and payout["type"] == "Payout"
        assert payout["modifiedDate"] == raw["modifiedDate"] and payout["createdDate"] == raw["createdDate"]
    hook.close()


def test_poke_bounds_what_it_returns_and_says_so(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    op = sensor(ids, since=LONG_AGO, include_failed=True, max_payouts_returned=4)
    value = op.poke(context()).xcom_value
    assert value["count"] > 4 and value["truncated"] is True and len(value["payouts"]) == 4
    dates = [parse_since(p["modifiedDate"]) for p in value["payouts"]]
    assert dates == sorted(dates)


def test_since_defaults_to_the_data_interval_start_then_the_logical_date(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    op = sensor(ids)
    old, now = context(data_interval_start=LONG_AGO), context(data_interval_start=this_second())
    assert op.poke(old).xcom_value["count"] > 0
    assert op.poke(now).is_done is False
    assert op.poke(context(logical_date=LONG_AGO)).is_done is True
    with pytest.raises(AirflowFailException, match="since: this run has no data interval start"):
        op.poke(context())


@pytest.mark.parametrize(
    "fault",
    [
        {"server_error": {"every": 1}},
        {"rate_limit": {"every": 1}, "retry_after_seconds": 0},
        {"drop_connection": {"every": 1}},
        {"malformed_json": {"every": 1}},
        {"not_synced": ["commerce-transactions"]},
        {"quota_exhausted": True},
    ],
    ids=["503", "429", "dropped", "malformed", "409", "daily-quota"],
)
def test_transient_errors_and_409_are_not_yet(
    sandbox: CodatSandbox,
    ids: tuple[str, str],
    codat_env: Callable[..., None],
    fault: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
) -> None:
    sandbox.set_faults(**fault)
    started = time.monotonic()
    assert sensor(ids, since=LONG_AGO).poke(context()).is_done is False
    assert time.monotonic() - started < 3, "a daily quota's Retry-After must never be slept in the worker"
    logged = capfd.readouterr().out
    assert "not yet" in logged or "Codat asks to retry at" in logged
    assert API_KEY not in logged


@pytest.mark.parametrize("kind", ["401", "403", "404", "402"])
def test_auth_forbidden_and_not_found_fail_at_once(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None], kind: str
) -> None:
    company = ids[0]
    if kind == "401":
        codat_env(password="not-the-key")
    elif kind == "404":
        company = str(uuid.uuid4())
    else:
        sandbox.set_faults(forced_error={"every": 1}, forced_error_status=int(kind))
    started = time.monotonic()
    with pytest.raises(AirflowFailException, match=f"answered {kind}") as caught:
        sensor((company, ids[1]), since=LONG_AGO).poke(context())
    assert time.monotonic() - started < 2
    assert API_KEY not in str(caught.value)


# -- execute: poke mode with timeout and soft_fail ------------------------------------------
def test_poke_mode_times_out_and_soft_fail_skips(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    with pytest.raises(AirflowSensorTimeout):
        sensor(ids, since=this_second(), timeout=0.5).execute(context())
    with pytest.raises(AirflowSkipException):
        sensor(ids, since=this_second(), timeout=0.5, soft_fail=True).execute(context())
    codat_env(password="not-the-key")
    with pytest.raises(AirflowSkipException):
        sensor(ids, since=this_second(), soft_fail=True).execute(context())


# -- deferrable -------------------------------------------------------------------------------
def test_deferrable_execute_checks_once_then_defers_to_the_trigger(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    tomorrow = this_second() + timedelta(days=1)
    op = sensor(
        ids,
        since=tomorrow,
        deferrable=True,
        include_failed=True,
        min_payouts=3,
        max_payouts_returned=10,
        timeout=120,
        exponential_backoff=True,
        max_wait=30,
        max_errors=7,
    )
    before, started = sandbox.requests_today(), time.time()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context())
    assert sandbox.requests_today() - before == 1, "one check in the worker, then the triggerer's"
    trigger = deferred.value.trigger
    assert isinstance(trigger, CodatPayoutTrigger) and deferred.value.method_name == "execute_complete"
    settings = trigger.serialize()[1]
    assert started + 120 <= settings.pop("deadline") <= time.time() + 120
    assert settings == {
        "company_id": ids[0],
        "connection_id": ids[1],
        "since": format_since(tomorrow),
        "include_failed": True,
        "min_payouts": 3,
        "max_payouts_returned": 10,
        "codat_conn_id": "codat_default",
        "poll_interval": 0.2,
        "max_poll_interval": 30.0,
        "max_errors": 7,
    }


def test_deferrable_execute_returns_at_once_when_the_first_check_finds_enough(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    since = this_second()
    sandbox.add_payouts(ids[1], 2)
    assert sensor(ids, since=since, deferrable=True, min_payouts=2).execute(context())["count"] == 2


def test_execute_complete_finishes_times_out_or_checks_again_from_the_worker(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None]
) -> None:
    op = sensor(ids, since=this_second(), deferrable=True, timeout=30)
    trigger = op.build_trigger(context(), time.time() + 30)
    payouts = {"count": 1, "truncated": False, "payouts": [{"id": "txn_9", "amount": "-1.50"}]}
    assert op.execute_complete(context(), trigger.event("done", **payouts)) == payouts
    with pytest.raises(AirflowSensorTimeout, match="fewer than 1"):
        op.execute_complete(context(), trigger.event("timeout", message="fewer than 1 payout(s)"))
    with pytest.raises(AirflowException, match="unexpected event"):
        op.execute_complete(context(), None)  # type: ignore[arg-type]

    handed_back = trigger.event("error", message="CodatServerError: 503 (5 in a row)", retryable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute_complete(context(), handed_back)
    assert deferred.value.trigger.serialize() == trigger.serialize(), "still none: waits on, same deadline"
    sandbox.add_payouts(ids[1], 1)
    assert op.execute_complete(context(), handed_back)["count"] == 1, "the worker's check found it"
    codat_env(password="not-the-key")
    with pytest.raises(AirflowFailException, match="401"):
        sensor(ids, since=this_second(), deferrable=True).execute_complete(context(), handed_back)

    skipping = sensor(ids, since=this_second(), deferrable=True, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        skipping.resume_execution(
            "execute_complete", {"event": trigger.event("timeout", message="late")}, context()
        )


# -- end to end on real Airflow ---------------------------------------------------------------
@pytest.mark.timeout(60)
def test_dag_poke_mode_with_templated_fields(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None], run_dag: Callable[..., Any]
) -> None:
    since = this_second().isoformat()
    body = (
        'CodatPayoutSensor(task_id="wait_for_payouts", company_id="{{ params.company }}", '
        'connection_id="{{ params.connection }}", since="{{ params.since }}", min_payouts=2, '
        f"poll_interval=0.3, timeout=30, params={{'company': {ids[0]!r}, 'connection': {ids[1]!r}, "
        f"'since': {since!r}}})"
    )
    with payouts_after_first_request(sandbox, ids[1], 2):
        run = run_dag("codat_payouts_poke", body)
    state, value, reschedules = task_instance(run, "wait_for_payouts")
    assert run.state == "success" and state == "success" and reschedules == 0
    assert value["count"] == 2 and len(value["payouts"]) == 2


@pytest.mark.timeout(60)
def test_dag_reschedule_mode(
    sandbox: CodatSandbox, ids: tuple[str, str], codat_env: Callable[..., None], run_dag: Callable[..., Any]
) -> None:
    body = (
        f'CodatPayoutSensor(task_id="wait_for_payouts", company_id={ids[0]!r}, connection_id={ids[1]!r}, '
        f'since={this_second().isoformat()!r}, mode="reschedule", poll_interval=0.5, timeout=30)'
    )
    with payouts_after_first_request(sandbox, ids[1], 1):
        run = run_dag("codat_payouts_reschedule", body)
    state, value, reschedules = task_instance(run, "wait_for_payouts")
    assert run.state == "success" and state == "success"
    assert reschedules >= 1, "the first poke found nothing and gave the worker slot back"
    assert value["count"] == 1


@pytest.mark.timeout(60)
def test_dag_deferrable_mode_defers_then_completes(
    sandbox: CodatSandbox,
    ids: tuple[str, str],
    codat_env: Callable[..., None],
    run_dag: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = (
        f'CodatPayoutSensor(task_id="wait_for_payouts", company_id={ids[0]!r}, connection_id={ids[1]!r}, '
        "deferrable=True, poll_interval=0.3, timeout=30, min_payouts=3)"
    )
    with payouts_after_first_request(sandbox, ids[1], 3), caplog.at_level(logging.INFO):
        run = run_dag("codat_payouts_deferrable", body)
    state, value, _ = task_instance(run, "wait_for_payouts")
    assert run.state == "success" and state == "success"
    assert "running trigger in line" in caplog.text, "the sensor deferred to its trigger"
    assert value["count"] == 3 and value["truncated"] is False
    assert all(parse_since(p["modifiedDate"]) >= run.data_interval_start for p in value["payouts"])
