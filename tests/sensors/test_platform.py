"""``CodatDataSyncSensor`` against the sandbox: poke, reschedule and deferrable modes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_codat.airflow_errors import CodatRetryPolicy
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sensors.platform import CodatDataSyncSensor
from airflow_provider_codat.triggers.platform import CodatDataSyncTrigger
from airflow_provider_codat.version_compat import AirflowRescheduleException
from tests.airflow_versions import needs_retry_policies
from tests.commerce_fixtures import fire, queue, wait_quiet

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_refresh_outlives_the_test(sandbox: CodatSandbox, codat_env: Callable[..., None]) -> Iterator[None]:
    """``codat_default`` on the sandbox; dataStatus is the company's, so no refresh outlives a test."""
    yield
    sandbox.reset_faults()
    wait_quiet(sandbox)


class FakeTI:
    """What reschedule mode asks of the task instance."""

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return None


class FakeRun:
    def __init__(self, run_after: datetime) -> None:
        self.run_after = run_after


def context(interval_end: datetime | None = None, run_after: datetime | None = None) -> dict[str, Any]:
    return {
        "data_interval_end": interval_end,
        "dag_run": FakeRun(run_after) if run_after else None,
        "ti": FakeTI(),
    }


def sensor(ids: tuple[str, str], **kwargs: Any) -> CodatDataSyncSensor:
    kwargs.setdefault("data_types", "orders")
    kwargs.setdefault("poke_interval", 0.05)
    kwargs.setdefault("timeout", 10)
    return CodatDataSyncSensor(task_id="synced", company_id=ids[0], **kwargs)


def execute(task: CodatDataSyncSensor, ctx: dict[str, Any]) -> None:
    """Run the sensor as Airflow would, its trigger included."""
    try:
        task.execute(ctx)
    except TaskDeferred as deferred:
        assert isinstance(deferred.trigger, CodatDataSyncTrigger)
        task.execute_complete(ctx, event=fire(deferred.trigger))


# -- arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"company_id": "acme"}, "company_id"),
        ({"data_types": "refunds"}, "data_types"),
        ({"data_types": []}, "data_types"),
        ({"poke_interval": 0}, "poke_interval"),
        ({"poke_interval": timedelta(0)}, "poke_interval"),
        ({"poke_interval": -1}, "poke_interval"),
        ({"synced_after": "yesterday"}, "synced_after"),
        ({"not_supported": "maybe"}, "not_supported"),
    ],
)
def test_bad_arguments_are_refused_at_parse_time_naming_the_parameter(
    kwargs: dict[str, Any], named: str
) -> None:
    args: dict[str, Any] = {
        "company_id": "8a210b68-6988-11ed-a1eb-0242ac120002",
        "data_types": "orders",
        **kwargs,
    }
    with pytest.raises(CodatConfigError, match=f"^{named}:"):
        CodatDataSyncSensor(task_id="synced", **args)


@pytest.mark.parametrize(
    ("rendered", "named"),
    [({"company_id": "acme"}, "company_id"), ({"synced_after": "soon"}, "synced_after")],
)
def test_templated_arguments_are_checked_once_rendered_before_any_request(
    sandbox: CodatSandbox, ids: tuple[str, str], rendered: dict[str, Any], named: str
) -> None:
    task = CodatDataSyncSensor(
        task_id="synced",
        company_id="{{ params.company }}",
        data_types="{{ params.kind }}",
        synced_after="{{ data_interval_start }}",
    )
    task.company_id, task.data_types, task.synced_after = ids[0], "orders", LONG_AGO.isoformat()
    for name, value in rendered.items():
        setattr(task, name, value)
    before = sandbox.requests_today()
    with pytest.raises(AirflowFailException, match=named):
        task.poke(context())
    assert sandbox.requests_today() == before


def test_defaults_and_template_fields() -> None:
    task = CodatDataSyncSensor(
        task_id="synced", company_id="8a210b68-6988-11ed-a1eb-0242ac120002", data_types="orders"
    )
    assert task.template_fields == ("company_id", "data_types", "synced_after")
    assert (task.synced_after, task.deferrable, task.poke_interval, task.mode) == (None, False, 60, "poke")
    assert task.not_supported == "skip"


@needs_retry_policies
def test_codat_times_the_retries_through_the_default_retry_policy() -> None:
    task = CodatDataSyncSensor(
        task_id="synced", company_id="8a210b68-6988-11ed-a1eb-0242ac120002", data_types="orders"
    )
    assert isinstance(task.retry_policy, CodatRetryPolicy)


# -- what counts as synced ------------------------------------------------------------------------
def test_only_a_sync_that_ended_after_the_moment_counts(sandbox: CodatSandbox, ids: tuple[str, str]) -> None:
    before = sandbox.requests_today()
    assert (
        sensor(ids, data_types=["orders", "products"], synced_after=LONG_AGO).poke(context()).is_done is True
    )
    assert sandbox.requests_today() == before + 1  # one dataStatus read
    assert sensor(ids, synced_after=datetime.now(UTC)).poke(context()).is_done is False


def test_synced_after_defaults_to_the_data_interval_end_then_run_after(
    sandbox: CodatSandbox, ids: tuple[str, str]
) -> None:
    task = sensor(ids)
    assert task.poke(context(interval_end=LONG_AGO)).is_done is True
    assert task.poke(context(run_after=LONG_AGO)).is_done is True
    assert task.poke(context(run_after=datetime.now(UTC))).is_done is False
    with pytest.raises(AirflowFailException, match="synced_after"):
        task.poke(context())


def test_a_failure_from_before_the_moment_is_not_this_runs(
    sandbox: CodatSandbox, ids: tuple[str, str]
) -> None:
    sandbox.set_faults(sync_seconds=0.1, pull_outcome={"commerce-orders": "FetchError"})
    queue("orders", ids)
    wait_quiet(sandbox)
    task = sensor(ids, synced_after=datetime.now(UTC) + timedelta(milliseconds=1))
    assert task.poke(context()).is_done is False
    assert sensor(ids, synced_after=LONG_AGO).poke(context()).is_done is True  # the seeded sync still counts


# -- modes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
def test_waits_calmly_for_a_refresh_of_seconds(
    sandbox: CodatSandbox, ids: tuple[str, str], deferrable: bool
) -> None:
    sandbox.set_faults(sync_seconds=1.2)
    after = datetime.now(UTC)
    queue("customers", ids)
    before, started = sandbox.requests_today(), time.monotonic()
    execute(sensor(ids, data_types="customers", poke_interval=0.3, deferrable=deferrable), context(after))
    elapsed, calls = time.monotonic() - started, sandbox.requests_today() - before
    assert 1.0 <= elapsed < 3
    assert 3 <= calls <= 7  # one dataStatus read per 0.3 s: no busy loop


def test_reschedule_mode_frees_the_worker_until_synced(sandbox: CodatSandbox, ids: tuple[str, str]) -> None:
    sandbox.set_faults(sync_seconds=0.4)
    after = datetime.now(UTC)
    queue("locations", ids)
    task = sensor(ids, data_types="locations", mode="reschedule", poke_interval=0.2)
    with pytest.raises(AirflowRescheduleException) as rescheduled:
        task.execute(context(after))
    assert rescheduled.value.reschedule_date > datetime.now(UTC)
    wait_quiet(sandbox)
    assert task.execute(context(after)) is None


def test_deferrable_does_not_defer_when_already_synced(sandbox: CodatSandbox, ids: tuple[str, str]) -> None:
    before = sandbox.requests_today()
    assert sensor(ids, deferrable=True).execute(context(LONG_AGO)) is None
    assert sandbox.requests_today() == before + 1


def test_deferrable_times_out_as_a_sensor(sandbox: CodatSandbox, ids: tuple[str, str]) -> None:
    task = sensor(ids, deferrable=True, timeout=0.3)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context(datetime.now(UTC)))
    event = fire(deferred.value.trigger)
    assert event["status"] == "timeout"
    with pytest.raises(AirflowSensorTimeout, match="commerce-orders"):
        task.execute_complete(context(), event=event)


def test_after_a_trigger_error_the_worker_checks_again(sandbox: CodatSandbox, ids: tuple[str, str]) -> None:
    after = datetime.now(UTC)
    task = sensor(ids, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context(after))
    sandbox.set_faults(forced_error={"every": 1}, forced_error_status=403)
    event = fire(deferred.value.trigger)
    assert event["status"] == "error" and "CodatForbiddenError" in event["message"]
    with pytest.raises(AirflowFailException, match="CodatForbiddenError"):
        task.execute_complete(context(after), event=event)
    sandbox.reset_faults()
    with pytest.raises(TaskDeferred):  # healthy again but not synced yet: back to the triggerer
        task.execute_complete(context(after), event=event)
    sandbox.set_faults(sync_seconds=0.1)
    queue("orders", ids)
    wait_quiet(sandbox)
    assert task.execute_complete(context(after), event=event) is None


# -- terminal statuses ----------------------------------------------------------------------------
OUTCOMES: list[tuple[str, str, type[BaseException], str]] = [
    ("NotSupported", "skip", AirflowSkipException, "does not support commerce-orders"),
    ("NotSupported", "fail", AirflowFailException, "not_supported='fail'"),
    ("AuthError", "skip", AirflowFailException, "relink the data connection"),
    ("PermissionsError", "skip", AirflowFailException, "relink the data connection"),
    ("Cancelled", "skip", AirflowFailException, "commerce-orders: Cancelled"),
    ("PrerequisiteNotMet", "skip", AirflowFailException, "commerce-orders: PrerequisiteNotMet"),
    ("FetchError", "skip", AirflowException, "retrying may help"),
    ("RateLimitError", "skip", AirflowException, "retrying may help"),
]


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
@pytest.mark.parametrize("outcome", OUTCOMES, ids=[f"{o[0]}-{o[1]}" for o in OUTCOMES])
def test_a_refresh_that_ended_badly_after_the_moment_maps_onto_airflow(
    sandbox: CodatSandbox, ids: tuple[str, str], deferrable: bool, outcome: tuple[Any, ...]
) -> None:
    status, not_supported, raises, says = outcome
    sandbox.set_faults(sync_seconds=0.2, pull_outcome={"commerce-orders": status})
    after = datetime.now(UTC)
    op_id = queue("orders", ids)
    task = sensor(ids, deferrable=deferrable, not_supported=not_supported)
    with pytest.raises(raises, match=says) as caught:
        execute(task, context(after))
    assert type(caught.value) is raises
    if raises is not AirflowSkipException:
        assert f"[pull operation {op_id}]" in str(caught.value)
