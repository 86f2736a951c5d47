"""CodatExtractOperator: connections x resources in one task, exact, resumable, within Codat's limits."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_codat.operators.commerce import CodatExtractOperator, CodatListConnectionsOperator
from airflow_provider_codat.resources import listable_resources
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sandbox.config import FaultConfig
from tests.airflow_versions import needs_retry_policies
from tests.commerce_fixtures import FAST

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
RESOURCES = [r.name for r in listable_resources()]


@pytest.fixture(scope="module")
def fleet(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    """Three companies of two commerce connections, 30 records of every resource, latency per request."""
    return codat_sandboxes(
        companies=3,
        connections=2,
        records=30,
        anchor=ANCHOR,
        history_days=4,
        faults=FaultConfig(latency_ms=20, daily_quota=10**9),
    )


@pytest.fixture
def codat(fleet: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[CodatSandbox]:
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", fleet.airflow_connection(extra=FAST))
    yield fleet
    fleet.set_faults(**{**FaultConfig(latency_ms=20, daily_quota=10**9).to_json()})


def truth(sb: CodatSandbox, company: str, connection: str, resource: str) -> set[str]:
    row = next(r for r in listable_resources() if r.name == resource)
    response = httpx.get(
        f"{sb.url}/companies/{company}/connections/{connection}/data/{row.path}",
        params={"pageSize": 5000},
        headers={"Authorization": sb.auth_header},
    )
    return {r["id"] for r in response.json()["results"]}


def landed_ids(directory: Path) -> set[str]:
    manifest = json.loads((directory / "_manifest.json").read_text())
    ids: set[str] = set()
    for uri in manifest["uris"]:
        for line in Path(uri.removeprefix("file://")).read_text().splitlines():
            ids.add(json.loads(line)["id"])
    return ids


def pairs_of(sb: CodatSandbox) -> list[dict[str, str]]:
    return [{"company_id": co, "connection_id": cn} for co, cn in sb.connections]


def test_one_task_lands_every_pair_exactly_with_no_request_refused(
    codat: CodatSandbox, run_task: Callable[..., tuple[str, Any]], tmp_path: Path
) -> None:
    before = codat.counters()
    state, result = run_task(
        lambda: CodatExtractOperator(
            task_id="extract", connections=pairs_of(codat), output=str(tmp_path), full_refresh=True
        )
    )
    after = codat.counters()
    assert state == "success", result
    pairs = len(codat.connections) * len(RESOURCES)
    assert result["pairs"] == {"done": pairs, "landed_before": 0, "skipped": 0, "failed": 0, "not_started": 0}
    assert result["records"] == {name: 30 * len(codat.connections) for name in RESOURCES}
    assert after["requests_today"] - before["requests_today"] == pairs  # one page each: nothing refused
    assert after["rejected"] == before["rejected"]
    for company, connection in codat.connections:
        for name in RESOURCES:
            directory = tmp_path / name / f"company={company}" / f"connection={connection}"
            assert landed_ids(directory) == truth(codat, company, connection, name)
    summary = json.loads(Path(result["summary_uri"].removeprefix("file://")).read_text())
    assert len(summary["pairs"]) == pairs and {p["outcome"] for p in summary["pairs"]} == {"done"}


def test_a_retry_pulls_only_the_pairs_that_did_not_land(
    codat: CodatSandbox, run_task: Callable[..., tuple[str, Any]], tmp_path: Path
) -> None:
    products = len(codat.connections)
    attempts = int(FAST["max_attempts"])
    # Every products request of the first try fails (each of its attempts), then Codat recovers.
    codat.set_faults(
        server_error={"burst": attempts * products, "path_contains": "commerce-products"},
        server_error_status=503,
    )
    before = codat.counters()
    state, result = run_task(
        lambda: CodatExtractOperator(
            task_id="extract",
            connections=pairs_of(codat),
            output=str(tmp_path),
            full_refresh=True,
            retries=1,
            retry_delay=timedelta(0),
        )
    )
    sent = codat.counters()["requests_today"] - before["requests_today"]
    pairs = len(codat.connections) * len(RESOURCES)
    assert state == "success", result
    assert result["pairs"]["done"] == products and result["pairs"]["landed_before"] == pairs - products
    assert sent == pairs - products + attempts * products + products  # first try, its failures, the retry
    for company, connection in codat.connections:
        directory = tmp_path / "products" / f"company={company}" / f"connection={connection}"
        assert landed_ids(directory) == truth(codat, company, connection, "products")


def test_a_wrong_key_stops_the_extract_naming_the_airflow_connection_to_fix(
    codat: CodatSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    wrong = "sk-wrong-Xe93-NOPE"
    conn = codat.airflow_connection(password=wrong, extra=FAST)
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_WRONG_KEY", conn)
    op = CodatExtractOperator(
        task_id="extract",
        connections=pairs_of(codat),
        output=str(tmp_path),
        full_refresh=True,
        codat_conn_id="codat_wrong_key",
    )
    with pytest.raises(AirflowFailException) as caught:
        op.execute({"data_interval_start": None, "data_interval_end": None})
    message = str(caught.value)
    assert message.startswith("CodatAuthenticationError: Codat answered 401")
    assert message.endswith("; check the API key of the Airflow connection 'codat_wrong_key'")
    assert wrong not in message


@needs_retry_policies  # before 3.3 the task reschedules for Codat's reset, at midnight
def test_a_spent_daily_quota_stops_new_pairs_and_keeps_what_landed(
    codat: CodatSandbox, run_task: Callable[..., tuple[str, Any]], tmp_path: Path
) -> None:
    used = codat.counters()["requests_today"]
    codat.set_faults(daily_quota=used + 25)
    state, _ = run_task(
        lambda: CodatExtractOperator(
            task_id="extract",
            connections=pairs_of(codat),
            output=str(tmp_path),
            full_refresh=True,
            max_in_flight=4,
            retries=0,
        )
    )
    assert state == "failed"
    summary = json.loads((tmp_path / "_summary.json").read_text())
    outcomes = [p["outcome"] for p in summary["pairs"]]
    assert outcomes.count("done") == 25 and outcomes.count("failed") == 0
    assert outcomes.count("not_started") == len(outcomes) - 25
    assert summary["retry_at"] is not None
    assert codat.counters()["requests_today"] - used <= 25 + 4  # the pulls in flight, then no new one


def test_batches_fan_out_past_max_map_length(
    codat: CodatSandbox, dag_test: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models import TaskInstance
    from airflow.sdk import DAG
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "3")
    with DAG("codat_extract_batches", schedule=None, start_date=datetime(2025, 1, 1, tzinfo=UTC)) as dag:
        batches = CodatListConnectionsOperator(task_id="batches", batch_size=2)
        CodatExtractOperator.partial(
            task_id="extract", output=str(tmp_path), full_refresh=True, resource_names=["orders", "payments"]
        ).expand(connections=batches.output)
    before = codat.counters()
    run = dag_test(dag)
    with create_session() as session:
        query = session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run.run_id, task_id="extract")
        tis = query.all()
        assert sorted(ti.state for ti in tis) == ["success"] * 3
        results = [ti.xcom_pull(task_ids="extract", map_indexes=ti.map_index) for ti in tis]
        # each mapped task is labelled by its batch: partial() passes map_index_template=None
        labels = sorted(ti.rendered_map_index for ti in tis)
    companies = {company for company, _ in codat.connections}
    assert labels == sorted(f"2 connections from {company}" for company in companies)
    assert sum(r["records"]["orders"] for r in results) == 30 * len(codat.connections)
    # listing the companies, then one page per pair: nothing refused
    after = codat.counters()
    assert after["requests_today"] - before["requests_today"] == 1 + 2 * len(codat.connections)
    assert after["rejected"]["concurrency"] == before["rejected"]["concurrency"]
    for company, connection in codat.connections:
        directory = tmp_path / "orders" / f"company={company}" / f"connection={connection}"
        assert landed_ids(directory) == truth(codat, company, connection, "orders")
    assert {p.name for p in tmp_path.iterdir() if p.name.startswith("_summary")} == {
        "_summary-00000.json",
        "_summary-00001.json",
        "_summary-00002.json",
    }


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"connections": "not a list"}, "connections"),
        ({"connections": [{"company_id": "x"}]}, "connections[0]"),
        ({"connections": [{"company_id": "nope", "connection_id": "nope"}]}, "connections[0].company_id"),
        ({"resource_names": ["company_info"]}, "resource_names"),
        ({"resource_names": ["invoices"]}, "resource_names"),
        ({"max_in_flight_per_company": 11}, "max_in_flight_per_company"),
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"on_connection_error": "ignore"}, "on_connection_error"),
        ({"format": "csv"}, "format"),
        ({"output": ""}, "output"),
    ],
)
def test_bad_arguments_are_refused_at_parse_time_naming_them(kwargs: dict[str, Any], named: str) -> None:
    arguments: dict[str, Any] = {"connections": [], "output": "/tmp/x", **kwargs}
    with pytest.raises(ValueError, match="^" + re.escape(named)):
        CodatExtractOperator(task_id="extract", **arguments)


def test_lineage_names_every_pair_when_known_at_parse_time(tmp_path: Path) -> None:
    pair = {
        "company_id": "11111111-2222-4333-8444-555555555555",
        "connection_id": "66666666-7777-4888-9999-000000000000",
    }
    op = CodatExtractOperator(
        task_id="t", connections=[pair], output=f"file://{tmp_path}", resource_names=["orders", "payments"]
    )
    base = f"codat://{pair['company_id']}/{pair['connection_id']}"
    assert [a.uri for a in op.inlets] == [f"{base}/orders", f"{base}/payments"]
    assert [a.uri for a in op.outlets] == [f"file://{tmp_path}"]
    mapped = CodatExtractOperator(
        task_id="m", connections="{{ ti.xcom_pull('batches') }}", output=str(tmp_path)
    )
    assert mapped.inlets == []
    assert op.get_openlineage_facets_on_complete(None) is None  # the openlineage provider is an extra


def test_a_long_retry_after_waits_outside_the_worker_then_resumes(
    codat: CodatSandbox, run_task: Callable[..., tuple[str, Any]], tmp_path: Path
) -> None:
    """A Retry-After past max_wait stops the batch; the retry (3.3) or reschedule (3.1, 3.2) resumes it."""
    codat.set_faults(rate_limit={"burst": 1}, retry_after_seconds=3)
    state, result = run_task(
        lambda: CodatExtractOperator(
            task_id="extract",
            connections=pairs_of(codat),
            output=str(tmp_path),
            full_refresh=True,
            max_in_flight=2,
        )
    )
    pairs = len(codat.connections) * len(RESOURCES)
    assert state == "success", result
    assert result["pairs"]["landed_before"] >= 1 and result["pairs"]["done"] >= 1
    assert result["pairs"]["landed_before"] + result["pairs"]["done"] == pairs
