"""Benchmark: the transactions operator landing parquet and jsonl.gz, against the hook's bare pull and dlt.

Four contenders pull every transaction of one connection from one sandbox (a separate process,
with injected latency per request and its page cache warmed first), at the same page size:

* ``hook``: ``CodatCommerceHook.list_pages``, the bare pull (records decoded, nothing written);
* ``parquet`` and ``jsonl.gz``: ``CodatListTransactionsOperator`` with ``full_refresh=True``
  writing to ``file://`` in a temporary directory (deleted after each run);
* ``dlt``: dlt's ``rest_api`` source (paging by Codat's ``_links.next``, sequential pages, dlt's
  defaults otherwise) run by a pipeline into the ``filesystem`` destination as parquet. dlt lives
  in its own virtualenv (created on first use in ``bench/.dlt-venv``), as the SDK does.

Each run is a fresh process that times itself (imports and setup before the clock starts); the
contenders alternate in rounds, and every run, the medians, the load average at start and end,
and the sandbox's CPU per page are printed.

    python bench/operator_vs_dlt.py --records 200000 --latency-ms 50 --page-size 5000

Targets: parquet within 1.3x of the hook's pull, jsonl.gz within 1.2x; dlt at least
8x slower than the operator to parquet.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from _bench import AUTH, HERE, Sandbox, alternate, load, parse_arguments, run_child
from hook_vs_sdk import HOOK_CHILD

DLT_VENV = HERE / ".dlt-venv"
DLT_VERSION = "1.31.0"

OPERATOR_CHILD = """
import json, resource, sys, time
company, connection, fmt, output, size = sys.argv[1:6]
from airflow_provider_codat.operators.commerce import CodatListTransactionsOperator
if fmt == "parquet":
    import airflow_provider_codat.output._arrow  # pyarrow is imported before the clock starts
op = CodatListTransactionsOperator(task_id="bench", company_id=company, connection_id=connection,
                                   output=output, format=fmt, full_refresh=True, page_size=int(size))
op.hook.get_conn()  # the connection and the client are set up before the clock starts
started = time.perf_counter()
manifest = op.execute({"data_interval_start": None, "data_interval_end": None})
print(json.dumps({"records": manifest["records"], "seconds": time.perf_counter() - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

DLT_CHILD = """
import json, os, resource, sys, time
url, auth, path, size, out = sys.argv[1:6]
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
import dlt
from dlt.sources.rest_api import rest_api_source
source = rest_api_source({
    "client": {"base_url": url, "headers": {"Authorization": auth}},
    "resources": [{
        "name": "transactions",
        "endpoint": {
            "path": path,
            "params": {"pageSize": int(size)},
            "data_selector": "results",
            "paginator": {"type": "json_link", "next_url_path": "_links.next.href"},
        },
    }],
})
destination = dlt.destinations.filesystem(bucket_url="file://" + os.path.join(out, "data"))
pipeline = dlt.pipeline(pipeline_name="codat_bench", pipelines_dir=os.path.join(out, "pipelines"),
                        destination=destination, dataset_name="codat")
started = time.perf_counter()
info = pipeline.run(source, loader_file_format="parquet")
seconds = time.perf_counter() - started
count = pipeline.last_trace.last_normalize_info.row_counts.get("transactions", 0)
print(json.dumps({"records": count, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CONTENDERS = ("hook", "parquet", "jsonl.gz", "dlt")


def dlt_python() -> Path:
    """Return the dlt virtualenv's python, creating the virtualenv on first use."""
    python = DLT_VENV / "bin" / "python"
    if not python.exists():
        venv.create(DLT_VENV, with_pip=True)
        spec = f"dlt[parquet,filesystem]=={DLT_VERSION}"
        subprocess.run([python, "-m", "pip", "install", "-q", spec], check=True)
    return python


def run_one(contender: str, box: Sandbox, size: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="codat-bench-") as out:
        if contender == "hook":
            cmd = [sys.executable, "-c", HOOK_CHILD, box.company, box.connection, str(size)]
        elif contender == "dlt":
            cmd = [str(dlt_python()), "-c", DLT_CHILD, box.url, AUTH, box.path, str(size), out]
        else:
            cmd = [sys.executable, "-c", OPERATOR_CHILD, box.company, box.connection, contender]
            cmd += [f"file://{out}", str(size)]
        return run_child(cmd, box, box.env())


def main() -> int:
    args = parse_arguments(__doc__, CONTENDERS)
    medians = alternate(args, lambda name, box: run_one(name, box, args.page_size))
    if "hook" in medians:
        for fmt, target in (("parquet", 1.3), ("jsonl.gz", 1.2)):
            if fmt in medians:
                print(f"  {fmt} / hook: {medians[fmt] / medians['hook']:.2f}x (target <= {target}x)")
    if "dlt" in medians and "parquet" in medians:
        print(f"  dlt / parquet: {medians['dlt'] / medians['parquet']:.1f}x (target >= 8x)")
    print(f"end:   {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
