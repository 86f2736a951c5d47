"""A sandbox for sensor tests, a fresh commerce connection per test, and real DAG runs with ``dag.test()``."""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Airflow writes into $AIRFLOW_HOME on import: keep it in a throwaway folder.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="codat-airflow-home-"))

import pytest

from airflow_provider_codat.sandbox import CodatSandbox
from tests.commerce_fixtures import API_KEY, FAST, connection_json, this_second

__all__ = ["API_KEY", "FAST", "connection_json", "this_second"]

BUNDLE = "codat-payout-sensor-tests"
DAG_DEADLINE_S = 40.0


@contextmanager
def payouts_after_first_request(sb: CodatSandbox, connection_id: str, count: int) -> Iterator[None]:
    """Add ``count`` payouts once the sandbox has answered one more API request than now.

    So the first check finds none, and a later one finds them: the sensor must wait. The sandbox
    stamps payouts in whole seconds, so they are added in the next second: no stamp can fall
    before a ``since`` (with fractions) that was set before the first check.
    """
    start = sb.requests_today()
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            if sb.requests_today() > start:
                stop.wait(1.01 - time.time() % 1)
                sb.add_payouts(connection_id, count)
                return

    watcher = threading.Thread(target=watch, name="payout-watcher", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=5)


# -- real DAG runs ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _airflow_db() -> None:
    """Airflow's metadata database in the throwaway home, migrated once per session."""
    home = Path(os.environ["AIRFLOW_HOME"]).resolve()
    if not home.is_relative_to(Path(tempfile.gettempdir()).resolve()):
        pytest.skip(f"AIRFLOW_HOME={home} is not a throwaway folder; not creating a database in it")
    from airflow.utils.db import initdb

    initdb()


@pytest.fixture
def run_dag(
    _airflow_db: None,
    sandbox: CodatSandbox,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[str, str], Any]]:
    """Write a DAG file into a bundle of its own, load it, and run it with ``dag.test()``.

    Call it with the DAG id and the body of a ``with DAG(...)`` block; returns the DagRun.

    ``dag.test()`` runs a trigger inline with no deadline, and Airflow's signal handlers outlive
    pytest-timeout's: a sensor that waited forever would hang the suite. So after
    :data:`DAG_DEADLINE_S` the sandbox answers 403 to everything, which fails any of the
    sensor's modes at once.
    """
    folder = tmp_path_factory.mktemp("dags")
    bundle = {"name": BUNDLE, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}
    monkeypatch.setenv(
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST",
        json.dumps([{**bundle, "kwargs": {"path": str(folder)}}]),
    )
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

    def run(dag_id: str, body: str) -> Any:
        path = folder / f"{dag_id}.py"
        path.write_text(
            "from datetime import datetime\n\n"
            "from airflow.sdk import DAG\n\n"
            "from airflow_provider_codat.sensors.commerce import CodatPayoutSensor\n\n"
            f"with DAG({dag_id!r}, schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:\n"
            f"    {body}\n"
        )
        spec = importlib.util.spec_from_file_location(f"codat_test_dag_{dag_id}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.dag.test()

    deadline = threading.Timer(
        DAG_DEADLINE_S, sandbox.set_faults, kwargs={"forced_error": {"every": 1}, "forced_error_status": 403}
    )
    deadline.start()
    yield run
    deadline.cancel()


def task_instance(run: Any, task_id: str) -> tuple[Any, Any, int]:
    """The run's task instance ``task_id``: its state, its XCom return value, and how often it rescheduled."""
    from airflow.models import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = (
            session.query(TaskInstance).filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id=task_id).one()
        )
        reschedules = session.query(TaskReschedule).filter_by(ti_id=ti.id).count()
        return ti.state, ti.xcom_pull(task_ids=task_id), reschedules
