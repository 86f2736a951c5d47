"""Benchmark: can the sandbox serve a million-transaction connection fast and in little memory?

Starts ``codat-sandbox`` as a subprocess with N transactions on one connection, then times
5000-record pages (unfiltered, at the start, middle and end; and filtered by a modifiedDate range)
and reads the server's resident memory.

    python bench/sandbox_scale.py --records 1000000

Targets (issue 2): each page under 0.5 s, the server under 500 MB RSS.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import psutil

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_codat.sandbox",
            "--port",
            "0",
            "--companies",
            "1",
            "--connections",
            "1",
            "--records",
            "10",
            "--records-transactions",
            str(args.records),
            "--anchor",
            ANCHOR.isoformat(),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" on ")[1].split(" ")[0]
        key = base64.b64encode(b"codat-sandbox").decode()
        with httpx.Client(base_url=url, headers={"Authorization": f"Basic {key}"}, timeout=60) as client:
            state = client.get("/_sandbox/state").json()
            company = state["companies"][0]["id"]
            connection = state["companies"][0]["connections"][0]["id"]
            path = f"/companies/{company}/connections/{connection}/data/commerce-transactions"
            last_page = -(-args.records // args.page_size)
            window = (ANCHOR - timedelta(days=10), ANCHOR - timedelta(days=9))
            query = (
                f"modifiedDate>={window[0]:%Y-%m-%dT%H:%M:%SZ}&&modifiedDate<{window[1]:%Y-%m-%dT%H:%M:%SZ}"
            )
            cases = {
                "unfiltered, first page": {"page": 1},
                "unfiltered, middle page": {"page": last_page // 2},
                "unfiltered, last page": {"page": last_page},
                "modifiedDate range, first page": {"page": 1, "query": query},
                "orderBy=-modifiedDate, page 3": {"page": 3, "orderBy": "-modifiedDate"},
            }
            print(
                f"sandbox: {args.records:,} transactions, pageSize {args.page_size}, {args.repeat} runs each"
            )
            worst = 0.0
            for name, params in cases.items():
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    response = client.get(path, params={**params, "pageSize": args.page_size})
                    response.raise_for_status()
                    body = response.json()
                    times.append(time.perf_counter() - started)
                worst = max(worst, *times)
                median_ms, max_ms = statistics.median(times) * 1000, max(times) * 1000
                print(
                    f"  {name:34s} median {median_ms:7.1f} ms  max {max_ms:7.1f} ms"
                    f"  ({len(body['results'])} records of {body['totalResults']:,})"
                )
        rss = psutil.Process(proc.pid).memory_info().rss / 2**20
        print(f"  server RSS after the runs: {rss:.0f} MB")
        ok = worst < 0.5 and rss < 500
        print("targets met (page < 0.5 s, RSS < 500 MB)" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
