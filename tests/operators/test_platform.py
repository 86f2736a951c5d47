"""``CodatRefreshDataOperator`` on the sandbox: queue, adopt, wait in worker or triggerer, map statuses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_codat.airflow_errors import CodatRetryLater, CodatRetryPolicy
from airflow_provider_codat.exceptions import CodatConfigError, CodatNotSyncedError
from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.operators.platform import CodatRefreshDataOperator
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.triggers.platform import CodatPullOperationTrigger
from tests.airflow_versions import AIRFLOW_V_3_2_PLUS, AIRFLOW_V_3_3_PLUS, needs_retry_policies
from tests.commerce_fixtures import FAST, fire, wait_quiet

UNKNOWN_COMPANY = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture(scope="module")
def sb(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    return codat_sandboxes(companies=1, connections=2, records=5)


def point_at(sb: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", sb.airflow_connection(extra=FAST))


@pytest.fixture
def ids(sb: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """``(company, connection)`` with ``codat_default`` on the sandbox; no refresh outlives the test."""
    point_at(sb, monkeypatch)
    yield sb.connections[0]
    sb.reset_faults()
    wait_quiet(sb)


def refresh(ids: tuple[str, str], **kwargs: Any) -> CodatRefreshDataOperator:
    kwargs.setdefault("data_types", "orders")
    kwargs.setdefault("poll_interval", 0.05)
    return CodatRefreshDataOperator(task_id="refresh", company_id=ids[0], connection_id=ids[1], **kwargs)


def execute(op: CodatRefreshDataOperator) -> Any:
    """Run the operator as Airflow would, triggers included; return its XCom value."""
    try:
        return op.execute({})
    except TaskDeferred as deferred:
        assert isinstance(deferred.trigger, CodatPullOperationTrigger)
        assert deferred.method_name == "execute_complete"
        return op.execute_complete({}, event=fire(deferred.trigger))


# -- arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"company_id": "acme"}, "company_id"),
        ({"connection_id": "shop-1"}, "connection_id"),
        ({"data_types": "refunds"}, "data_types"),
        ({"data_types": ["orders", "refunds"]}, "data_types"),
        ({"data_types": []}, "data_types"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": -5}, "poll_interval"),
        ({"poll_interval": True}, "poll_interval"),
        ({"timeout": 0}, "timeout"),
        ({"not_supported": "ignore"}, "not_supported"),
    ],
)
def test_bad_arguments_are_refused_at_parse_time_naming_the_parameter(
    kwargs: dict[str, Any], named: str
) -> None:
    args: dict[str, Any] = {
        "company_id": "8a210b68-6988-11ed-a1eb-0242ac120002",
        "connection_id": "51baa045-4836-4317-a42e-3542e991e581",
        "data_types": "orders",
        **kwargs,
    }
    with pytest.raises(CodatConfigError, match=f"^{named}:"):
        CodatRefreshDataOperator(task_id="refresh", **args)


@pytest.mark.parametrize(
    ("rendered", "named"),
    [
        ({"company_id": "acme"}, "company_id"),
        ({"connection_id": "shop-1"}, "connection_id"),
        ({"data_types": ["orders", "refunds"]}, "data_types"),
    ],
)
def test_templated_arguments_are_checked_once_rendered_before_any_request(
    sb: CodatSandbox, ids: tuple[str, str], rendered: dict[str, Any], named: str
) -> None:
    op = CodatRefreshDataOperator(
        task_id="refresh",
        company_id="{{ params.company }}",
        connection_id="{{ params.connection }}",
        data_types=["orders", "{{ params.kind }}"],
    )
    op.company_id, op.connection_id, op.data_types = ids[0], ids[1], ["orders"]
    for name, value in rendered.items():
        setattr(op, name, value)
    before = sb.requests_today()
    with pytest.raises(AirflowFailException, match=f"CodatConfigError: {named}:"):
        op.execute({})
    assert sb.requests_today() == before


def test_defaults_and_template_fields() -> None:
    op = CodatRefreshDataOperator(
        task_id="refresh", company_id="8a210b68-6988-11ed-a1eb-0242ac120002", data_types="orders"
    )
    assert op.template_fields == ("company_id", "connection_id", "data_types")
    assert (op.wait_for_completion, op.poll_interval, op.timeout, op.deferrable) == (False, 10, 3600, False)
    assert (op.not_supported, op.codat_conn_id, op.connection_id) == ("skip", "codat_default", None)


@needs_retry_policies
def test_codat_times_the_retries_through_the_default_retry_policy() -> None:
    op = CodatRefreshDataOperator(
        task_id="refresh", company_id="8a210b68-6988-11ed-a1eb-0242ac120002", data_types="orders"
    )
    assert isinstance(op.retry_policy, CodatRetryPolicy)


def _every_codat_task() -> list[Any]:
    from airflow_provider_codat.operators.commerce import CodatListOrdersOperator
    from airflow_provider_codat.sensors.commerce import CodatPayoutSensor
    from airflow_provider_codat.sensors.platform import CodatDataSyncSensor

    ids = {"company_id": "8a210b68-6988-11ed-a1eb-0242ac120002"}
    connection = {"connection_id": "51baa045-4836-4317-a42e-3542e991e581"}
    return [
        lambda **kw: CodatListOrdersOperator(task_id="t", **ids, **connection, **kw),
        lambda **kw: CodatRefreshDataOperator(task_id="t", data_types="orders", **ids, **kw),
        lambda **kw: CodatDataSyncSensor(task_id="t", data_types="orders", **ids, **kw),
        lambda **kw: CodatPayoutSensor(task_id="t", **ids, **connection, **kw),
    ]


@pytest.mark.parametrize("build", _every_codat_task(), ids=["list", "refresh", "data-sync", "payouts"])
def test_every_codat_task_has_the_documented_retry_defaults(build: Any) -> None:
    task = build()
    backoff = 2.0 if AIRFLOW_V_3_2_PLUS else True  # a flag before 3.2, a multiplier since
    assert (task.retries, task.retry_delay, task.retry_exponential_backoff) == (
        3,
        timedelta(minutes=1),
        backoff,
    )
    if AIRFLOW_V_3_3_PLUS:
        assert isinstance(task.retry_policy, CodatRetryPolicy)
    own = build(retries=0, retry_delay=timedelta(seconds=5))
    assert (own.retries, own.retry_delay) == (0, timedelta(seconds=5))


# -- queueing -------------------------------------------------------------------------------------
def test_queues_each_type_and_returns_pull_operation_ids_without_waiting(
    sb: CodatSandbox, ids: tuple[str, str]
) -> None:
    sb.set_faults(sync_seconds=4)
    result = execute(refresh(ids, data_types=["orders", "commerce-payments", "company_info", "orders"]))
    assert list(result) == ["commerce-orders", "commerce-payments", "commerce-companyInfo"]
    hook = CodatCommerceHook()
    status = hook.get_data_status(ids[0])
    for data_type, op_id in result.items():
        assert status[data_type]["latestSyncId"] == op_id
        op = hook.get_pull_operation(ids[0], op_id)
        assert op["connectionId"] == ids[1]
        assert not op["isCompleted"], "the task returned without waiting for the 4 s refresh"
    hook.close()


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferrable"])
def test_adopts_a_refresh_already_running_and_waits_on_it(
    sb: CodatSandbox, ids: tuple[str, str], deferrable: bool
) -> None:
    sb.set_faults(sync_seconds=0.6)
    hook = CodatCommerceHook()
    running = hook.refresh_data_type(ids[0], "customers", ids[1])["id"]
    hook.close()
    started = time.monotonic()
    result = execute(
        refresh(ids, data_types=["customers", "products"], wait_for_completion=True, deferrable=deferrable)
    )
    assert result["commerce-customers"] == running and result["commerce-products"] != running
    assert time.monotonic() - started >= 0.4


def test_adopts_a_running_refresh_without_waiting(sb: CodatSandbox, ids: tuple[str, str]) -> None:
    sb.set_faults(sync_seconds=0.5)
    hook = CodatCommerceHook()
    running = hook.refresh_data_type(ids[0], "locations", ids[1])["id"]
    hook.close()
    assert execute(refresh(ids, data_types="locations")) == {"commerce-locations": running}


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferrable"])
def test_adopts_the_refresh_of_its_own_connection_not_a_later_one_of_another(
    sb: CodatSandbox, ids: tuple[str, str], deferrable: bool
) -> None:
    """The issue's reproduction: X's refresh runs long, Y's (queued later) ends first."""
    (company, x), (_, y) = sb.connections[:2]
    hook = CodatCommerceHook()
    sb.set_faults(sync_seconds=2)
    own = hook.refresh_data_type(company, "orders", x)["id"]
    sb.set_faults(sync_seconds=0.2)
    other = hook.refresh_data_type(company, "orders", y)["id"]
    started = time.monotonic()
    result = execute(refresh((company, x), wait_for_completion=True, deferrable=deferrable))
    assert result == {"commerce-orders": own} and other != own
    assert hook.get_pull_operation(company, own)["status"] == "Complete"
    assert time.monotonic() - started >= 1.2  # waited for X, not for Y
    hook.close()


def test_a_failure_of_its_own_connection_fails_the_task_while_another_succeeds(
    sb: CodatSandbox, ids: tuple[str, str]
) -> None:
    (company, x), (_, y) = sb.connections[:2]
    sb.set_faults(
        per_connection={
            x: {"sync_seconds": 0.6, "pull_outcome": {"*": "FetchError"}},
            y: {"sync_seconds": 0.2, "pull_outcome": {"*": "Complete"}},
        }
    )
    hook = CodatCommerceHook()
    own = hook.refresh_data_type(company, "payments", x)["id"]
    hook.refresh_data_type(company, "payments", y)
    hook.close()
    with pytest.raises(AirflowException, match="retrying may help") as caught:
        execute(refresh((company, x), data_types="payments", wait_for_completion=True))
    assert type(caught.value) is AirflowException
    assert "commerce-payments: FetchError" in str(caught.value) and own in str(caught.value)


@pytest.mark.parametrize(("slow_outcome", "raises"), [("Complete", None), ("FetchError", AirflowException)])
@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferrable"])
def test_without_a_connection_id_it_waits_for_every_connection(
    sb: CodatSandbox,
    ids: tuple[str, str],
    deferrable: bool,
    slow_outcome: str,
    raises: type[BaseException] | None,
) -> None:
    (company, x), (_, y) = sb.connections[:2]
    sb.set_faults(
        per_connection={
            x: {"sync_seconds": 0.1},
            y: {"sync_seconds": 0.8, "pull_outcome": {"*": slow_outcome}},
        }
    )
    op = CodatRefreshDataOperator(
        task_id="refresh",
        company_id=company,
        data_types="disputes",
        wait_for_completion=True,
        poll_interval=0.05,
        deferrable=deferrable,
    )
    started = time.monotonic()
    if raises is None:
        assert list(execute(op)) == ["commerce-disputes"]
        assert time.monotonic() - started >= 0.7  # the slower connection ended too
        return
    with pytest.raises(raises, match=f"connection {y}") as caught:
        execute(op)
    assert type(caught.value) is raises and "commerce-disputes: FetchError" in str(caught.value)


def test_without_a_connection_id_it_adopts_every_running_refresh(
    sb: CodatSandbox, ids: tuple[str, str]
) -> None:
    (company, x), (_, y) = sb.connections[:2]
    sb.set_faults(per_connection={x: {"sync_seconds": 1.2}, y: {"sync_seconds": 0.2}})
    hook = CodatCommerceHook()
    slow = hook.refresh_data_type(company, "customers", x)["id"]
    fast = hook.refresh_data_type(company, "customers", y)["id"]
    started = time.monotonic()
    op = CodatRefreshDataOperator(
        task_id="refresh",
        company_id=company,
        data_types="customers",
        wait_for_completion=True,
        poll_interval=0.05,
    )
    assert execute(op)["commerce-customers"] in (slow, fast)
    assert time.monotonic() - started >= 0.9  # the slow one ended too
    assert hook.get_pull_operation(company, slow)["status"] == "Complete"
    hook.close()


# -- waiting --------------------------------------------------------------------------------------
@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferrable"])
def test_waits_calmly_for_a_refresh_of_seconds(
    sb: CodatSandbox, ids: tuple[str, str], deferrable: bool
) -> None:
    sb.set_faults(sync_seconds=1.2)
    before, started = sb.requests_today(), time.monotonic()
    result = execute(refresh(ids, wait_for_completion=True, poll_interval=0.3, deferrable=deferrable))
    elapsed, calls = time.monotonic() - started, sb.requests_today() - before
    assert list(result) == ["commerce-orders"]
    assert 1.1 <= elapsed < 3
    assert 4 <= calls <= 7  # one queue call, then a poll every 0.3 s: no busy loop


OUTCOMES: list[tuple[str, str, type[BaseException] | None, str]] = [
    ("Complete", "skip", None, ""),
    ("NotSupported", "skip", AirflowSkipException, "does not support commerce-orders"),
    ("NotSupported", "fail", AirflowFailException, "not_supported='fail'"),
    ("AuthError", "skip", AirflowFailException, "relink the data connection"),
    ("PermissionsError", "skip", AirflowFailException, "relink the data connection"),
    ("Cancelled", "skip", AirflowFailException, "commerce-orders: Cancelled"),
    ("PrerequisiteNotMet", "skip", AirflowFailException, "commerce-orders: PrerequisiteNotMet"),
    ("FetchError", "skip", AirflowException, "retrying may help"),
    ("MapError", "skip", AirflowException, "retrying may help"),
    ("InternalError", "skip", AirflowException, "retrying may help"),
    ("ProcessingError", "skip", AirflowException, "retrying may help"),
    ("ValidationError", "skip", AirflowException, "retrying may help"),
    ("RateLimitError", "skip", AirflowException, "retrying may help"),
]


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferrable"])
@pytest.mark.parametrize("outcome", OUTCOMES, ids=[f"{o[0]}-{o[1]}" for o in OUTCOMES])
def test_terminal_status_maps_onto_airflow(
    sb: CodatSandbox, ids: tuple[str, str], deferrable: bool, outcome: tuple[Any, ...]
) -> None:
    status, not_supported, raises, says = outcome
    sb.set_faults(sync_seconds=0.1, pull_outcome={"commerce-orders": status})
    op = refresh(ids, wait_for_completion=True, deferrable=deferrable, not_supported=not_supported)
    if raises is None:
        assert list(execute(op)) == ["commerce-orders"]
        return
    with pytest.raises(raises, match=says) as caught:
        execute(op)
    assert type(caught.value) is raises  # AirflowException alone: the task's retries apply
    if raises is not AirflowSkipException:
        assert f"commerce-orders: {status} (Sandbox forced {status})" in str(caught.value)


def test_with_several_types_not_supported_only_skips_when_none_is_supported(
    sb: CodatSandbox, ids: tuple[str, str]
) -> None:
    sb.set_faults(sync_seconds=0.2, pull_outcome={"commerce-disputes": "NotSupported"})
    result = execute(refresh(ids, data_types=["orders", "disputes"], wait_for_completion=True))
    assert list(result) == ["commerce-orders", "commerce-disputes"]
    wait_quiet(sb)
    sb.set_faults(pull_outcome={"*": "NotSupported"})
    with pytest.raises(AirflowSkipException, match=r"commerce-orders: NotSupported.*commerce-disputes"):
        execute(refresh(ids, data_types=["orders", "disputes"], wait_for_completion=True))


def test_with_several_types_the_most_severe_failure_wins(sb: CodatSandbox, ids: tuple[str, str]) -> None:
    # Both refreshes have ended when queued (sync_seconds=0). With a delay the waiting stops at the first
    # failure seen (fail fast), so a stall between the two queue calls, as under load, let the FetchError
    # end the wait alone, before the AuthError existed: a retryable failure, and a flaky test.
    sb.set_faults(
        sync_seconds=0,
        pull_outcome={"commerce-orders": "FetchError", "commerce-payments": "AuthError"},
    )
    says = r"commerce-payments: AuthError.*commerce-orders: FetchError"
    with pytest.raises(AirflowFailException, match=says):
        execute(refresh(ids, data_types=["orders", "payments"], wait_for_completion=True))


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferrable"])
def test_a_refresh_still_running_at_the_timeout_is_a_retryable_failure(
    sb: CodatSandbox, ids: tuple[str, str], deferrable: bool
) -> None:
    sb.set_faults(sync_seconds=0.8)
    op = refresh(ids, data_types="transactions", wait_for_completion=True, timeout=0.3, deferrable=deferrable)
    started = time.monotonic()
    with pytest.raises(AirflowException, match="commerce-transactions") as caught:
        execute(op)
    assert type(caught.value) is AirflowException and "timeout=0.3s" in str(caught.value)
    assert time.monotonic() - started < 0.9


def test_a_task_retry_adopts_the_refresh_still_running(
    sb: CodatSandbox, ids: tuple[str, str], dag_test: Any
) -> None:
    """On real Airflow: the first try times out, the default task retries adopt the running refresh."""
    from airflow.models import TaskInstance
    from airflow.sdk import DAG
    from airflow.utils.session import create_session

    # The refresh ends at 15 s: after the first try's 10 s, within the second's (it starts at 11 to 14 s).
    sb.set_faults(sync_seconds=15)
    with DAG(
        f"codat_refresh_retry_{datetime.now(UTC):%H%M%S%f}", schedule=None, start_date=datetime(2025, 1, 1)
    ) as dag:
        refresh(
            ids,
            data_types="product_categories",
            wait_for_completion=True,
            timeout=10,
            poll_interval=0.2,
            retry_delay=timedelta(seconds=1),
        )
    run = dag_test(dag)
    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run.run_id).one()
        state, tries, result = str(ti.state), ti.try_number, ti.xcom_pull(task_ids="refresh")
    ops = [
        op
        for op in sb.world.pull_operations.values()
        if op.data_type == "commerce-productCategories" and op.connection_id == ids[1]
    ]
    assert (state, tries) == ("success", 2)
    assert len(ops) == 1 and result == {"commerce-productCategories": ops[0].id}


# -- Codat errors ---------------------------------------------------------------------------------
def test_codat_errors_go_through_to_airflow(sb: CodatSandbox, ids: tuple[str, str]) -> None:
    with pytest.raises(AirflowFailException, match="CodatNotFoundError"):
        execute(refresh((UNKNOWN_COMPANY, ids[1])))
    sb.set_faults(forced_error={"every": 1, "path_contains": "/data/queue"}, forced_error_status=403)
    with pytest.raises(AirflowFailException, match="CodatForbiddenError"):
        execute(refresh(ids))
    sb.set_faults(forced_error={"every": 0}, server_error={"every": 1, "path_contains": "/data/queue"})
    with pytest.raises(AirflowException, match="CodatServerError") as caught:
        execute(refresh(ids))
    assert type(caught.value) is AirflowException
    sb.set_faults(server_error={"every": 0}, quota_exhausted=True)
    with pytest.raises(CodatRetryLater, match="CodatRateLimitError"):
        execute(refresh(ids))


def test_after_a_trigger_error_the_worker_repeats_the_call(sb: CodatSandbox, ids: tuple[str, str]) -> None:
    sb.set_faults(sync_seconds=0.2)
    op = refresh(ids, wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    sb.set_faults(forced_error={"every": 1, "path_contains": "/data/history"}, forced_error_status=403)
    event = fire(deferred.value.trigger)
    assert event["status"] == "error"
    with pytest.raises(AirflowFailException, match="CodatForbiddenError"):
        op.execute_complete({}, event=event)
    sb.reset_faults()
    wait_quiet(sb)
    assert list(op.execute_complete({}, event=event)) == ["commerce-orders"]


def test_a_spent_daily_quota_retries_the_task_when_codat_says(sb: CodatSandbox, ids: tuple[str, str]) -> None:
    sb.set_faults(sync_seconds=0.2)
    op = refresh(ids, wait_for_completion=True, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({})
    sb.set_faults(quota_exhausted=True)
    started = time.monotonic()
    event = fire(deferred.value.trigger)
    assert event["status"] == "error" and event["errors"] == 1 and "CodatRateLimitError" in event["message"]
    assert time.monotonic() - started < 1  # Retry-After is hours away, past the deadline: no waiting
    with pytest.raises(CodatRetryLater) as later:
        op.execute_complete({}, event=event)
    assert later.value.retry_at > datetime.now(UTC) + timedelta(minutes=1)


# -- dag.test(): refresh, wait, then read ---------------------------------------------------------
DAG_FILE = '''
"""Refresh a data type, wait for it, then read it (written by tests/operators/test_platform.py)."""

from datetime import datetime

from airflow.sdk import dag, task

from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.operators.platform import CodatRefreshDataOperator
from airflow_provider_codat.sensors.platform import CodatDataSyncSensor

PARAMS = {{"company": {company!r}, "connection": {connection!r}}}


def refresh_then_read(dag_id, resource, *, wait, deferrable, sensor):
    @dag(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), params=PARAMS)
    def pipeline():
        refresh = CodatRefreshDataOperator(
            task_id="refresh",
            company_id="{{{{ params.company }}}}",
            connection_id="{{{{ params.connection }}}}",
            data_types=resource,
            wait_for_completion=wait,
            poll_interval=0.2,
            deferrable=deferrable,
        )

        @task
        def extract(params=None):
            hook = CodatCommerceHook()
            return sum(1 for _ in hook.list(resource, params["company"], params["connection"]))

        if sensor:
            synced = CodatDataSyncSensor(
                task_id="synced",
                company_id="{{{{ params.company }}}}",
                data_types=[resource],
                poke_interval=0.2,
                timeout=30,
                deferrable=deferrable,
            )
            refresh >> synced >> extract()
        else:
            refresh >> extract()

    return pipeline()


worker = refresh_then_read("codat_refresh_worker", "orders", wait=True, deferrable=False, sensor=False)
triggerer = refresh_then_read("codat_refresh_deferred", "payments", wait=True, deferrable=True, sensor=False)
sensed = refresh_then_read("codat_refresh_sensed", "customers", wait=False, deferrable=False, sensor=True)
sensed_deferred = refresh_then_read(
    "codat_refresh_sensed_deferred", "products", wait=False, deferrable=True, sensor=True
)
'''
RECORDS = 5


@pytest.fixture(scope="module")
def dag_module(
    airflow_db: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, CodatSandbox]]:
    """A sandbox where four types answer 409 until refreshed, and a DAG file in a dags folder of its own."""
    import importlib.util

    from airflow import settings

    not_synced = ["commerce-orders", "commerce-payments", "commerce-customers", "commerce-products"]
    with (
        CodatSandbox(companies=1, connections=1, records=RECORDS) as dag_sb,
        pytest.MonkeyPatch.context() as mp,
    ):
        dag_sb.set_faults(sync_seconds=1.0, not_synced=not_synced)
        folder = tmp_path_factory.mktemp("dags")
        path = folder / "codat_refresh_then_read.py"
        company, connection = dag_sb.connections[0]
        path.write_text(DAG_FILE.format(company=company, connection=connection))
        mp.setattr(settings, "DAGS_FOLDER", str(folder))
        spec = importlib.util.spec_from_file_location("codat_refresh_then_read", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module, dag_sb


def _xcoms(dag: Any, run_id: str) -> dict[str, tuple[str, Any]]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run_id)
        return {ti.task_id: (str(ti.state), ti.xcom_pull(task_ids=ti.task_id)) for ti in tis}


@pytest.mark.parametrize(
    ("dag_name", "resource", "data_type"),
    [
        ("worker", "orders", "commerce-orders"),
        ("triggerer", "payments", "commerce-payments"),
        ("sensed", "customers", "commerce-customers"),
        ("sensed_deferred", "products", "commerce-products"),
    ],
)
def test_dag_refreshes_waits_then_reads(
    dag_module: tuple[Any, CodatSandbox],
    monkeypatch: pytest.MonkeyPatch,
    dag_name: str,
    resource: str,
    data_type: str,
) -> None:
    module, dag_sb = dag_module
    point_at(dag_sb, monkeypatch)
    company, connection = dag_sb.connections[0]
    hook = CodatCommerceHook()
    with pytest.raises(CodatNotSyncedError):
        next(hook.list(resource, company, connection))  # the read works only after the refresh
    hook.close()
    dag = getattr(module, dag_name)
    run = dag.test()
    xcoms = _xcoms(dag, run.run_id)
    assert str(run.state).endswith("success"), xcoms
    assert xcoms["extract"] == ("success", RECORDS)
    state, refreshed = xcoms["refresh"]
    assert state == "success" and list(refreshed) == [data_type]
    if "synced" in xcoms:
        assert xcoms["synced"][0] == "success"
