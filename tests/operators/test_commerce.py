"""The Commerce operators against the sandbox, on real Airflow (``dag.test()`` on SQLite)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSkipException

from airflow_provider_codat.airflow_errors import CodatRetryLater, CodatRetryPolicy
from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.operators import commerce
from airflow_provider_codat.operators.commerce import (
    LIST_OPERATORS,
    CodatGetCompanyInfoOperator,
    CodatGetRecordOperator,
    CodatListConnectionsOperator,
    CodatListOperator,
    list_commerce_connections,
)
from airflow_provider_codat.resources import listable_resources
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.version_compat import AirflowRescheduleException
from tests.airflow_versions import AIRFLOW_V_3_2_PLUS, before_retry_policies, needs_retry_policies

from .conftest import ANCHOR

ISSUE_NAMES = {
    "CodatListCustomersOperator",
    "CodatListDisputesOperator",
    "CodatListLocationsOperator",
    "CodatListOrdersOperator",
    "CodatListPaymentsOperator",
    "CodatListPaymentMethodsOperator",
    "CodatListProductsOperator",
    "CodatListProductCategoriesOperator",
    "CodatListTaxComponentsOperator",
    "CodatListTransactionsOperator",
}
COMPANY = "11111111-2222-4333-8444-555555555555"
CONNECTION = "66666666-7777-4888-9999-000000000000"


def ids(sandbox: CodatSandbox, which: int = 0) -> dict[str, str]:
    company, connection = sandbox.connections[which]
    return {"company_id": company, "connection_id": connection}


def every_record(sandbox: CodatSandbox, resource: str, query: str | None = None) -> list[dict[str, Any]]:
    hook = CodatCommerceHook()
    return list(hook.list(resource, **ids(sandbox), query=query))


# -- parse-time validation ------------------------------------------------------------------------
def test_one_named_operator_per_listable_resource() -> None:
    assert {cls.__name__ for cls in LIST_OPERATORS.values()} == ISSUE_NAMES
    assert {r.name for r in listable_resources()} == set(LIST_OPERATORS)
    for name in ISSUE_NAMES:
        assert getattr(commerce, name).__module__ == "airflow_provider_codat.operators.lists"
        assert name in commerce.__all__, "importable from operators.commerce, as users do"
    assert (
        commerce.CodatListOrdersOperator(task_id="t", company_id=COMPANY, connection_id=CONNECTION).resource
        == "orders"
    )


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"resource": "ledgers"}, "resource"),
        ({"resource": "company_info"}, "resource"),
        ({"company_id": "not-a-uuid"}, "company_id"),
        ({"connection_id": "123"}, "connection_id"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 5001}, "page_size"),
        ({"format": "csv"}, "format"),
        ({"overlap": timedelta(minutes=-1)}, "overlap"),
        ({"part_records": 0}, "part_records"),
        ({"xcom_max_bytes": 0}, "xcom_max_bytes"),
        ({"on_not_synced": "ignore"}, "on_not_synced"),
        ({"modified_since": "yesterday"}, "modified_since"),
        ({"full_refresh": True, "modified_since": "2025-01-01"}, "full_refresh"),
        ({"company_id": COMPANY.replace("-", "")}, "company_id"),
        ({"company_id": "{" + COMPANY + "}"}, "company_id"),
        ({"connection_id": "urn:uuid:" + CONNECTION}, "connection_id"),
        ({"connection_id": "66666666-7777-4888-99990-00000000000"}, "connection_id"),
        ({"resource": ["orders"]}, "resource"),
    ],
)
def test_bad_arguments_are_refused_at_parse_time_naming_the_parameter(
    kwargs: dict[str, Any], parameter: str
) -> None:
    arguments = {
        "task_id": "t",
        "resource": "orders",
        "company_id": COMPANY,
        "connection_id": CONNECTION,
        **kwargs,
    }
    with pytest.raises(ValueError, match=parameter):
        CodatListOperator(**arguments)


def test_upper_case_ids_are_kept_in_canonical_lower_case() -> None:
    company, connection = "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d"
    upper = {"company_id": company.upper(), "connection_id": connection.upper()}
    op = CodatListOperator(task_id="t", resource="orders", **upper)
    assert (op.company_id, op.connection_id) == (company, connection)
    assert op.source_uri() == f"codat://{company}/{connection}/orders"  # one lineage Asset, any spelling
    got = CodatGetRecordOperator(task_id="t", resource="orders", record_id="ord_1", **upper)
    assert (got.company_id, got.connection_id) == (company, connection)
    info = CodatGetCompanyInfoOperator(task_id="t", **upper)
    assert (info.company_id, info.connection_id) == (company, connection)


def test_templated_ids_wait_for_run_time() -> None:
    op = CodatListOperator(
        task_id="t", resource="orders", company_id="{{ params.c }}", connection_id="{{ params.k }}"
    )
    assert op.company_id == "{{ params.c }}"


def test_defaults_give_task_retries_timed_by_codat() -> None:
    op = commerce.CodatListOrdersOperator(task_id="t", company_id=COMPANY, connection_id=CONNECTION)
    assert op.retries == 3 and op.retry_exponential_backoff == (2.0 if AIRFLOW_V_3_2_PLUS else True)
    custom = commerce.CodatListOrdersOperator(
        task_id="t", company_id=COMPANY, connection_id=CONNECTION, retries=0
    )
    assert custom.retries == 0


@needs_retry_policies
def test_codat_times_the_retries_through_the_default_retry_policy() -> None:
    op = commerce.CodatListOrdersOperator(task_id="t", company_id=COMPANY, connection_id=CONNECTION)
    assert isinstance(op.retry_policy, CodatRetryPolicy)


# -- running ----------------------------------------------------------------------------------------
def test_full_refresh_to_xcom_returns_every_record_json_native(
    codat_env: CodatSandbox, run_task: Callable[..., tuple[str, Any]]
) -> None:
    state, records = run_task(
        lambda: commerce.CodatListTransactionsOperator(task_id="pull", **ids(codat_env), full_refresh=True)
    )
    assert state == "success"
    expected = every_record(codat_env, "transactions")
    assert [r["id"] for r in records] == [r["id"] for r in expected]
    assert records == json.loads(json.dumps(records))
    assert all(isinstance(r["totalAmount"], int | float) for r in records)


def test_explicit_window_and_user_query_are_combined(
    codat_env: CodatSandbox, run_task: Callable[..., tuple[str, Any]]
) -> None:
    since, until = ANCHOR - timedelta(days=3), ANCHOR - timedelta(days=1)
    state, records = run_task(
        lambda: CodatListOperator(
            task_id="pull",
            resource="transactions",
            **ids(codat_env),
            query="type=Payment||type=Refund",
            modified_since=since.isoformat(),
            modified_until="{{ params.until }}",
            params={"until": until.isoformat()},
        )
    )
    assert state == "success"
    expected = [
        r["id"]
        for r in every_record(codat_env, "transactions")
        if r["type"] in ("Payment", "Refund") and since <= _utc(r["modifiedDate"]) < until
    ]
    assert expected and [r["id"] for r in records] == expected


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_jsonl_on_local_disk_reads_back_record_for_record(
    codat_env: CodatSandbox, run_task: Callable[..., tuple[str, Any]], tmp_path: Path
) -> None:
    state, manifest = run_task(
        lambda: commerce.CodatListOrdersOperator(
            task_id="pull",
            **ids(codat_env),
            full_refresh=True,
            output=f"file://{tmp_path}/orders",
            part_records=15,
        )
    )
    assert state == "success"
    assert manifest["records"] == 40 and manifest["format"] == "jsonl" and len(manifest["parts"]) == 3
    assert manifest["company_id"] == ids(codat_env)["company_id"]
    lines = [
        line
        for uri in manifest["uris"]
        for line in Path(uri.removeprefix("file://")).read_text().splitlines()
    ]
    hook = CodatCommerceHook()
    sent = [text for page in hook.list_pages("orders", **ids(codat_env)) for text in page.texts]
    assert lines == sent


def test_parquet_output(
    codat_env: CodatSandbox, run_task: Callable[..., tuple[str, Any]], tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    state, manifest = run_task(
        lambda: commerce.CodatListPaymentsOperator(
            task_id="pull",
            **ids(codat_env),
            full_refresh=True,
            output=str(tmp_path / "payments"),
            format="parquet",
        )
    )
    assert state == "success"
    table = pq.read_table(manifest["uris"][0].removeprefix("file://"))
    assert table.num_rows == 40
    assert table.column("id").to_pylist() == [r["id"] for r in every_record(codat_env, "payments")]


def test_xcom_size_limit_fails_without_retries(
    codat_env: CodatSandbox, run_task: Callable[..., tuple[str, Any]]
) -> None:
    state, _ = run_task(
        lambda: commerce.CodatListOrdersOperator(
            task_id="pull", **ids(codat_env), full_refresh=True, xcom_max_bytes=2000
        )
    )
    assert state == "failed"


def test_two_daily_runs_cover_adjacent_windows_exactly_once(
    codat_env: CodatSandbox, run_task: Callable[..., tuple[str, Any]]
) -> None:
    try:
        from airflow.sdk import CronDataIntervalTimetable
    except ImportError:  # Airflow 3.1
        from airflow.timetables.interval import CronDataIntervalTimetable

    dag_id = f"codat_daily_{datetime.now(UTC):%H%M%S%f}"
    day1, day2 = ANCHOR - timedelta(days=2), ANCHOR - timedelta(days=1)

    def make() -> Any:
        return commerce.CodatListCustomersOperator(
            task_id="pull", **ids(codat_env), overlap=timedelta(0), retries=0
        )

    schedule = CronDataIntervalTimetable("@daily", timezone="UTC")
    state1, first = run_task(make, schedule=schedule, logical_date=day1, dag_id=dag_id)
    state2, second = run_task(make, schedule=schedule, logical_date=day2, dag_id=dag_id)
    assert state1 == state2 == "success"
    # A manual run of a data-interval timetable covers the interval that ends at its logical date.
    start, end = day1 - timedelta(days=1), day2
    in_range = [
        r["id"] for r in every_record(codat_env, "customers") if start <= _utc(r["modifiedDate"]) < end
    ]
    got = [r["id"] for r in first] + [r["id"] for r in second]
    assert sorted(got) == sorted(in_range) and len(set(got)) == len(got) and got


def test_manual_runs_pull_from_the_last_successful_end(
    codat_env: CodatSandbox, run_task: Callable[..., tuple[str, Any]]
) -> None:
    dag_id = f"codat_manual_{datetime.now(UTC):%H%M%S%f}"

    def make() -> Any:
        return commerce.CodatListCustomersOperator(
            task_id="pull", **ids(codat_env), overlap=timedelta(0), retries=0
        )

    state, first = run_task(make, dag_id=dag_id, logical_date=ANCHOR - timedelta(days=1))
    assert state == "success"
    before = [
        r["id"]
        for r in every_record(codat_env, "customers")
        if _utc(r["modifiedDate"]) < ANCHOR - timedelta(days=1)
    ]
    assert [r["id"] for r in first] == before


# -- the retry table ----------------------------------------------------------------------------------
CONTEXT: dict[str, Any] = {"data_interval_start": None, "data_interval_end": None}


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404])
def test_client_errors_fail_without_task_retries(codat_env: CodatSandbox, status: int) -> None:
    codat_env.set_faults(forced_error={"every": 1}, forced_error_status=status)
    op = commerce.CodatListOrdersOperator(task_id="t", **ids(codat_env), full_refresh=True)
    with pytest.raises(AirflowFailException, match=str(status)):
        op.execute(CONTEXT)


def test_a_wrong_key_fails_naming_the_airflow_connection_to_fix(
    codat_env: CodatSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "sk-wrong-Zt42-NOPE"
    conn = {"conn_type": "codat", "host": codat_env.url, "password": wrong}
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_WRONG_KEY", json.dumps(conn))
    op = commerce.CodatListOrdersOperator(
        task_id="t", **ids(codat_env), full_refresh=True, codat_conn_id="codat_wrong_key"
    )
    with pytest.raises(AirflowFailException) as caught:
        op.execute(CONTEXT)
    message = str(caught.value)
    assert message.startswith("CodatAuthenticationError: Codat answered 401 on GET /companies/")
    assert message.endswith("; check the API key of the Airflow connection 'codat_wrong_key'")
    assert wrong not in message and base64.b64encode(wrong.encode()).decode() not in message


def test_retryable_errors_left_after_per_call_retries_become_task_retries(codat_env: CodatSandbox) -> None:
    codat_env.set_faults(server_error={"every": 1})
    op = commerce.CodatListOrdersOperator(task_id="t", **ids(codat_env), full_refresh=True)
    with pytest.raises(AirflowException) as caught:
        op.execute(CONTEXT)
    assert type(caught.value) is AirflowException


@pytest.mark.parametrize(
    ("action", "expected"),
    [("retry", AirflowException), ("fail", AirflowFailException), ("skip", AirflowSkipException)],
)
def test_not_synced_is_configurable(codat_env: CodatSandbox, action: str, expected: type[Exception]) -> None:
    codat_env.set_faults(not_synced=["commerce-orders"])
    op = commerce.CodatListOrdersOperator(
        task_id="t", **ids(codat_env), full_refresh=True, on_not_synced=action
    )
    with pytest.raises(expected) as caught:
        op.execute(CONTEXT)
    assert type(caught.value) is expected


@needs_retry_policies
def test_daily_quota_becomes_a_retry_timed_for_the_reset(codat_env: CodatSandbox) -> None:
    codat_env.set_faults(quota_exhausted=True)
    op = commerce.CodatListOrdersOperator(task_id="t", **ids(codat_env), full_refresh=True)
    with pytest.raises(CodatRetryLater) as caught:
        op.execute(CONTEXT)
    decision = CodatRetryPolicy().evaluate(caught.value, try_number=1, max_tries=3)
    assert decision.retry_delay is not None and decision.retry_delay > timedelta(minutes=1)
    assert abs((datetime.now(UTC) + decision.retry_delay) - caught.value.retry_at) < timedelta(seconds=5)


@before_retry_policies
def test_daily_quota_reschedules_the_task_for_the_reset(codat_env: CodatSandbox) -> None:
    codat_env.set_faults(quota_exhausted=True)
    op = commerce.CodatListOrdersOperator(task_id="t", **ids(codat_env), full_refresh=True)
    with pytest.raises(AirflowRescheduleException) as caught:
        op.execute(CONTEXT)
    assert isinstance(caught.value, CodatRetryLater) and not hasattr(op, "retry_policy")
    assert caught.value.reschedule_date == caught.value.retry_at > datetime.now(UTC) + timedelta(minutes=1)


def test_daily_quota_defers_until_the_reset_when_deferrable(codat_env: CodatSandbox) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    codat_env.set_faults(quota_exhausted=True)
    op = commerce.CodatListOrdersOperator(task_id="t", **ids(codat_env), full_refresh=True, deferrable=True)
    with pytest.raises(TaskDeferred) as caught:
        op.execute(CONTEXT)
    assert caught.value.method_name == "execute_complete"
    moment = caught.value.trigger.moment
    assert moment > datetime.now(UTC) + timedelta(minutes=1)


def test_bad_templated_id_fails_before_any_request(codat_env: CodatSandbox) -> None:
    before = codat_env.requests_today()
    op = commerce.CodatListOrdersOperator(
        task_id="t", company_id="{{ x }}", connection_id=CONNECTION, full_refresh=True
    )
    op.company_id = "rendered-but-wrong"
    with pytest.raises(AirflowFailException, match="company_id"):
        op.execute(CONTEXT)
    assert codat_env.requests_today() == before


@pytest.mark.parametrize(
    ("name", "output"),
    [("existing file", "{file}"), ("file as parent", "{file}/orders"), ("NUL byte", "{dir}/or\0ders")],
)
def test_a_bad_output_path_fails_at_execute_start_without_retries(
    codat_env: CodatSandbox, tmp_path: Path, name: str, output: str
) -> None:
    (tmp_path / "file").write_text("not a directory")
    before = codat_env.requests_today()
    op = commerce.CodatListOrdersOperator(
        task_id="t",
        **ids(codat_env),
        full_refresh=True,
        output=output.format(file=tmp_path / "file", dir=tmp_path),
    )
    with pytest.raises(AirflowFailException, match="output") as caught:
        op.execute(CONTEXT)
    assert type(caught.value) is AirflowFailException
    assert codat_env.requests_today() == before


SECRET = "sk-live-TOPSECRET-8f2a"


@pytest.mark.parametrize(
    "connection",
    [
        pytest.param(
            {"password": SECRET, "extra": [SECRET]},
            marks=pytest.mark.skipif(
                not AIRFLOW_V_3_2_PLUS, reason="Airflow 3.1 itself refuses a connection whose extra is a list"
            ),
        ),
        {"password": SECRET, "host": "http://a b"},
        {"password": f"Basic {SECRET}\u00e9"},
    ],
    ids=["extra list", "host with a space", "non-ASCII Basic header"],
)
def test_a_bad_connection_fails_without_retries_or_secrets(
    monkeypatch: pytest.MonkeyPatch, connection: dict[str, Any]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_BAD", json.dumps({"conn_type": "codat", **connection}))
    op = commerce.CodatListOrdersOperator(
        task_id="t",
        company_id=COMPANY,
        connection_id=CONNECTION,
        full_refresh=True,
        codat_conn_id="codat_bad",
    )
    with pytest.raises(AirflowFailException, match="codat connection 'codat_bad': ") as caught:
        op.execute(CONTEXT)
    assert type(caught.value) is AirflowFailException
    reachable, error = [], caught.value
    while error is not None:
        reachable.append(f"{error!s} {error!r}")
        error = error.__cause__ or error.__context__
    assert SECRET not in "\n".join(reachable)


# -- single objects and fan-out -------------------------------------------------------------------------
def test_get_record_and_company_info(codat_env: CodatSandbox) -> None:
    record = every_record(codat_env, "transactions")[3]
    got = CodatGetRecordOperator(
        task_id="t", resource="transactions", record_id=record["id"], **ids(codat_env)
    )
    assert got.execute(CONTEXT)["id"] == record["id"]
    info = CodatGetCompanyInfoOperator(task_id="t", **ids(codat_env)).execute(CONTEXT)
    assert info["companyName"] and json.loads(json.dumps(info)) == info
    missing = CodatGetRecordOperator(task_id="t", resource="orders", record_id="ord_999999", **ids(codat_env))
    with pytest.raises(AirflowFailException, match="404"):
        missing.execute(CONTEXT)


def test_a_record_id_that_cannot_address_a_record_is_refused_at_parse_time() -> None:
    from airflow.sdk import DAG, task

    args = {"task_id": "t", "resource": "orders", "company_id": COMPANY, "connection_id": CONNECTION}
    for bad in ("", ".", ".."):
        with pytest.raises(ValueError, match="record_id"):
            CodatGetRecordOperator(**args, record_id=bad)
    with DAG("record_id_at_run_time"):

        @task
        def upstream() -> str:
            return "ord_1"

        from_upstream = upstream()
        by_xcom = CodatGetRecordOperator(**{**args, "task_id": "by_xcom"}, record_id=from_upstream)
        assert by_xcom.record_id is from_upstream
        by_template = CodatGetRecordOperator(**{**args, "task_id": "by_template"}, record_id="{{ p.id }}")
        assert by_template.record_id == "{{ p.id }}"


@pytest.mark.parametrize("rendered", [".", ".."])
def test_a_record_id_rendered_as_a_dot_segment_fails_before_any_request(
    codat_env: CodatSandbox, rendered: str
) -> None:
    before = codat_env.requests_today()
    op = CodatGetRecordOperator(task_id="t", resource="orders", record_id="{{ params.id }}", **ids(codat_env))
    op.record_id = rendered
    with pytest.raises(AirflowFailException, match="record_id") as caught:
        op.execute(CONTEXT)
    assert type(caught.value) is AirflowFailException
    assert codat_env.requests_today() == before


def test_fan_out_keeps_linked_commerce_connections(codat_env: CodatSandbox) -> None:
    linked = list_commerce_connections()
    assert linked == [{"company_id": c, "connection_id": k} for c, k in codat_env.connections[:3]]
    shopify = list_commerce_connections(platforms=["shopify"])
    assert shopify and set(map(tuple, (d.values() for d in shopify))) < set(codat_env.connections)
    everything = list_commerce_connections(statuses=("Linked", "Unlinked"))
    assert len(everything) == 4
    assert CodatListConnectionsOperator(task_id="t").execute(CONTEXT) == linked


def test_fan_out_feeds_expand_kwargs(codat_env: CodatSandbox, dag_test: Callable[..., Any]) -> None:
    from airflow.models import TaskInstance
    from airflow.sdk import DAG
    from airflow.utils.session import create_session

    with DAG(f"codat_fanout_{datetime.now(UTC):%H%M%S%f}", schedule=None, start_date=ANCHOR) as dag:
        targets = CodatListConnectionsOperator(task_id="targets")
        commerce.CodatListLocationsOperator.partial(task_id="pull", full_refresh=True).expand_kwargs(
            targets.output
        )
    run = dag_test(dag)
    with create_session() as session:
        tis = (
            session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run.run_id, task_id="pull").all()
        )
        assert len(tis) == 3 and all(str(ti.state) == "success" for ti in tis)
        labels = sorted(ti.rendered_map_index for ti in tis)
    # each mapped task shows its resource, company and connection: partial() passes map_index_template=None
    assert labels == sorted(
        f"locations: company {company}, connection {connection}"
        for company, connection in codat_env.connections[:3]
    )


# -- lineage and data changing under the pull ---------------------------------------------------------
def test_lineage_assets_are_declared_when_known_at_parse_time(tmp_path: Path) -> None:
    op = commerce.CodatListOrdersOperator(
        task_id="t", company_id=COMPANY, connection_id=CONNECTION, output=f"file://{tmp_path}/orders"
    )
    assert [a.uri for a in op.inlets] == [f"codat://{COMPANY}/{CONNECTION}/orders"]
    assert [a.uri for a in op.outlets] == [f"file://{tmp_path}/orders"]
    templated = commerce.CodatListOrdersOperator(task_id="t", company_id="{{ x }}", connection_id=CONNECTION)
    assert templated.inlets == [] and templated.outlets == []
    assert op.get_openlineage_facets_on_complete(None) is None  # the openlineage provider is an extra


def test_two_runs_lose_nothing_while_data_changes_during_paging(
    codat_sandbox_factory: Any, monkeypatch: Any
) -> None:
    sandbox = codat_sandbox_factory(records=600, history_days=4)
    conn = {
        "conn_type": "codat",
        "host": sandbox.url,
        "password": sandbox.api_key,
        "extra": {"initial_wait": 0.01},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", json.dumps(conn))
    cut = datetime.now(UTC).replace(microsecond=0)
    start = cut - timedelta(days=10)
    # Two bursts of changes land between the pages of the first run; paging restarts and settles.
    sandbox.set_faults(mutate_every=3, mutate_records=25, mutate_limit=2)

    def run(since: datetime, until: datetime) -> list[dict[str, Any]]:
        op = commerce.CodatListCustomersOperator(
            task_id="t",
            **ids(sandbox),
            page_size=100,
            overlap=timedelta(0),
            modified_since=since.isoformat(),
            modified_until=until.isoformat(),
        )
        result: list[dict[str, Any]] = op.execute(CONTEXT)
        return result

    first = run(start, cut)
    assert sandbox.world.config.faults.mutate_limit == 0  # both changes happened during the first run
    sandbox.reset_faults()
    second = run(cut, cut + timedelta(hours=1))
    for records in (first, second):
        assert len({r["id"] for r in records}) == len(records)
    versions = [(r["id"], r["modifiedDate"]) for r in first + second]
    assert len(set(versions)) == len(versions)
    final = list(CodatCommerceHook().list("customers", **ids(sandbox)))
    assert {r["id"] for r in final} == {r["id"] for r in first} | {r["id"] for r in second}
    both = {r["id"] for r in first} & {r["id"] for r in second}
    latest = {r["id"]: r["modifiedDate"] for r in final}
    assert all(_utc(latest[i]) >= cut for i in both)
    assert {r["id"] for r in second} == {i for i, when in latest.items() if _utc(when) >= cut}


def test_data_that_never_stops_changing_becomes_a_task_retry(codat_env: CodatSandbox) -> None:
    codat_env.set_faults(mutate_every=2, mutate_records=5)
    op = commerce.CodatListCustomersOperator(
        task_id="t", **ids(codat_env), page_size=5, modified_until=ANCHOR.isoformat()
    )
    with pytest.raises(AirflowException, match="kept changing") as caught:
        op.execute(CONTEXT)
    assert type(caught.value) is AirflowException


def test_dag_files_import_neither_the_models_nor_pyarrow() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import airflow_provider_codat.operators.commerce, airflow_provider_codat.operators.platform\n"
        "import airflow_provider_codat.sensors.commerce, airflow_provider_codat.sensors.platform\n"
        "heavy = [m for m in ('pyarrow', 'airflow_provider_codat.models') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == ""
