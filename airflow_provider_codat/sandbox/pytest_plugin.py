"""Pytest fixtures for DAG tests against the sandbox (registered through the ``pytest11`` entry point).

- ``codat_sandbox``: a sandbox shared by the session, with its faults reset after each test;
  the ini setting ``codat_sandbox_quirks = off`` serves it strictly by Codat's spec.
- ``codat_sandbox_factory``: start sandboxes with your own settings (``quirks=False`` among
  them); stopped after the test.
- ``codat_sandboxes``: a sandbox with your own settings, started once per session and shared by
  every test that asks for the same settings (reset its faults yourself).
- ``codat_airflow_conn``: sets ``AIRFLOW_CONN_CODAT_DEFAULT`` to the shared sandbox, with short
  per-call retries (:data:`~airflow_provider_codat.sandbox.config.FAST_RETRIES`).

Imports stay inside the fixtures: pytest loads this module in every session of every project
that has the provider installed, with or without the ``sandbox`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_codat.sandbox.server import CodatSandbox


QUIRKS_INI = "codat_sandbox_quirks"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ini setting that turns the shared sandbox's quirks off."""
    parser.addini(QUIRKS_INI, "'off' serves the shared codat_sandbox strictly by Codat's spec", default="on")


@pytest.fixture(scope="session")
def _codat_sandbox_session(pytestconfig: pytest.Config) -> Iterator[CodatSandbox]:
    from airflow_provider_codat.sandbox.server import CodatSandbox

    setting = pytestconfig.getini(QUIRKS_INI)
    if setting not in ("on", "off"):
        raise pytest.UsageError(f"{QUIRKS_INI}: expected on or off, got {setting!r}")
    with CodatSandbox(quirks=setting == "on") as sandbox:
        yield sandbox


@pytest.fixture
def codat_sandbox(_codat_sandbox_session: CodatSandbox) -> Iterator[CodatSandbox]:
    """The session's sandbox; faults set in a test are reset when it ends."""
    yield _codat_sandbox_session
    _codat_sandbox_session.reset_faults()


@pytest.fixture
def codat_sandbox_factory() -> Iterator[Callable[..., CodatSandbox]]:
    """Start sandboxes with ``SandboxConfig`` settings (``quirks=False``, ...); each stops after the test."""
    from airflow_provider_codat.sandbox.server import CodatSandbox

    started: list[CodatSandbox] = []

    def start(**settings: Any) -> CodatSandbox:
        sandbox = CodatSandbox(**settings).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture(scope="session")
def codat_sandboxes() -> Iterator[Callable[..., CodatSandbox]]:
    """Return the session's sandbox with these ``SandboxConfig`` settings, starting it on first use."""
    from airflow_provider_codat.sandbox.server import CodatSandbox

    started: dict[str, CodatSandbox] = {}

    def shared(**settings: Any) -> CodatSandbox:
        key = repr(sorted(settings.items()))
        if key not in started:
            started[key] = CodatSandbox(**settings).start()
        return started[key]

    yield shared
    for sandbox in started.values():
        sandbox.stop()


@pytest.fixture
def codat_airflow_conn(codat_sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> CodatSandbox:
    """Point the ``codat_default`` Airflow connection at the shared sandbox, with short per-call retries."""
    from airflow_provider_codat.sandbox.config import FAST_RETRIES

    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", codat_sandbox.airflow_connection(extra=FAST_RETRIES))
    return codat_sandbox
