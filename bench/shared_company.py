"""Benchmark: several pulls of one company at once, each in its own process, as separate workers run them.

Codat allows 10 requests in flight per company; every request beyond is refused with a 429 that
still counts against the daily quota. Each pull here fetches up to ``max_concurrency`` pages at
once, so N pulls of one company at once offer up to 10 x N. The bench starts a sandbox (its own
process, with latency per request), runs N hook pulls of different resources of one connection
in N processes at the same moment, and reports the requests sent against the pages needed, and
the 429s the sandbox refused for concurrency.

    python bench/shared_company.py --pulls 5 --records 25000 --page-size 1000 --latency-ms 50

Target (issue 12): requests at most 1.05x the pages, instead of about 2x.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
RESOURCES = ("orders", "payments", "transactions", "customers", "products", "disputes", "locations")

CHILD = """
import json, sys, time
from airflow_provider_codat.hooks.commerce import CodatCommerceHook
resource, company, connection, size, start_at = sys.argv[1:6]
hook = CodatCommerceHook()
hook.get_conn()
time.sleep(max(0.0, float(start_at) - time.time()))  # every pull starts at the same moment
started = time.perf_counter()
count = sum(len(p.records) for p in hook.list_pages(resource, company, connection, page_size=int(size)))
print(json.dumps({"resource": resource, "records": count, "seconds": time.perf_counter() - started}))
"""


def start_sandbox(records: int, latency_ms: float) -> tuple[subprocess.Popen[str], str, str, str]:
    counts = [f"--records-for={name}={records}" for name in RESOURCES]
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "airflow_provider_codat.sandbox", "--port", "0", "--records", "10"),
            *counts,
            *("--latency-ms", str(latency_ms), "--anchor", "2026-01-01"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().split(" on ")[1].split(" ")[0]
    company = httpx.get(url + "/_sandbox/state").json()["companies"][0]
    return proc, url, company["id"], company["connections"][0]["id"]


def counters(url: str) -> dict[str, int]:
    state = httpx.get(url + "/_sandbox/state").json()["counters"]
    rejected = state.get("rejected", {})
    return {"requests": int(state["requests_today"]), "concurrency_429": int(rejected.get("concurrency", -1))}


def one_round(url: str, company: str, connection: str, args: argparse.Namespace) -> dict[str, float]:
    env = {
        **os.environ,
        "AIRFLOW_CONN_CODAT_DEFAULT": json.dumps(
            {"conn_type": "codat", "host": url, "password": "codat-sandbox"}
        ),
    }
    env.setdefault("AIRFLOW_HOME", str(HERE / ".airflow-home"))
    before = counters(url)
    start_at = time.time() + 4.0  # time for every child to import Airflow first
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, name, company, connection, str(args.page_size), str(start_at)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in RESOURCES[: args.pulls]
    ]
    results = [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    after = counters(url)
    assert all(r["records"] == args.records for r in results), results
    pages = args.pulls * math.ceil(args.records / args.page_size)
    requests = after["requests"] - before["requests"]
    rejected = after["concurrency_429"] - before["concurrency_429"]
    return {
        "pages": pages,
        "requests": requests,
        "ratio": requests / pages,
        "concurrency_429": rejected if before["concurrency_429"] >= 0 else float("nan"),
        "seconds": max(r["seconds"] for r in results),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pulls", type=int, default=5, choices=range(1, len(RESOURCES) + 1))
    parser.add_argument("--records", type=int, default=25_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    proc, url, company, connection = start_sandbox(args.records, args.latency_ms)
    try:
        print(
            f"{args.pulls} pulls of one company at once, {args.records:,} records each, pageSize "
            f"{args.page_size}, {args.latency_ms:g} ms latency; load {os.getloadavg()[0]:.2f}"
        )
        runs = []
        for number in range(1, args.rounds + 1):
            run = one_round(url, company, connection, args)
            runs.append(run)
            print(
                f"  round {number}: {run['requests']:.0f} requests for {run['pages']:.0f} pages "
                f"({run['ratio']:.2f}x), {run['concurrency_429']:.0f} concurrency 429s, "
                f"slowest pull {run['seconds']:.2f} s"
            )
        print(
            f"  median: {statistics.median(r['ratio'] for r in runs):.2f}x requests per page, "
            f"slowest pull {statistics.median(r['seconds'] for r in runs):.2f} s; "
            f"load {os.getloadavg()[0]:.2f}"
        )
        return 0
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
