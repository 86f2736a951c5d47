"""A sandbox for the operator tests, ``codat_default`` pointing at it, and a way to run one task."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_codat.sandbox import CodatSandbox
from tests.commerce_fixtures import FAST

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="package")
def sandbox(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    """Two companies of two commerce connections (the last Unlinked), 40 records each, anchored."""
    return codat_sandboxes(
        companies=2, connections=2, records=40, anchor=ANCHOR, history_days=4, unlinked_connections=1
    )


@pytest.fixture
def codat_env(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[CodatSandbox]:
    """``codat_default`` points at the sandbox, with fast per-call retries."""
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", sandbox.airflow_connection(extra=FAST))
    yield sandbox
    sandbox.reset_faults()


@pytest.fixture
def run_task(dag_test: Callable[..., Any]) -> Callable[..., tuple[str, Any]]:
    """Run a one-task DAG with ``dag.test()``; return the task's state and its XCom."""
    from airflow.models import TaskInstance
    from airflow.sdk import DAG
    from airflow.utils.session import create_session

    counter = iter(range(10**6))

    def run(
        make_task: Callable[[], Any],
        *,
        schedule: Any = None,
        logical_date: datetime | None = None,
        dag_id: str | None = None,
    ) -> tuple[str, Any]:
        dag_id = dag_id or f"codat_test_{next(counter)}_{datetime.now(UTC):%H%M%S%f}"
        with DAG(
            dag_id, schedule=schedule, start_date=datetime(2025, 1, 1, tzinfo=UTC), catchup=False
        ) as dag:
            task = make_task()
        dag_run = dag_test(dag, logical_date=logical_date)
        with create_session() as session:
            ti = (
                session.query(TaskInstance)
                .filter_by(dag_id=dag.dag_id, run_id=dag_run.run_id, task_id=task.task_id)
                .one()
            )
            return str(ti.state), ti.xcom_pull(task_ids=task.task_id)

    return run
