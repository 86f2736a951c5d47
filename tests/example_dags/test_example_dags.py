"""The example DAGs parse cleanly and run end to end under ``dag.test()`` against the sandbox."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_codat.resources import listable_resources
from airflow_provider_codat.sandbox import CodatSandbox
from tests.commerce_fixtures import FAST

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
DAG_IDS = {
    "codat_daily_batch_extract",
    "codat_daily_commerce_to_parquet",
    "codat_refresh_then_extract",
    "codat_payouts",
    "codat_hook_taskflow",
}
ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    """Two companies of two connections (the last Unlinked); one day of history, ending at ANCHOR."""
    sb = codat_sandboxes(
        companies=2, connections=2, records=12, anchor=ANCHOR, history_days=1, unlinked_connections=1
    )
    sb.set_faults(sync_seconds=0.2)
    return sb


@pytest.fixture
def codat_env(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> CodatSandbox:
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", sandbox.airflow_connection(extra=FAST))
    return sandbox


def load_dag(name: str) -> Any:
    """Import ``example_dags/<name>.py`` afresh and build its DAG."""
    spec = importlib.util.spec_from_file_location(f"codat_example_{name}", EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)()


def results(dag: Any, run: Any, task_id: str) -> list[tuple[str, Any]]:
    """Each (mapped) task instance's state and XCom, in map-index order."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run.run_id, task_id=task_id)
        return [
            (str(ti.state), ti.xcom_pull(task_ids=task_id, map_indexes=ti.map_index))
            for ti in sorted(tis, key=lambda t: t.map_index)
        ]


def linked(sandbox: CodatSandbox) -> list[tuple[str, str]]:
    return sandbox.connections[: len(sandbox.connections) - sandbox.config.unlinked_connections]


def test_every_example_parses_without_import_errors(airflow_db: None) -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == DAG_IDS


def test_daily_batch_extract(codat_env: CodatSandbox, dag_test: Callable[..., Any], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    dag = load_dag("codat_daily_batch_extract")
    base = f"file://{tmp_path}/lake"
    run = dag_test(dag, logical_date=ANCHOR, run_conf={"output_base": base})
    assert str(run.state) == "success"
    [(state, summary)] = results(dag, run, "extract")  # one batch holds every linked connection
    targets = linked(codat_env)
    names = [r.name for r in listable_resources()]
    assert state == "success"
    assert summary["pairs"]["done"] == len(targets) * len(names) and summary["failures"] == []
    assert summary["records"] == {n: codat_env.config.count_for(n) * len(targets) for n in names}
    day = f"{ANCHOR - timedelta(days=1):%Y-%m-%d}"  # the data interval's start
    for company, connection in targets:
        for name in names:
            folder = tmp_path / "lake" / day / name / f"company={company}" / f"connection={connection}"
            manifest = json.loads((folder / "_manifest.json").read_text())
            rows = sum(pq.read_table(uri.removeprefix("file://")).num_rows for uri in manifest["uris"])
            assert rows == manifest["records"] == codat_env.config.count_for(name)
            assert (manifest["company_id"], manifest["connection_id"], manifest["format"]) == (
                company,
                connection,
                "parquet",
            )


def test_daily_commerce_to_parquet(
    codat_env: CodatSandbox, dag_test: Callable[..., Any], tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    dag = load_dag("codat_daily_commerce_to_parquet")
    base = f"file://{tmp_path}/lake"
    # A data-interval run at ANCHOR covers the day before it: all of the sandbox's history.
    run = dag_test(dag, logical_date=ANCHOR, run_conf={"output_base": base})
    assert str(run.state) == "success"
    targets = linked(codat_env)
    seen_dirs = set()
    for resource in listable_resources():
        done = results(dag, run, f"pull_{resource.name}")
        assert [state for state, _ in done] == ["success"] * len(targets), resource.name
        manifests = [manifest for _, manifest in done]
        assert [(m["company_id"], m["connection_id"]) for m in manifests] == targets
        for manifest in manifests:
            assert manifest["records"] == codat_env.config.count_for(resource.name)
            assert manifest["format"] == "parquet"
            rows = sum(pq.read_table(uri.removeprefix("file://")).num_rows for uri in manifest["uris"])
            assert rows == manifest["records"]
            folder = (
                f"{base}/{ANCHOR - timedelta(days=1):%Y-%m-%d}/{resource.name}"  # the interval's start
                f"/company={manifest['company_id']}/connection={manifest['connection_id']}"
            )
            assert manifest["manifest_uri"].startswith(folder + "/")
            seen_dirs.add(folder)
    assert len(seen_dirs) == len(targets) * len(list(listable_resources()))


def test_refresh_then_extract(codat_env: CodatSandbox, dag_test: Callable[..., Any], tmp_path: Path) -> None:
    dag = load_dag("codat_refresh_then_extract")
    company_id, connection_id = codat_env.connections[1]
    conf = {"company_id": company_id, "connection_id": connection_id, "output_base": f"file://{tmp_path}"}
    run = dag_test(dag, run_conf=conf)
    assert str(run.state) == "success"
    [(state, ids)] = results(dag, run, "refresh_orders")
    assert state == "success" and list(ids) == ["commerce-orders"]
    [(state, manifest)] = results(dag, run, "extract_orders")
    assert state == "success"
    assert manifest["records"] == codat_env.config.count_for("orders")
    assert (manifest["company_id"], manifest["connection_id"]) == (company_id, connection_id)
    assert all(Path(uri.removeprefix("file://")).is_file() for uri in manifest["uris"])


def test_payouts(codat_env: CodatSandbox, dag_test: Callable[..., Any]) -> None:
    from airflow_provider_codat.hooks.commerce import CodatCommerceHook

    dag = load_dag("codat_payouts")
    company_id, connection_id = codat_env.connections[0]
    codat_env.add_payouts(connection_id, count=3)
    run = dag_test(
        dag, logical_date=ANCHOR, run_conf={"company_id": company_id, "connection_id": connection_id}
    )
    assert str(run.state) == "success"
    since = (ANCHOR - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    expected = list(
        CodatCommerceHook().list(
            "transactions", company_id, connection_id, query=f"type=Payout&&modifiedDate>={since}"
        )
    )
    [(state, summary)] = results(dag, run, "summarise")
    assert state == "success"
    assert summary["count"] == len(expected) >= 3 and not summary["truncated"]
    totals: dict[str, Decimal] = {}
    for txn in expected:
        currency = str(txn.get("currency") or "?").upper()
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(txn["totalAmount"])
    assert {k: Decimal(v) for k, v in summary["by_currency"].items()} == totals


def test_hook_taskflow(codat_env: CodatSandbox, dag_test: Callable[..., Any]) -> None:
    dag = load_dag("codat_hook_taskflow")
    run = dag_test(dag)
    assert str(run.state) == "success"
    done = results(dag, run, "summarise")
    connections = {c.id: c for c in codat_env.world.commerce_connections()}
    assert len(done) == len(linked(codat_env))
    for (state, summary), (_, connection_id) in zip(done, linked(codat_env), strict=True):
        assert state == "success"
        # What the sandbox holds now (other tests may have appended payouts to transactions).
        datasets = connections[connection_id].datasets
        assert summary["records"] == {r.name: len(datasets[r.name]) for r in listable_resources()}
