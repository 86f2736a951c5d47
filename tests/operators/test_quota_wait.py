"""A 429 whose ``Retry-After`` is beyond the per-call cap, on real Airflow (``dag.test()``).

The task must wait for Codat's ``retry_at`` without holding a worker slot, and without Airflow's own
``retry_delay`` (a minute here) getting in the way: on Airflow 3.3+ a task retry that
``CodatRetryPolicy`` times, on 3.1 and 3.2 a reschedule until then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from airflow_provider_codat.operators import commerce
from airflow_provider_codat.sandbox import CodatSandbox
from tests.airflow_versions import before_retry_policies, needs_retry_policies

WAIT = 3
"""The ``Retry-After`` in seconds: more than the connection's ``max_wait`` (1 s), so not slept per call."""


def run_past_one_quota_wait(codat_env: CodatSandbox, dag_test: Callable[..., Any]) -> tuple[Any, float]:
    """Run a one-task DAG whose first request answers 429; return its task instance and the wall time."""
    from airflow.models import TaskInstance
    from airflow.sdk import DAG
    from airflow.utils.session import create_session

    codat_env.set_faults(rate_limit={"burst": 1}, retry_after_seconds=WAIT)
    company, connection = codat_env.connections[0]
    dag_id = f"codat_quota_wait_{datetime.now(UTC):%H%M%S%f}"
    with DAG(dag_id, schedule=None, start_date=datetime(2025, 1, 1, tzinfo=UTC), catchup=False) as dag:
        commerce.CodatListLocationsOperator(
            task_id="pull", company_id=company, connection_id=connection, full_refresh=True
        )
    started = time.monotonic()
    run = dag_test(dag)
    elapsed = time.monotonic() - started
    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id, task_id="pull").one()
        session.expunge(ti)
    return ti, elapsed


@needs_retry_policies
def test_a_quota_wait_is_a_task_retry_timed_by_codat(
    codat_env: CodatSandbox, dag_test: Callable[..., Any]
) -> None:
    ti, elapsed = run_past_one_quota_wait(codat_env, dag_test)
    assert str(ti.state) == "success" and ti.try_number == 2
    assert WAIT - 1 <= elapsed < 45  # Codat's 3 s, not the task's 1-minute retry_delay


@before_retry_policies
def test_a_quota_wait_reschedules_the_task_without_using_a_retry(
    codat_env: CodatSandbox, dag_test: Callable[..., Any]
) -> None:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    ti, elapsed = run_past_one_quota_wait(codat_env, dag_test)
    assert str(ti.state) == "success" and ti.try_number == 1
    assert WAIT - 1 <= elapsed < 45  # Codat's 3 s, not the task's 1-minute retry_delay
    with create_session() as session:
        reschedules = session.query(TaskReschedule).filter_by(ti_id=ti.id).all()
        assert len(reschedules) == 1
        wait = reschedules[0].reschedule_date - reschedules[0].end_date
        assert WAIT - 1 <= wait.total_seconds() <= WAIT + 1
