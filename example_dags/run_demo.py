"""Run an example DAG end to end on real Airflow against the local Codat sandbox.

Starts the sandbox, points a throwaway ``AIRFLOW_HOME`` (SQLite) and the ``codat_default``
connection at it, runs the DAG with ``dag.test()``, prints a summary, and stops the sandbox.

    python example_dags/run_demo.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="codat-demo-airflow-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(Path(__file__).parent),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    from airflow_provider_codat.sandbox import CodatSandbox

    with CodatSandbox(
        companies=2, connections=2, records=40, record_counts={"transactions": 5000}
    ) as sandbox:
        os.environ["AIRFLOW_CONN_CODAT_DEFAULT"] = sandbox.airflow_connection()
        print(f"Codat sandbox at {sandbox.url}; Airflow home {home}")
        from airflow.utils.db import initdb

        initdb()
        sys.path.insert(0, str(Path(__file__).parent))
        from codat_hook_taskflow import codat_hook_taskflow

        dag = codat_hook_taskflow()
        run = dag.test()
        print(f"DAG run {run.run_id}: {run.state}")
        from airflow.models import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            tis = session.query(TaskInstance).filter_by(
                dag_id=dag.dag_id, run_id=run.run_id, task_id="summarise"
            )
            for ti in sorted(tis, key=lambda t: t.map_index):
                summary = ti.xcom_pull(task_ids="summarise", map_indexes=ti.map_index)
                print(json.dumps(summary, sort_keys=True))
        return 0 if str(run.state) in ("success", "DagRunState.SUCCESS") else 1


if __name__ == "__main__":
    sys.exit(main())
