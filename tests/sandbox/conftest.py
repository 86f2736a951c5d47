"""A sandbox per test module, and an authenticated httpx client for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from airflow_provider_codat.sandbox import CodatSandbox


@pytest.fixture(scope="module")
def sandbox(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    return codat_sandboxes(companies=2, connections=2, records=30, unlinked_connections=1)


@pytest.fixture
def client(sandbox: CodatSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}, timeout=10) as c:
        yield c
    sandbox.reset_faults()


def data_path(sandbox: CodatSandbox, path: str, which: int = 0) -> str:
    company, connection = sandbox.connections[which]
    return f"/companies/{company}/connections/{connection}/data/{path}"
