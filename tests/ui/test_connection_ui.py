"""The ``codat`` connection as Airflow's UI sees it, through a real ``airflow api-server``.

The API server runs as a subprocess on loopback, on the session's throwaway AIRFLOW_HOME, with the
simple auth manager making everyone admin and connection testing enabled. The tests read the form
metadata the UI draws the connection form from, and press "Test" through the REST API against a
running sandbox.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.version_compat import get_base_airflow_version_tuple

pytestmark = pytest.mark.slow

STARTUP_LIMIT = 60.0
CUSTOM_FIELDS = {
    "timeout": "Request timeout (s)",
    "max_attempts": "Max attempts",
    "initial_wait": "Initial retry wait (s)",
    "max_wait": "Max single wait (s)",
    "max_total": "Max total retry time (s)",
    "page_size": "Default page size",
    "max_concurrency": "Max concurrent requests",
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _airflow_cli() -> list[str]:
    exe = Path(sys.executable).with_name("airflow")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("airflow")
    return [found] if found else [sys.executable, "-m", "airflow"]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    # The server forks workers: signal its whole process group.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _airflow_env() -> dict[str, str]:
    """The environment of the API server and the CLI: this session's Airflow home, testing enabled."""
    return {
        **os.environ,
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__WORKERS": "1",
    }


@pytest.fixture(scope="module")
def api_server(airflow_db: None) -> Iterator[str]:
    """Base URL of an ``airflow api-server`` on loopback; skips the module if it cannot start."""
    port = _free_port()
    env = _airflow_env()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [*_airflow_cli(), "api-server", "--port", str(port), "--host", "127.0.0.1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if not _wait_healthy(proc, base):
                _stop(proc)
                log.seek(0)
                output = log.read().decode(errors="replace")[-3000:]
                pytest.skip(f"airflow api-server did not start within {STARTUP_LIMIT:.0f} s:\n{output}")
            yield base
        finally:
            _stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], base: str) -> bool:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


@pytest.fixture(scope="module")
def api(api_server: str) -> Iterator[httpx.Client]:
    """A client for the API server, carrying the JWT every user gets under all-admins simple auth."""
    token = httpx.get(f"{api_server}/auth/token", timeout=10)
    assert token.status_code == 201, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with httpx.Client(base_url=api_server, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def sandbox(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    return codat_sandboxes(companies=3, connections=1, records=5)


@pytest.fixture(scope="module")
def codat_form(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/ui/connections/hook_meta")
    assert response.status_code == 200, response.text
    forms = {row["connection_type"]: row for row in response.json()}
    assert "codat" in forms, sorted(k for k in forms if k)
    return forms["codat"]


def test_form_names_the_hook(codat_form: dict[str, Any]) -> None:
    assert codat_form["hook_name"] == "Codat"
    assert codat_form["hook_class_name"] == "airflow_provider_codat.hooks.commerce.CodatCommerceHook"


def test_form_hides_unused_standard_fields(codat_form: dict[str, Any]) -> None:
    standard = codat_form["standard_fields"]
    for name in ("login", "port", "url_schema"):
        assert standard[name]["hidden"] is True, name


def test_form_relabels_host_and_password(codat_form: dict[str, Any]) -> None:
    standard = codat_form["standard_fields"]
    assert standard["host"] == {"hidden": False, "title": "Base URL", "placeholder": "https://api.codat.io"}
    assert standard["password"]["hidden"] is False
    assert standard["password"]["title"] == "API key"
    assert "API key" in standard["password"]["placeholder"]


def test_form_carries_the_custom_fields(codat_form: dict[str, Any]) -> None:
    extra = codat_form["extra_fields"]
    assert set(extra) == set(CUSTOM_FIELDS)
    for name, label in CUSTOM_FIELDS.items():
        field = extra[name]
        assert field["schema"]["title"] == label, name
        assert field["description"], name
        assert field["value"] is None, name
    assert extra["page_size"]["schema"] == {
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": 5000,
        "title": "Default page size",
    }
    assert extra["max_concurrency"]["schema"]["maximum"] == 10


def _test(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"connection_id": "codat_ui_test", "conn_type": "codat", **fields}
    response = api.post("/api/v2/connections/test", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_test_button_succeeds_against_the_sandbox(api: httpx.Client, sandbox: CodatSandbox) -> None:
    result = _test(api, host=sandbox.url, password=sandbox.api_key)
    assert result["status"] is True, result
    assert result["message"] == f"Connected to Codat at {sandbox.url}: 3 companies visible."


def test_test_button_reports_a_wrong_key(api: httpx.Client, sandbox: CodatSandbox) -> None:
    result = _test(api, host=sandbox.url, password="not-the-key")
    assert result["status"] is False, result
    assert "401" in result["message"]
    assert "API key" in result["message"]


def test_test_button_honours_custom_fields(api: httpx.Client, sandbox: CodatSandbox) -> None:
    extra = '{"timeout": 5, "max_attempts": 1, "page_size": 100}'
    result = _test(api, host=sandbox.url, password=sandbox.api_key, extra=extra)
    assert result["status"] is True, result


def test_test_button_messages_name_no_connection_id(api: httpx.Client, sandbox: CodatSandbox) -> None:
    """Airflow tests a copy under a random id: the messages must not quote it (nor any other id)."""
    bad = _test(api, host=sandbox.url, password=sandbox.api_key, extra='{"page_size": 2.5}')
    assert bad["status"] is False
    assert bad["message"].startswith("The connection cannot be used: page_size: "), bad
    port = _free_port()  # released: nothing listens there
    unreachable = _test(api, host=f"http://127.0.0.1:{port}", password=sandbox.api_key)
    assert unreachable == {
        "status": False,
        "message": f"request to http://127.0.0.1:{port} failed: ConnectError (GET /companies)",
    }
    for result in (bad, unreachable):
        assert "codat connection" not in result["message"] and "codat_ui_test" not in result["message"]
        assert sandbox.api_key not in result["message"]


SAVED = "codat_ui_saved"
PORT_ZERO_REFUSED = get_base_airflow_version_tuple() >= (3, 3, 1)
"""Airflow 3.3.1+ refuses a test of a saved connection whose form sends port 0 for a port never set."""


@pytest.fixture
def saved(api: httpx.Client, sandbox: CodatSandbox) -> Iterator[str]:
    """A connection saved without a port, as the form saves one."""
    body = {"connection_id": SAVED, "conn_type": "codat", "host": sandbox.url, "password": sandbox.api_key}
    response = api.post("/api/v2/connections", json=body)
    assert response.status_code == 201, response.text
    yield SAVED
    api.delete(f"/api/v2/connections/{SAVED}")


def test_the_test_button_on_a_saved_connection(api: httpx.Client, sandbox: CodatSandbox, saved: str) -> None:
    """docs/connection.md: the port-0 bug of Airflow 3.3.1+, and its workarounds."""
    as_saved = {"connection_id": saved, "conn_type": "codat", "host": sandbox.url, "password": "***"}
    ok = api.post("/api/v2/connections/test", json=as_saved)  # the stored key is used
    assert ok.status_code == 200 and ok.json()["status"] is True, ok.text
    assert ok.json()["message"] == f"Connected to Codat at {sandbox.url}: 3 companies visible."

    port_zero = api.post("/api/v2/connections/test", json={**as_saved, "port": 0})  # what the form sends
    if PORT_ZERO_REFUSED:
        assert port_zero.status_code == 400, port_zero.text
        assert "differs from the stored connection" in port_zero.json()["detail"]
    else:
        assert port_zero.status_code == 200 and port_zero.json()["status"] is True, port_zero.text

    retyped = api.post("/api/v2/connections/test", json={**as_saved, "port": 0, "password": sandbox.api_key})
    assert retyped.status_code == 200 and retyped.json()["status"] is True, retyped.text

    cli = subprocess.run(
        [*_airflow_cli(), "connections", "test", saved],
        env=_airflow_env(),
        capture_output=True,
        text=True,
        timeout=STARTUP_LIMIT,
        check=False,
    )
    assert cli.returncode == 0 and "Connection success!" in cli.stdout, cli.stdout + cli.stderr
