"""Example (a): every listable Commerce resource of every linked connection, daily, to parquet.

For a handful of connections: one task per resource and connection. At scale, use the batch
example, ``codat_daily_batch_extract``, one task per batch of connections.

``CodatListConnectionsOperator`` lists the linked commerce connections; for each resource of the
registry, ``CodatList<Resource>Operator`` is mapped over them with ``expand_kwargs``. Each mapped
task pulls the records modified in the run's data interval and writes parquet (plus a
``_manifest.json``) under its own folder::

    <output_base>/<interval start>/<resource>/company=<company_id>/connection=<connection_id>/

A resource added to the registry gets its tasks here without a change to this file.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 3.1 has it in core only
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[assignment]

from airflow_provider_codat.operators.commerce import LIST_OPERATORS, CodatListConnectionsOperator
from airflow_provider_codat.resources import listable_resources

# ``task`` is the mapped task instance's own operator: its ``company_id`` and ``connection_id``
# (rendered before ``output``) give every mapped task a folder of its own.
OUTPUT = (
    "{{ params.output_base }}/{{ data_interval_start | ds }}/%s"
    "/company={{ task.company_id }}/connection={{ task.connection_id }}"
)


@dag(
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    params={
        "output_base": Param(
            "file:///tmp/codat-lake", type="string", description="Object storage URI to write under"
        )
    },
    tags=["codat", "example"],
)
def codat_daily_commerce_to_parquet() -> None:
    """Pull each day's changes of every Commerce resource to parquet, per connection."""
    targets = CodatListConnectionsOperator(task_id="linked_connections")
    for resource in listable_resources():
        LIST_OPERATORS[resource.name].partial(
            task_id=f"pull_{resource.name}", output=OUTPUT % resource.name, format="parquet"
        ).expand_kwargs(targets.output)


codat_daily_commerce_to_parquet()
