"""A sandbox with a distinctive API key, and ``codat`` Airflow connections pointing at it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

# Airflow writes into $AIRFLOW_HOME on import, and configures logging then: import it here, before any
# test's caplog handler is installed, so that configuration cannot remove it.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="codat-airflow-home-"))

import httpx
import pytest

from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.sandbox import CodatSandbox

API_KEY = "sk-test-Zq81xV-SECRET"
RECORDS = 30
FAST = {"initial_wait": 0.01, "max_wait": 1, "max_total": 10}
"""Connection extras that keep retries to milliseconds."""


@pytest.fixture(scope="package")
def sandbox() -> Iterator[CodatSandbox]:
    """One company with two commerce connections, 30 records of every resource."""
    with CodatSandbox(companies=1, connections=2, records=RECORDS, api_key=API_KEY) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _reset_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset_faults()


def json_connection(sb: CodatSandbox, password: str | None = None, **extra: Any) -> str:
    """``AIRFLOW_CONN_*`` JSON for the sandbox."""
    return json.dumps(
        {
            "conn_type": "codat",
            "host": sb.url,
            "password": sb.api_key if password is None else password,
            "extra": {**FAST, **extra},
        }
    )


@pytest.fixture
def codat_env(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> CodatSandbox:
    """``codat_default`` points at the package's sandbox, with fast retries."""
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", json_connection(sandbox))
    return sandbox


@pytest.fixture
def hook(codat_env: CodatSandbox) -> Iterator[CodatCommerceHook]:
    h = CodatCommerceHook()
    yield h
    h.close()


def requests_today(sb: CodatSandbox) -> int:
    """The sandbox's count of authenticated API requests."""
    return int(httpx.get(f"{sb.url}/_sandbox/state").json()["counters"]["requests_today"])
