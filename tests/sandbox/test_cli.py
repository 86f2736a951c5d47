"""The ``codat-sandbox`` command and the in-process runner."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sandbox.__main__ import build_parser, config_from_args


def test_cli_prints_its_url_serves_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_codat.sandbox",
            "--port",
            "0",
            "--api-key",
            "k3y",
            "--companies",
            "2",
            "--records",
            "3",
            "--records-transactions",
            "11",
            "--latency-ms",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Codat sandbox listening on http://127.0.0.1:")
        url = line.split(" on ")[1].split(" ")[0]
        auth = {"Authorization": "Basic " + base64.b64encode(b"k3y").decode()}
        companies = httpx.get(url + "/companies", headers=auth).json()
        assert companies["totalResults"] == 2
        company = companies["results"][0]
        conn = company["dataConnections"][0]["id"]
        txns = httpx.get(
            f"{url}/companies/{company['id']}/connections/{conn}/data/commerce-transactions", headers=auth
        )
        assert txns.json()["totalResults"] == 11
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


def test_cli_says_when_quirks_are_off_and_serves_strictly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_codat.sandbox", "--port", "0", "--quirks", "off"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.endswith("(API key 'codat-sandbox', quirks off)\n"), line
        url = line.split(" on ")[1].split(" ")[0]
        assert httpx.get(url + "/_sandbox/state").json()["quirks"] is False
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_cli_refuses_bad_settings_naming_them() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_codat.sandbox", "--companies", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "companies" in result.stderr


def test_cli_flags_map_onto_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--rate-limit-every",
            "4",
            "--retry-after-form",
            "http-date",
            "--pull-outcome",
            "*=FetchError",
            "--not-synced",
            "commerce-orders",
            "--records-for",
            "orders=9",
            "--anchor",
            "2025-05-01",
            "--quirks",
            "off",
        ]
    )
    config = config_from_args(args)
    assert config.quirks is False
    assert config_from_args(build_parser().parse_args([])).quirks is True
    assert config.faults.rate_limit.every == 4
    assert config.faults.retry_after_form == "http-date"
    assert config.faults.pull_outcome == {"*": "FetchError"}
    assert config.faults.not_synced == ["commerce-orders"]
    assert config.count_for("orders") == 9 and config.count_for("customers") == 25
    assert config.anchor.isoformat() == "2025-05-01T00:00:00+00:00"


def test_runner_exposes_ids_and_stops() -> None:
    with CodatSandbox(companies=2, connections=3) as sandbox:
        assert len(sandbox.company_ids) == 2 and len(sandbox.connection_ids) == 6
        assert (
            httpx.get(sandbox.url + "/companies", headers={"Authorization": sandbox.auth_header}).status_code
            == 200
        )
        url = sandbox.url
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/companies", timeout=1)


def test_same_seed_same_data_other_seed_other_ids() -> None:
    assert CodatSandbox(seed=1).connections == CodatSandbox(seed=1).connections
    assert CodatSandbox(seed=1).connections != CodatSandbox(seed=2).connections


def test_pytest_fixture_is_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("codat_sandbox")


def test_pytest_fixture_serves(codat_sandbox: CodatSandbox) -> None:
    response = httpx.get(
        codat_sandbox.url + "/companies", headers={"Authorization": codat_sandbox.auth_header}
    )
    assert response.json()["results"][0]["id"] == codat_sandbox.company_ids[0]


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A ``codat-sandbox`` process and its URL; killed if a test leaves it running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_codat.sandbox", "--port", "0", "--connections", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().split(" on ")[1].split(" ")[0]
    finally:
        proc.kill()
        proc.wait()


def patch_faults(url: str, body: str) -> httpx.Response:
    return httpx.patch(url + "/_sandbox/faults", content=body, headers={"Content-Type": "application/json"})


def stops_on_sigterm(proc: subprocess.Popen[str], within: float = 5.0) -> float:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=within + 5) == 0
    return time.monotonic() - started


def test_cli_stops_on_sigterm_after_refusing_settings_that_would_break_it(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = served
    for body in ('{"payout_interval_s": 1e-9}', '{"latency_ms": 1e999}', '{"retry_after_seconds": 1e999}'):
        assert patch_faults(url, body).status_code == 400
    auth = {"Authorization": "Basic " + base64.b64encode(b"codat-sandbox").decode()}
    assert httpx.get(url + "/companies", headers=auth, timeout=5).status_code == 200
    assert stops_on_sigterm(proc) < 5


# The tightest settings the sandbox accepts; one step beyond each is refused.
TIGHTEST = {
    "latency_ms": (60_000, 60_001),
    "payout_interval_s": (0.1, 0.09),
    "retry_after_seconds": (86_400, 86_401),
    "sync_seconds": (86_400, 86_401),
    "mutate_records": (10_000, 10_001),
}


def test_cli_stops_on_sigterm_at_the_tightest_accepted_settings(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = served
    for name, (accepted, beyond) in TIGHTEST.items():
        assert patch_faults(url, json.dumps({name: beyond})).status_code == 400, name
        assert patch_faults(url, json.dumps({name: accepted})).status_code == 200, name
    patch_faults(url, json.dumps({"mutate_every": 1, "rate_limit": {"every": 2}}))
    auth = {"Authorization": "Basic " + base64.b64encode(b"codat-sandbox").decode()}
    in_flight = [
        threading.Thread(target=_get, args=(f"{url}/companies", auth), daemon=True) for _ in range(3)
    ]
    for thread in in_flight:
        thread.start()
    time.sleep(1)  # payouts are due, requests sleep through their minute of latency
    assert stops_on_sigterm(proc) < 5


def _get(url: str, headers: dict[str, str]) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(url, headers=headers, timeout=120)


@pytest.mark.parametrize("days", ["inf", "nan", "-1", "1e300"])
def test_cli_refuses_a_history_it_cannot_build(days: str) -> None:
    args = build_parser().parse_args(["--history-days", days])
    with pytest.raises(ValueError, match=r"^history_days:"):
        config_from_args(args)
