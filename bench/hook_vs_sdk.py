"""Benchmark: the hook's concurrent paging against the official SDK's sequential page loop.

Both pull every transaction of one connection from the sandbox (run as a separate process, with
injected latency per request), at the same page size. Each client runs in its own process, which
reports its wall time and peak RSS. The SDK (``codat-commerce``) pins versions that clash with
Airflow 3, so it lives in its own virtualenv (created on first use in ``bench/.sdk-venv``).

    python bench/hook_vs_sdk.py --records 200000 --latency-ms 50 --page-size 5000
    python bench/hook_vs_sdk.py --records 1000000 --hook-only   # RSS flatness check

Targets (issue 3): at least 4x faster than the SDK loop; the hook's peak RSS at 1,000,000
records within 1.2x of its peak at 100,000.
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--page-size", type=int, default=5000)
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
        hook = run([sys.executable, "-c", HOOK_CHILD, company, connection, str(args.page_size)], env)
        print(f"{args.records:,} transactions, pageSize {args.page_size}, {args.latency_ms:g} ms latency")
        print(
            f"  hook (concurrent): {hook['seconds']:6.2f} s  peak RSS {hook['peak_rss_mb']:6.0f} MB"
            f"  ({hook['records']:,} records)"
        )
        if args.hook_only:
            return 0
        auth = "Basic " + __import__("base64").b64encode(b"codat-sandbox").decode()
        sdk = run([str(sdk_python()), "-c", SDK_CHILD, url, auth, company, connection, str(args.page_size)])
        print(
            f"  SDK (sequential):  {sdk['seconds']:6.2f} s  peak RSS {sdk['peak_rss_mb']:6.0f} MB"
            f"  ({sdk['records']:,} records)"
        )
        print(f"  speed-up: {sdk['seconds'] / hook['seconds']:.1f}x")
        return 0
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
