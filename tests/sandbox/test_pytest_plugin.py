"""The package's pytest fixtures and the sandbox's helpers for tests: what users' DAG tests build on."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import httpx

from airflow_provider_codat.sandbox import FAST_RETRIES, CodatSandbox


def test_codat_sandboxes_share_one_sandbox_per_settings(codat_sandboxes: Callable[..., CodatSandbox]) -> None:
    first = codat_sandboxes(companies=1, connections=1, records=2)
    assert codat_sandboxes(records=2, connections=1, companies=1) is first, (
        "the order of settings is no matter"
    )
    other = codat_sandboxes(companies=1, connections=1, records=3)
    assert other is not first and other.url != first.url
    assert httpx.get(f"{first.url}/_sandbox/state").status_code == 200, "started on first use"


def test_the_airflow_connection_carries_the_key_and_the_extras(codat_sandbox: CodatSandbox) -> None:
    plain = json.loads(codat_sandbox.airflow_connection())
    assert plain == {"conn_type": "codat", "host": codat_sandbox.url, "password": codat_sandbox.api_key}
    fast = json.loads(codat_sandbox.airflow_connection(password="other", extra=FAST_RETRIES))
    assert fast["password"] == "other" and fast["extra"] == FAST_RETRIES


def test_the_airflow_conn_fixture_keeps_retries_short(codat_airflow_conn: CodatSandbox) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_CODAT_DEFAULT"])
    assert conn["host"] == codat_airflow_conn.url and conn["extra"] == FAST_RETRIES


def test_the_counters_count_authenticated_requests(codat_sandbox: CodatSandbox) -> None:
    before = codat_sandbox.requests_today()
    headers = {"Authorization": codat_sandbox.auth_header}
    httpx.get(f"{codat_sandbox.url}/companies", headers=headers).raise_for_status()
    httpx.get(f"{codat_sandbox.url}/companies")  # refused: no key, not counted
    assert codat_sandbox.requests_today() == before + 1
    assert codat_sandbox.counters()["requests_today"] == before + 1
