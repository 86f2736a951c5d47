"""Benchmark: the transactions operator landing N records to local files, in parquet and jsonl.gz.

For each size, the sandbox runs as a separate process with N transactions on one connection; for
each format, a fresh child process builds ``CodatListTransactionsOperator`` (``full_refresh=True``,
``output=file://<temp dir>``), calls ``execute``, and reports its wall time, its peak RSS and the
bytes the manifest lists. The temporary directory is deleted after each run.

    python bench/operators_output.py                            # 100,000 and 1,000,000, both formats
    python bench/operators_output.py --records 200000 --formats parquet --latency-ms 50

The sandbox caches rendered pages until their data changes, and each size gets a new sandbox, so
the first format run at a size meets a cold server for every page after the first and the second
a warm one; the order of --formats is the order of the runs.

Target: each format's peak RSS at 1,000,000 records within 1.2x of its peak at 100,000.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMATS = ("jsonl", "jsonl.gz", "parquet")
RSS_TARGET = 1.2

CHILD = """
import json, os, resource, sys, time
url, company, connection, fmt, output, home, part_records, page_size = sys.argv[1:9]
os.environ["AIRFLOW_CONN_CODAT_DEFAULT"] = json.dumps(
    {"conn_type": "codat", "host": url, "password": "codat-sandbox"})
os.environ["AIRFLOW_HOME"] = home
from airflow_provider_codat.operators.commerce import CodatListTransactionsOperator
if fmt == "parquet":
    import airflow_provider_codat.output._arrow  # pyarrow is imported before the clock starts
options = {"part_records": int(part_records)} if int(part_records) else {}
if int(page_size):
    options["page_size"] = int(page_size)
op = CodatListTransactionsOperator(task_id="bench", company_id=company, connection_id=connection,
                                   output=output, format=fmt, full_refresh=True, **options)
op.hook.get_conn()  # the connection and the client are set up before the clock starts
with open("/proc/self/statm") as statm:
    base_mb = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
started = time.perf_counter()
manifest = op.execute({"data_interval_start": None, "data_interval_end": None})
seconds = time.perf_counter() - started
print(json.dumps({"records": manifest["records"], "seconds": seconds, "bytes": manifest["bytes"],
                  "parts": len(manifest["parts"]), "base_rss_mb": base_mb,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def start_sandbox(records: int, latency_ms: float) -> tuple[subprocess.Popen[str], str, str, str]:
    """Start the sandbox with ``records`` transactions; return it, its URL, company and connection."""
    import httpx

    command = [sys.executable, "-m", "airflow_provider_codat.sandbox", "--port", "0", "--records", "10"]
    command += ["--records-transactions", str(records), "--anchor", "2026-01-01"]
    command += ["--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().split(" on ")[1].split(" ")[0]
    state = httpx.get(url + "/_sandbox/state", timeout=60).json()
    company = state["companies"][0]
    return proc, url, company["id"], company["connections"][0]["id"]


def warm_up(url: str, company: str, connection: str) -> None:
    """One request before any timed run, so the first run does not pay the server's first-call costs."""
    import httpx

    auth = {"Authorization": "Basic " + base64.b64encode(b"codat-sandbox").decode()}
    path = f"{url}/companies/{company}/connections/{connection}/data/commerce-transactions"
    httpx.get(path, params={"pageSize": 1}, headers=auth, timeout=60).raise_for_status()


def run_child(args: argparse.Namespace, size: int, fmt: str, sandbox: tuple[str, str, str]) -> dict:
    """Run one operator in a fresh process, landing into a temporary directory; return its report."""
    with tempfile.TemporaryDirectory(prefix="codat-bench-") as out:
        command = [sys.executable, "-c", CHILD, *sandbox, fmt, f"file://{out}"]
        command += [str(HERE / ".airflow-home"), str(args.part_records), str(args.page_size)]
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        if done.returncode:
            sys.stderr.write(done.stderr[-4000:])
            raise SystemExit(f"{fmt} at {size:,} records: child exited {done.returncode}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, action="append", help="repeatable; default 100000, 1000000")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=["parquet", "jsonl.gz"])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--page-size", type=int, default=0, help="0: the connection's default")
    parser.add_argument("--part-records", type=int, default=0, help="0: the operator's default")
    args = parser.parse_args()
    sizes = sorted(set(args.records or [100_000, 1_000_000]))

    results: dict[tuple[int, str], dict] = {}
    head = f"{'records':>10}  {'format':8}  {'seconds':>8}  {'records/s':>10}  {'peak RSS MB':>11}"
    head += f"  {'before MB':>9}  {'output MB':>9}  {'parts':>5}"
    print(f"transactions to file://, {args.latency_ms:g} ms latency")
    print(head)
    print("-" * len(head))
    for size in sizes:
        proc, url, company, connection = start_sandbox(size, args.latency_ms)
        try:
            warm_up(url, company, connection)
            for fmt in args.formats:
                r = results[size, fmt] = run_child(args, size, fmt, (url, company, connection))
                if r["records"] != size:
                    print(f"  warning: {fmt} landed {r['records']:,} records, expected {size:,}")
                print(
                    f"{size:>10,}  {fmt:8}  {r['seconds']:8.2f}  {r['records'] / r['seconds']:>10,.0f}"
                    f"  {r['peak_rss_mb']:11.0f}  {r['base_rss_mb']:9.0f}  {r['bytes'] / 2**20:9.1f}"
                    f"  {r['parts']:>5}",
                    flush=True,
                )
        finally:
            proc.terminate()
            proc.wait(10)

    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\npeak RSS ratio {large:,} / {small:,} records (target <= {RSS_TARGET}x):")
        for fmt in args.formats:
            ratio = results[large, fmt]["peak_rss_mb"] / results[small, fmt]["peak_rss_mb"]
            verdict = "ok" if ratio <= RSS_TARGET else "NOT FLAT"
            print(f"  {fmt:8}  {ratio:5.2f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
