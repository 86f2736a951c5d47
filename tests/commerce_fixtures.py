"""Fixtures and helpers shared by the sensor, trigger and operator tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from airflow_provider_codat.sandbox import FAST_RETRIES, CodatSandbox

API_KEY = "sk-commerce-tests-Q7x2-SECRET"
CONNECTIONS = 160
FAST = FAST_RETRIES
"""The one set of connection extras that keep per-call retries short in every test."""


@pytest.fixture(scope="session")
def sandbox(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    """One company with many commerce connections (one per test), 200 seeded transactions on each."""
    return codat_sandboxes(
        companies=1, connections=CONNECTIONS, records=5, record_counts={"transactions": 200}, api_key=API_KEY
    )


@pytest.fixture(scope="session")
def _fresh_connections(sandbox: CodatSandbox) -> Iterator[tuple[str, str]]:
    return iter(sandbox.connections)


@pytest.fixture
def ids(_fresh_connections: Iterator[tuple[str, str]]) -> tuple[str, str]:
    """``(company_id, connection_id)`` of a connection no other test has touched.

    Only while no test turns on ``payout_interval_s`` here: it adds payouts to every connection
    (a test that wants it starts a sandbox of its own).
    """
    return next(_fresh_connections)


@pytest.fixture(autouse=True)
def _reset_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset_faults()


def connection_json(sb: CodatSandbox, password: str | None = None, **extra: Any) -> str:
    """``AIRFLOW_CONN_*`` JSON for the sandbox, with fast retries unless ``extra`` says otherwise."""
    return sb.airflow_connection(password=password, extra={**FAST, **extra})


@pytest.fixture
def codat_env(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point ``codat_default`` at the sandbox (fast retries); call it again to change password or extras."""

    def point(*, password: str | None = None, **extra: Any) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", connection_json(sandbox, password=password, **extra))

    point()
    return point


def this_second() -> datetime:
    """Now, cut to the whole second: the sandbox stamps arriving payouts in whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)


def wait_quiet(sb: CodatSandbox, timeout: float = 10.0) -> None:
    """Wait until no pull operation of the sandbox's first company runs (a test must not adopt another's)."""
    import time

    company = sb.company_ids[0]
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=sb.url, headers={"Authorization": sb.auth_header}) as client:
        while time.monotonic() < deadline:
            ops = client.get(f"/companies/{company}/data/history", params={"pageSize": 5000}).json()
            if all("completed" in op for op in ops["results"]):
                return
            time.sleep(0.05)
    raise AssertionError("pull operations still running")


def queue(data_type: str, ids: tuple[str, str]) -> str:
    """Queue a refresh of ``data_type`` on ``(company, connection)``; return the pull operation id."""
    from airflow_provider_codat.hooks.commerce import CodatCommerceHook

    hook = CodatCommerceHook()
    try:
        return str(hook.refresh_data_type(ids[0], data_type, ids[1])["id"])
    finally:
        hook.close()


def fire(trigger: Any, timeout: float = 30.0) -> dict[str, Any]:
    """Rebuild ``trigger`` from ``serialize()`` as the triggerer does, run it; return its event's payload.

    Both the settings and the event must survive a JSON round trip, as in Airflow's database.
    """
    import asyncio

    from airflow.sdk.module_loading import import_string

    classpath, kwargs = trigger.serialize()
    rebuilt = import_string(classpath)(**json.loads(json.dumps(kwargs)))

    async def first() -> dict[str, Any]:
        async for event in rebuilt.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    payload = asyncio.run(asyncio.wait_for(first(), timeout))
    assert json.loads(json.dumps(payload)) == payload, "events are small JSON"
    return payload
