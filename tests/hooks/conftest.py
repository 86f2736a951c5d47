"""A sandbox with a distinctive API key, and ``codat`` Airflow connections pointing at it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator

# Airflow writes into $AIRFLOW_HOME on import, and configures logging then: import it here, before any
# test's caplog handler is installed, so that configuration cannot remove it.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="codat-airflow-home-"))

import pytest

from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.sandbox import CodatSandbox
from tests.commerce_fixtures import connection_json

API_KEY = "sk-test-Zq81xV-SECRET"
RECORDS = 30


@pytest.fixture(scope="package")
def sandbox(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    """One company with two commerce connections, 30 records of every resource."""
    return codat_sandboxes(companies=1, connections=2, records=RECORDS, api_key=API_KEY)


@pytest.fixture
def codat_env(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> CodatSandbox:
    """``codat_default`` points at the package's sandbox, with fast retries."""
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", connection_json(sandbox))
    return sandbox


@pytest.fixture
def hook(codat_env: CodatSandbox) -> Iterator[CodatCommerceHook]:
    h = CodatCommerceHook()
    yield h
    h.close()
