"""Benchmark: the hook's concurrent paging against the official SDK's sequential page loop.

Both pull every transaction of one connection from the sandbox (run as a separate process, with
injected latency per request), at the same page size. Each client runs in its own process, which
reports its wall time and peak RSS. The SDK (``codat-commerce``) pins versions that clash with
Airflow 3, so it lives in its own virtualenv (created on first use in ``bench/.sdk-venv``).

    python bench/hook_vs_sdk.py --records 200000 --latency-ms 50 --page-size 5000
    python bench/hook_vs_sdk.py --records 1000000 --hook-only   # RSS flatness check

The sandbox caches rendered pages until their data changes, so the first run of the first client
meets a cold server and every later run a warm one; each run's time is printed.

Targets (issue 3): at least 4x faster than the SDK loop; the hook's peak RSS at 1,000,000
records within 1.2x of its peak at 100,000.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
SDK_VENV = HERE / ".sdk-venv"

HOOK_CHILD = """
import json, os, resource, sys, time
from airflow_provider_codat.hooks.commerce import CodatCommerceHook
company, connection, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
hook = CodatCommerceHook()
hook.get_conn()  # the connection and the client are set up before the clock starts, as the SDK's are
started = time.perf_counter()
pages = hook.list_pages("transactions", company, connection, page_size=size)
count = sum(len(page.records) for page in pages)
print(json.dumps({"records": count, "seconds": time.perf_counter() - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SDK_CHILD = """
import json, resource, sys, time
from codat_commerce import CodatCommerce
url, auth, company, connection, size = sys.argv[1:6]
sdk = CodatCommerce(auth_header=auth, server_url=url)
started = time.perf_counter()
count, page = 0, 1
while True:
    res = sdk.transactions.list(request={"company_id": company, "connection_id": connection,
                                         "page": page, "page_size": int(size)})
    count += len(res.results or [])
    if not res.links or not res.links.next:
        break
    page += 1
print(json.dumps({"records": count, "seconds": time.perf_counter() - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def sdk_python() -> Path:
    """Return the SDK virtualenv's python, creating the virtualenv on first use."""
    python = SDK_VENV / "bin" / "python"
    if not python.exists():
        venv.create(SDK_VENV, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "codat-commerce==0.35.0"], check=True)
    return python


def start_sandbox(records: int, latency_ms: float) -> tuple[subprocess.Popen[str], str, str, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_codat.sandbox",
            "--port",
            "0",
            "--records",
            "10",
            "--records-transactions",
            str(records),
            "--latency-ms",
            str(latency_ms),
            "--anchor",
            "2026-01-01",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().split(" on ")[1].split(" ")[0]
    import httpx

    state = httpx.get(url + "/_sandbox/state").json()
    company = state["companies"][0]
    return proc, url, company["id"], company["connections"][0]["id"]


def run(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def warm_up(url: str, company: str, connection: str, page_size: int) -> None:
    """One request before any timed run, so neither client pays the server's first-call costs."""
    import base64

    import httpx

    auth = {"Authorization": "Basic " + base64.b64encode(b"codat-sandbox").decode()}
    path = f"{url}/companies/{company}/connections/{connection}/data/commerce-transactions"
    httpx.get(path, params={"pageSize": page_size}, headers=auth, timeout=60).raise_for_status()


def report(name: str, runs: list[dict[str, float]]) -> float:
    seconds = statistics.median(r["seconds"] for r in runs)
    each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    rss = max(r["peak_rss_mb"] for r in runs)
    print(
        f"  {name:18s} median {seconds:6.2f} s ({each})  peak RSS {rss:5.0f} MB"
        f"  ({int(runs[0]['records']):,} records)"
    )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each client, alternating")
    parser.add_argument("--hook-only", action="store_true", help="skip the SDK run")
    args = parser.parse_args()

    proc, url, company, connection = start_sandbox(args.records, args.latency_ms)
    try:
        env = {
            **os.environ,
            "AIRFLOW_CONN_CODAT_DEFAULT": json.dumps(
                {"conn_type": "codat", "host": url, "password": "codat-sandbox"}
            ),
        }
        env.setdefault("AIRFLOW_HOME", str(HERE / ".airflow-home"))
        auth = "Basic " + base64.b64encode(b"codat-sandbox").decode()
        warm_up(url, company, connection, args.page_size)
        hook_cmd = [sys.executable, "-c", HOOK_CHILD, company, connection, str(args.page_size)]
        sdk_cmd = (
            None
            if args.hook_only
            else [str(sdk_python()), "-c", SDK_CHILD, url, auth, company, connection, str(args.page_size)]
        )
        hook_runs, sdk_runs = [], []
        for _ in range(args.rounds):
            hook_runs.append(run(hook_cmd, env))
            if sdk_cmd:
                sdk_runs.append(run(sdk_cmd))
        print(f"{args.records:,} transactions, pageSize {args.page_size}, {args.latency_ms:g} ms latency")
        hook = report("hook (concurrent)", hook_runs)
        if sdk_runs:
            sdk = report("SDK (sequential)", sdk_runs)
            print(f"  speed-up: {sdk / hook:.1f}x")
        return 0
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
