"""Example (d): TaskFlow code that uses ``CodatCommerceHook`` directly.

Counts each commerce resource on every linked commerce connection, and sums payouts by currency.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["codat", "example"])
def codat_hook_taskflow() -> None:
    """Summarise every linked commerce connection with the hook."""

    @task
    def linked_connections() -> list[dict[str, str]]:
        from airflow_provider_codat.hooks.commerce import CodatCommerceHook

        hook = CodatCommerceHook()
        return [
            {"company_id": company["id"], "connection_id": conn["id"], "platform": conn["platformName"]}
            for company in hook.list_companies()
            for conn in company["dataConnections"]
            if conn["sourceType"] == "Commerce" and conn["status"] == "Linked"
        ]

    @task
    def summarise(connection: dict[str, str]) -> dict[str, Any]:
        from airflow_provider_codat.hooks.commerce import CodatCommerceHook
        from airflow_provider_codat.resources import listable_resources

        hook = CodatCommerceHook()
        company_id, connection_id = connection["company_id"], connection["connection_id"]
        counts = {
            r.name: sum(1 for _ in hook.list(r.name, company_id, connection_id)) for r in listable_resources()
        }
        payouts: dict[str, Decimal] = {}
        for txn in hook.list("transactions", company_id, connection_id, query="type=Payout"):
            currency = str(txn.get("currency", "")).upper()
            payouts[currency] = payouts.get(currency, Decimal(0)) + Decimal(txn["totalAmount"])
        info = hook.get_company_info(company_id, connection_id)
        return {
            "platform": connection["platform"],
            "company": info.get("companyName"),
            "records": counts,
            "payouts": {k: str(v) for k, v in payouts.items()},
        }

    summarise.expand(connection=linked_connections())


codat_hook_taskflow()
