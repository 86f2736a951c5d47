"""What the benchmarks share: the sandbox as a subprocess, its CPU, child runs, load and medians.

Every benchmark runs its contenders in alternating rounds against one sandbox, each run in a
fresh process that times itself, and prints every run, the medians and the load average at
start and end (other work on the machine shows up there, not hidden in a median).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
AUTH = "Basic " + base64.b64encode(b"codat-sandbox").decode()
SANDBOX_BOUND = 0.8
"""Server CPU over a run's wall time above which the run measured the sandbox, not the client."""


def load() -> str:
    """The 1, 5 and 15 minute load averages, for the record."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def wait_for_quiet(threshold: float, max_wait: float) -> None:
    """Poll the 1-minute load average until it is below ``threshold``, for at most ``max_wait`` s."""
    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5)


@dataclass
class Sandbox:
    """The sandbox serving one connection of ``records`` transactions."""

    records: int
    latency_ms: float
    proc: subprocess.Popen[str] = field(init=False)
    url: str = field(init=False)
    company: str = field(init=False)
    connection: str = field(init=False)

    def __enter__(self) -> Sandbox:
        import httpx

        command = [sys.executable, "-m", "airflow_provider_codat.sandbox", "--port", "0", "--records", "10"]
        command += ["--records-transactions", str(self.records), "--anchor", "2026-01-01"]
        command += ["--latency-ms", str(self.latency_ms)]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().split(" on ")[1].split(" ")[0]
        state = httpx.get(self.url + "/_sandbox/state", timeout=60).json()
        self.company = state["companies"][0]["id"]
        self.connection = state["companies"][0]["connections"][0]["id"]
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    @property
    def path(self) -> str:
        return f"/companies/{self.company}/connections/{self.connection}/data/commerce-transactions"

    def warm(self, page_size: int) -> None:
        """Render every page once, so that every timed run meets the warm page cache."""
        import httpx

        pages = -(-self.records // page_size)
        with httpx.Client(base_url=self.url, headers={"Authorization": AUTH}, timeout=120) as client:
            for number in range(1, pages + 1):
                client.get(self.path, params={"page": number, "pageSize": page_size}).raise_for_status()

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the sandbox process has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def env(self) -> dict[str, str]:
        """The environment of a child process using the hook against this sandbox."""
        conn = {"conn_type": "codat", "host": self.url, "password": "codat-sandbox"}
        env = {**os.environ, "AIRFLOW_CONN_CODAT_DEFAULT": json.dumps(conn)}
        env.setdefault("AIRFLOW_HOME", str(HERE / ".airflow-home"))
        return env


def run_child(cmd: list[str], sandbox: Sandbox, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one timed child; return its report plus the sandbox's CPU seconds during the run."""
    before = sandbox.cpu_seconds()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"child exited {done.returncode}: {' '.join(cmd[:3])}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["server_cpu"] = sandbox.cpu_seconds() - before
    return result


def report(name: str, runs: list[dict[str, Any]], pages: int) -> float:
    """Print every run and the median of ``runs``; flag runs the sandbox's CPU bounded."""
    seconds = statistics.median(r["seconds"] for r in runs)
    each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    rss = max(r["peak_rss_mb"] for r in runs)
    server = statistics.median(r["server_cpu"] for r in runs)
    bound = [r for r in runs if r["server_cpu"] > SANDBOX_BOUND * r["seconds"]]
    flag = f"  SANDBOX-BOUND in {len(bound)} of {len(runs)} runs" if bound else ""
    print(
        f"  {name:30s} median {seconds:6.2f} s ({each})  peak RSS {rss:5.0f} MB"
        f"  sandbox CPU {server * 1000 / pages:5.1f} ms/page{flag}  ({int(runs[0]['records']):,} records)"
    )
    return seconds


def parse_arguments(doc: str | None, contenders: Sequence[str]) -> argparse.Namespace:
    """The command line every alternating benchmark takes; ``--contenders`` picks among ``contenders``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each contender, alternating")
    parser.add_argument("--contenders", nargs="+", choices=contenders, default=list(contenders))
    parser.add_argument("--quiet-load", type=float, default=0.0, help="first wait (<= 10 min) for load below")
    args = parser.parse_args()
    if args.quiet_load:
        wait_for_quiet(args.quiet_load, 600)
    return args


def alternate(args: argparse.Namespace, run: Callable[[str, Sandbox], dict[str, Any]]) -> dict[str, float]:
    """Run every contender ``args.rounds`` times, alternating, on one warmed sandbox; return the medians."""
    print(f"start: {load()}")
    with Sandbox(args.records, args.latency_ms) as box:
        box.warm(args.page_size)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in args.contenders}
        for _ in range(args.rounds):
            for name in args.contenders:
                runs[name].append(run(name, box))
        pages = -(-args.records // args.page_size)
        print(f"{args.records:,} transactions, pageSize {args.page_size}, {args.latency_ms:g} ms latency")
        return {name: report(name, runs[name], pages) for name in args.contenders}
