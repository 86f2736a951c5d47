"""Run the example DAGs end to end on real Airflow against the local Codat sandbox.

Starts a sandbox (2 companies x 2 commerce connections, one day of history ending today 00:00 UTC),
points a throwaway ``AIRFLOW_HOME`` (SQLite), the DAGs folder (this folder) and the
``codat_default`` connection at it, and runs with ``dag.test()``:

1. ``codat_daily_batch_extract`` for today's run (yesterday's data interval): the linked
   connections in batches, each batch's resources pulled by one ``CodatExtractOperator`` task,
   writing parquet under ``<AIRFLOW_HOME>/lake``;
2. ``codat_payouts`` on the first connection, after three new payouts arrive.

Then it prints what the tasks returned: records per resource, the files written (from each
pair's manifest, listed in the batch's summary), the requests the sandbox refused (none), and
the payouts the sensor saw.

    python example_dags/run_demo.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def xcoms(dag: Any, run: Any, task_id: str) -> list[Any]:
    """The XCom of each (mapped) instance of ``task_id`` in ``run``, in map-index order."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run.run_id, task_id=task_id)
        return [
            ti.xcom_pull(task_ids=task_id, map_indexes=ti.map_index)
            for ti in sorted(tis, key=lambda t: t.map_index)
        ]


def ok(run: Any) -> bool:
    return str(run.state) in ("success", "DagRunState.SUCCESS")


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="codat-demo-airflow-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(HERE),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    import httpx

    from airflow_provider_codat.sandbox import CodatSandbox

    lake = f"file://{home}/lake"
    with CodatSandbox(
        companies=2, connections=2, records=100, record_counts={"transactions": 2000}, history_days=1
    ) as sandbox:
        os.environ["AIRFLOW_CONN_CODAT_DEFAULT"] = sandbox.airflow_connection()
        print(f"Codat sandbox at {sandbox.url}; Airflow home {home}")
        from airflow.utils.db import initdb

        initdb()
        sys.path.insert(0, str(HERE))
        from codat_daily_batch_extract import codat_daily_batch_extract
        from codat_payouts import codat_payouts

        # -- 1. every resource of every connection, in batches, to parquet --------------------
        anchor = sandbox.config.anchor  # today 00:00 UTC: this run's interval is yesterday
        dag = codat_daily_batch_extract()
        run = dag.test(logical_date=anchor, run_conf={"output_base": lake})
        print(f"\n{dag.dag_id}: run {run.run_id} {run.state}")
        records: dict[str, int] = defaultdict(int)
        files: list[tuple[str, int, int]] = []
        for summary in xcoms(dag, run, "extract"):
            for name, count in summary["records"].items():
                records[name] += count
            pairs = json.loads(Path(summary["summary_uri"].removeprefix("file://")).read_text())["pairs"]
            for pair in pairs:
                manifest = json.loads(Path(pair["manifest_uri"].removeprefix("file://")).read_text())
                files += [(p["uri"], p["records"], p["bytes"]) for p in manifest["parts"]]
        connections = len(sandbox.connections)
        batches = len(xcoms(dag, run, "extract"))
        print(f"Records per resource (sum over {connections} connections, in {batches} batch task(s)):")
        for name, count in records.items():
            print(f"  {name:<20} {count:>6}")
        # Each pair lands under .../company=<id>/connection=<id>/: name those folders c1..c4.
        folders = {
            f"company={c}/connection={k}": f"<c{i}>" for i, (c, k) in enumerate(sandbox.connections, 1)
        }
        print(f"Files written under {lake} (from the manifests):")
        for folder, short in folders.items():
            print(f"  {short} = {folder}")
        shown = []
        for uri, count, size in files:
            path = uri.removeprefix(lake + "/")
            for folder, short in folders.items():
                path = path.replace(folder, short)
            shown.append((path, count, size))
        for path, count, size in sorted(shown):
            print(f"  {path:<72} {count:>5} records {size:>8,} bytes")
        total_records, total_bytes = sum(f[1] for f in files), sum(f[2] for f in files)
        print(f"  {len(files)} files, {total_records:,} records, {total_bytes:,} bytes")
        state = httpx.get(f"{sandbox.url}/_sandbox/state").json()["counters"]
        refused = {kind: n for kind, n in state["rejected"].items() if n}
        print(f"Requests: {state['requests_today']} sent, refused by the sandbox: {refused or 'none'}")

        # -- 2. payouts ------------------------------------------------------------------------
        company_id, connection_id = sandbox.connections[0]
        sandbox.add_payouts(connection_id, count=3)
        payouts_dag = codat_payouts()
        payouts_run = payouts_dag.test(
            logical_date=anchor, run_conf={"company_id": company_id, "connection_id": connection_id}
        )
        print(f"\n{payouts_dag.dag_id}: run {payouts_run.run_id} {payouts_run.state}")
        for summary in xcoms(payouts_dag, payouts_run, "summarise"):
            since = anchor - timedelta(days=1)
            print(
                f"  <c1>: {summary['count']} payouts modified since {since:%Y-%m-%dT%H:%MZ} "
                f"(incl. 3 just added); totals {summary['by_currency']}"
            )
        return 0 if ok(run) and ok(payouts_run) else 1


if __name__ == "__main__":
    sys.exit(main())
