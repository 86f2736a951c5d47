"""Example (b): refresh orders through Codat's Platform API, then extract them.

``CodatRefreshDataOperator`` queues a refresh of ``commerce-orders`` for one connection and waits
in the triggerer until it has ended; ``CodatListOrdersOperator`` then pulls every order
(``full_refresh``) to ``jsonl.gz`` files. Pick the connection with the run's params.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag

from airflow_provider_codat.operators.commerce import CodatListOrdersOperator
from airflow_provider_codat.operators.platform import CodatRefreshDataOperator

# The ids of the local sandbox's default world (seed 42): ``codat-sandbox`` serves them.
SANDBOX_COMPANY_ID = "375f77ba-aa8d-45e4-92d9-10aa23f94659"
SANDBOX_CONNECTION_ID = "931036e1-2d6c-4243-b5f7-5416366995f5"


@dag(
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={
        "company_id": Param(SANDBOX_COMPANY_ID, type="string"),
        "connection_id": Param(SANDBOX_CONNECTION_ID, type="string"),
        "output_base": Param("file:///tmp/codat-lake", type="string"),
    },
    tags=["codat", "example"],
)
def codat_refresh_then_extract() -> None:
    """Refresh the orders of one connection, then pull all of them."""
    refresh = CodatRefreshDataOperator(
        task_id="refresh_orders",
        company_id="{{ params.company_id }}",
        connection_id="{{ params.connection_id }}",
        data_types="orders",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
    )
    extract = CodatListOrdersOperator(
        task_id="extract_orders",
        company_id="{{ params.company_id }}",
        connection_id="{{ params.connection_id }}",
        full_refresh=True,
        output="{{ params.output_base }}/refreshed/{{ run_id | replace(':', '_') }}/orders",
        format="jsonl.gz",
    )
    refresh >> extract


codat_refresh_then_extract()
