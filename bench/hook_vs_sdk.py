"""Benchmark: the hook's paging against the official SDK's page loop and the raw floor.

Three clients pull every transaction of one connection from the sandbox (a separate process,
with injected latency per request and its page cache warmed first), at the same page size:

* ``hook``: ``CodatCommerceHook.list_pages``, records as dicts with exact Decimals;
* ``floor``: raw httpx and ``json.loads`` (floats), 10 pages in flight, no models, no checks:
  about the least any Python client can spend;
* ``SDK``: the official ``codat-commerce`` SDK's sequential page loop. It pins versions that
  clash with Airflow 3, so it lives in its own virtualenv (created on first use in
  ``bench/.sdk-venv``).

Each run is a fresh process that times itself; the clients alternate in rounds, and every run,
the medians, the load average at start and end, and the sandbox's CPU per page are printed
(a run where the sandbox's CPU nears the run's wall time measured the sandbox: it is flagged).

    python bench/hook_vs_sdk.py --records 200000 --latency-ms 50 --page-size 5000
    python bench/hook_vs_sdk.py --records 1000000 --contenders hook   # RSS flatness check

Targets: the hook within 1.3x of the floor, the SDK at least 6x slower than the hook;
the hook's peak RSS at 1,000,000 records within 1.2x of its peak at 100,000.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from _bench import AUTH, HERE, Sandbox, alternate, load, parse_arguments, run_child

SDK_VENV = HERE / ".sdk-venv"

HOOK_CHILD = """
import json, resource, sys, time
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

FLOOR_CHILD = """
import json, resource, sys, time
from concurrent.futures import ThreadPoolExecutor
import httpx
url, auth, path, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = httpx.Client(base_url=url, headers={"Authorization": auth}, timeout=120,
                      limits=httpx.Limits(max_connections=10, max_keepalive_connections=10))
def fetch(number):
    response = client.get(path, params={"page": number, "pageSize": size})
    response.raise_for_status()
    return response.content
started = time.perf_counter()
first = json.loads(fetch(1))
count = len(first["results"])
last = -(-first["totalResults"] // size)
with ThreadPoolExecutor(10) as pool:  # map submits every page, 10 run at once; decoded in order here
    for body in pool.map(fetch, range(2, last + 1)):
        count += len(json.loads(body)["results"])
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

CLIENTS = ("hook", "floor", "sdk")


def sdk_python() -> Path:
    """Return the SDK virtualenv's python, creating the virtualenv on first use."""
    python = SDK_VENV / "bin" / "python"
    if not python.exists():
        venv.create(SDK_VENV, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "codat-commerce==0.35.0"], check=True)
    return python


def commands(client: str, box: Sandbox, size: int) -> list[str]:
    if client == "hook":
        return [sys.executable, "-c", HOOK_CHILD, box.company, box.connection, str(size)]
    if client == "floor":
        return [sys.executable, "-c", FLOOR_CHILD, box.url, AUTH, box.path, str(size)]
    return [str(sdk_python()), "-c", SDK_CHILD, box.url, AUTH, box.company, box.connection, str(size)]


def main() -> int:
    args = parse_arguments(__doc__, CLIENTS)
    medians = alternate(
        args, lambda name, box: run_child(commands(name, box, args.page_size), box, box.env())
    )
    if "hook" in medians and "floor" in medians:
        print(f"  hook / floor: {medians['hook'] / medians['floor']:.2f}x (target <= 1.3x)")
    if "hook" in medians and "sdk" in medians:
        print(f"  SDK / hook:   {medians['sdk'] / medians['hook']:.1f}x (target >= 6x)")
    print(f"end:   {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
