"""Example (c): wait in the triggerer for payouts to arrive, then summarise them.

``CodatPayoutSensor`` (deferrable) waits until at least one Payout transaction has been modified
since the start of the run's data interval on one connection, and returns the payouts; a TaskFlow
task sums them by currency.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from airflow.sdk import Param, dag, task

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 3.1 has it in core only
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[assignment]

from airflow_provider_codat.sensors.commerce import CodatPayoutSensor

# The ids of the local sandbox's default world (seed 42): ``codat-sandbox`` serves them.
SANDBOX_COMPANY_ID = "375f77ba-aa8d-45e4-92d9-10aa23f94659"
SANDBOX_CONNECTION_ID = "931036e1-2d6c-4243-b5f7-5416366995f5"


@dag(
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={
        "company_id": Param(SANDBOX_COMPANY_ID, type="string"),
        "connection_id": Param(SANDBOX_CONNECTION_ID, type="string"),
    },
    tags=["codat", "example"],
)
def codat_payouts() -> None:
    """Summarise the payouts of the run's day once the first has arrived."""
    payouts = CodatPayoutSensor(
        task_id="wait_for_payouts",
        company_id="{{ params.company_id }}",
        connection_id="{{ params.connection_id }}",
        deferrable=True,
        poll_interval=5,
        timeout=timedelta(hours=6).total_seconds(),
        max_payouts_returned=1000,
    )

    @task
    def summarise(result: dict[str, Any]) -> dict[str, Any]:
        totals: dict[str, Decimal] = {}
        for payout in result["payouts"]:
            currency = str(payout.get("currency") or "?").upper()
            totals[currency] = totals.get(currency, Decimal(0)) + Decimal(payout["amount"] or 0)
        return {
            "count": result["count"],
            "truncated": result["truncated"],
            "by_currency": {currency: str(total) for currency, total in sorted(totals.items())},
        }

    summarise(payouts.output)  # type: ignore[arg-type]  # an XComArg, resolved at run time


codat_payouts()
