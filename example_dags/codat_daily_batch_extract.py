"""Example (main): every Commerce resource of every linked connection, daily, in batches, to parquet.

``CodatListConnectionsOperator(batch_size=...)`` lists the linked commerce connections in batches
(a company's connections kept together); ``CodatExtractOperator`` is mapped over the batches,
one task per batch: 10,000 connections make 200 tasks, well under Airflow's ``max_map_length``.
Each task pulls every resource of its connections, modified in the run's data interval, in one
event loop that keeps each company within Codat's 10 requests in flight, and lands each
(resource, connection) pair with its own ``_manifest.json``::

    <output_base>/<interval start>/<resource>/company=<company_id>/connection=<connection_id>/

A retry of a batch pulls only the pairs not landed yet. For a handful of connections,
``codat_daily_commerce_to_parquet`` maps one task per resource and connection instead.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 3.1 has it in core only
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[assignment]

from airflow_provider_codat.operators.commerce import (
    DEFAULT_BATCH_SIZE,
    CodatExtractOperator,
    CodatListConnectionsOperator,
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
def codat_daily_batch_extract() -> None:
    """Pull each day's changes of every Commerce resource to parquet, a batch of connections a task."""
    batches = CodatListConnectionsOperator(task_id="linked_connection_batches", batch_size=DEFAULT_BATCH_SIZE)
    CodatExtractOperator.partial(
        task_id="extract",
        output="{{ params.output_base }}/{{ data_interval_start | ds }}",
        format="parquet",
    ).expand(connections=batches.output)


codat_daily_batch_extract()
