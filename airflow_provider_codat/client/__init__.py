"""Codat HTTP clients: settings, retries, paging and decoding, with no Airflow in them."""

from __future__ import annotations

from airflow_provider_codat.client._config import DEFAULT_BASE_URL, ClientConfig, RetryPolicy, auth_header
from airflow_provider_codat.client._decode import Page
from airflow_provider_codat.client._request import build_path
from airflow_provider_codat.client._throttle import AsyncInFlightLimit, PageBudget
from airflow_provider_codat.client.async_ import AsyncCodatClient
from airflow_provider_codat.client.sync import CodatClient

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncCodatClient",
    "AsyncInFlightLimit",
    "ClientConfig",
    "CodatClient",
    "Page",
    "PageBudget",
    "RetryPolicy",
    "auth_header",
    "build_path",
]
