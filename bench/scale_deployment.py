"""Benchmark: the batch example DAG on a real Airflow deployment, against a sandbox of many companies.

It starts a sandbox (its own process, with latency per request) and a throwaway deployment, all on
127.0.0.1 and stopped at the end (also on failure or Ctrl-C): PostgreSQL (Debian's, in a temp data
dir) as the metadata database, and the real ``airflow api-server``, ``scheduler``,
``dag-processor`` and ``triggerer`` processes; with ``--executor celery``, Redis (Debian's
``redis-server``) as the broker and two ``airflow celery worker`` processes. It triggers
``codat_daily_batch_extract`` for the sandbox's anchor (today 00:00 UTC: its data interval is the
day of seeded history) and waits for the run. Then it reports:

- the run's state and its task instances;
- wall time, from the trigger to the run's end;
- records landed (each pair's manifest, and the rows in its parquet files) against the sandbox's
  truth (``totalResults`` of each pair's window, asked after the counters are read), per resource;
- the requests the sandbox refused for concurrency (goal 0), and the requests sent against the
  minimum number of pages (goal at most 1.05x);
- each worker's peak RSS, and the peak of the task processes it ran.

    python bench/scale_deployment.py --companies 1000 --connections 2 --records 200 --latency-ms 50
    python bench/scale_deployment.py --executor celery

This is a benchmark, not a CI test: it needs PostgreSQL (``apt-get install postgresql``), the
drivers ``psycopg2-binary`` and ``asyncpg``, and for Celery ``redis-server`` and
``apache-airflow-providers-celery``; it says what is missing and how to install it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import glob
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
DAG_FILE = ROOT / "example_dags" / "codat_daily_batch_extract.py"
DAG_ID = "codat_daily_batch_extract"
PAGE_SIZE = 5000  # the connection's default page size, and the companies list's
STOP_SECONDS = 30.0


class Missing(Exception):
    """Something the bench needs is not installed; the message says how to install it."""


# -- prerequisites -------------------------------------------------------------------------------
def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise Missing("PostgreSQL server: apt-get update && apt-get install -y postgresql")
    return Path(found[-1]).parent


def check_prerequisites(executor: str) -> None:
    missing = []
    try:
        postgres_bin()
    except Missing as exc:
        missing.append(str(exc))
    venv = f"uv pip install --python {sys.executable}"
    for module, package in (("psycopg2", "psycopg2-binary"), ("asyncpg", "asyncpg")):
        with contextlib.suppress(ImportError):
            __import__(module)
            continue
        missing.append(f"{package} (the metadata DB's driver): {venv} {package}")
    if executor == "celery":
        if shutil.which("redis-server") is None:
            missing.append("Redis: apt-get update && apt-get install -y redis-server")
        try:
            import airflow.providers.celery  # noqa: F401
        except ImportError:
            missing.append(f"the Celery provider: {venv} apache-airflow-providers-celery 'celery[redis]<5.7'")
        try:  # the provider (3.26) imports a helper that Celery 5.7 removed
            from celery.backends.database import retry  # noqa: F401
        except ImportError:
            missing.append(f"a Celery the provider can import (below 5.7): {venv} 'celery[redis]>=5.5,<5.7'")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a 'postgres' user to run PostgreSQL as (root cannot): apt-get install postgresql")
    if missing:
        raise Missing("missing:\n  " + "\n  ".join(missing))


# -- processes -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """Every process the bench starts, each in its own session, stopped in reverse order."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes], int]] = []

    def start(self, name: str, argv: list[str], *, stop_signal: int = signal.SIGTERM, **kw: Any) -> Any:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - owned by the child
        kw.setdefault("stdout", log)
        proc = subprocess.Popen(argv, stderr=log, start_new_session=True, **kw)
        self.started.append((name, proc, stop_signal))
        return proc

    def check(self) -> None:
        for name, proc, _ in self.started:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs / name}.log")

    def stop_all(self) -> None:
        for _name, proc, sig in reversed(self.started):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
        deadline = time.monotonic() + STOP_SECONDS
        for _name, proc, _ in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        for _name, proc, _ in self.started:  # the leader and anything left in its session
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def wait_for(what: str, ready: Any, deadline: float, procs: Processes, every: float = 0.5) -> Any:
    while time.monotonic() < deadline:
        procs.check()
        with contextlib.suppress(httpx.HTTPError, OSError):
            result = ready()
            if result:
                return result
        time.sleep(every)
    raise TimeoutError(f"timed out waiting for {what}")


def start_sandbox(args: argparse.Namespace, procs: Processes) -> str:
    anchor = datetime.now(UTC).strftime("%Y-%m-%d")
    argv = [
        *(sys.executable, "-m", "airflow_provider_codat.sandbox", "--port", "0"),
        *("--companies", str(args.companies), "--connections", str(args.connections)),
        *("--records", str(args.records), "--latency-ms", str(args.latency_ms)),
        *("--anchor", anchor, "--history-days", "1"),  # every record in the run's data interval
    ]
    proc = procs.start("sandbox", argv, stdout=subprocess.PIPE)
    line = proc.stdout.readline().decode()
    if " on " not in line:
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return line.split(" on ")[1].split(" ")[0]


def start_postgres(tmp: Path, procs: Processes, deadline: float) -> str:
    bindir, data, port = postgres_bin(), tmp / "pg", free_port()
    data.mkdir()
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = {"user": "postgres", "group": "postgres"}
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
        **as_user,
    )
    argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data)]
    argv += ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "fsync=off"]
    procs.start("postgres", argv, stop_signal=signal.SIGINT, **as_user)  # SIGINT: fast shutdown

    def ready() -> bool:
        import psycopg2

        try:
            conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
        except psycopg2.OperationalError:
            return False
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE airflow")
        conn.close()
        return True

    wait_for("PostgreSQL", ready, deadline, procs)
    return f"postgres@127.0.0.1:{port}/airflow"


def airflow_env(tmp: Path, url: str, db: str, api_port: int, args: argparse.Namespace) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp / "home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if args.executor == "celery" else "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(args.parallelism),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(64),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API_AUTH__JWT_ISSUER": "codat-scale-bench",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only the run triggered here, no scheduled one
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_CODAT_DEFAULT": json.dumps(
            {"conn_type": "codat", "host": url, "password": "codat-sandbox"}
        ),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    if args.executor == "celery":
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"db+postgresql+psycopg2://{db}"
        env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(max(1, args.parallelism // 2))
    return env


def start_airflow(
    tmp: Path, env: dict[str, str], args: argparse.Namespace, procs: Processes, deadline: float
) -> list[psutil.Process]:
    """Start the deployment; return the processes whose descendants run tasks."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    (tmp / "dags").mkdir()
    shutil.copy(DAG_FILE, tmp / "dags" / DAG_FILE.name)
    subprocess.run(
        [airflow, "db", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=max(1.0, deadline - time.monotonic()),
    )
    procs.start("api-server", [airflow, "api-server", "--workers", "1"], env=env)
    scheduler = procs.start("scheduler", [airflow, "scheduler", "--skip-serve-logs"], env=env)
    procs.start("dag-processor", [airflow, "dag-processor"], env=env)
    procs.start("triggerer", [airflow, "triggerer", "--skip-serve-logs"], env=env)
    if args.executor == "local":
        return [psutil.Process(scheduler.pid)]
    workers = []
    concurrency = str(max(1, args.parallelism // 2))
    for number in (1, 2):
        argv = [airflow, "celery", "worker", "--concurrency", concurrency, "--skip-serve-logs"]
        argv += ["--celery-hostname", f"worker{number}@%h", "--without-mingle", "--without-gossip"]
        workers.append(psutil.Process(procs.start(f"celery-worker-{number}", argv, env=env).pid))
    return workers


def start_redis(tmp: Path, env: dict[str, str], procs: Processes, deadline: float) -> None:
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp)]
    procs.start("redis", argv)
    env["AIRFLOW__CELERY__BROKER_URL"] = f"redis://127.0.0.1:{port}/0"

    def ready() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    wait_for("Redis", ready, deadline, procs)


# -- worker memory -------------------------------------------------------------------------------
class PeakRss(threading.Thread):
    """Poll the descendants of the roots, keeping each pid's peak RSS and its parent."""

    def __init__(self, roots: list[psutil.Process], every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.roots, self.every = roots, every
        self.peak: dict[int, int] = {}
        self.parent: dict[int, int] = {}
        self.label: dict[int, str] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            for root in self.roots:
                with contextlib.suppress(psutil.Error):
                    for proc in [root, *root.children(recursive=True)]:
                        with contextlib.suppress(psutil.Error):
                            rss = proc.memory_info().rss
                            if proc.pid not in self.parent:
                                self.parent[proc.pid] = proc.ppid()
                            # the latest title: a worker renames itself once it starts
                            self.label[proc.pid] = " ".join(proc.cmdline()).split(":")[0][:44]
                            self.peak[proc.pid] = max(rss, self.peak.get(proc.pid, 0))

    def workers(self) -> list[dict[str, Any]]:
        """Each worker (a child of a root) with its peak and the peaks of the task processes under it."""
        roots = {r.pid for r in self.roots}
        rows = []
        for pid in sorted((p for p, parent in self.parent.items() if parent in roots), key=self.parent.get):
            tasks = [self.peak[p] for p, parent in self.parent.items() if parent == pid]
            rows.append(
                {
                    "pid": pid,
                    "under": self.parent[pid],
                    "name": self.label[pid],
                    "peak_mb": self.peak[pid] / 2**20,
                    "tasks": len(tasks),
                    "task_peak_mb": max(tasks, default=0) / 2**20,
                }
            )
        return rows


# -- the run -------------------------------------------------------------------------------------
class Api:
    """The deployment's REST API, with a token from the simple auth manager (all admins)."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30, trust_env=False)

    def login(self) -> bool:
        token = self.http.get("/auth/token").raise_for_status().json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        return True

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(path, params=params).raise_for_status().json()

    def send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return self.http.request(method, path, json=body).raise_for_status().json()


def run_dag(api: Api, lake: str, procs: Processes, deadline: float) -> dict[str, Any]:
    wait_for("the api-server", api.login, deadline, procs)
    wait_for(f"{DAG_ID} to be parsed", lambda: api.get(f"/api/v2/dags/{DAG_ID}"), deadline, procs, 1.0)
    api.send("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    body = {"dag_run_id": "scale-bench", "logical_date": anchor.isoformat(), "conf": {"output_base": lake}}
    started = time.monotonic()
    run = api.send("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", body)
    print(
        f"  triggered {run['dag_run_id']}: data interval {run['data_interval_start']} to "
        f"{run['data_interval_end']}",
        flush=True,
    )

    def finished() -> Any:
        current = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/scale-bench")
        return current if current["state"] in ("success", "failed") else None

    run = wait_for("the run", finished, deadline, procs, 1.0)
    run["wall_seconds"] = time.monotonic() - started
    tis = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/scale-bench/taskInstances", limit=100)
    run["task_instances"] = tis["total_entries"]
    run["ti_states"] = Counter(ti["state"] for ti in tis["task_instances"])
    offset = len(tis["task_instances"])
    while offset < tis["total_entries"]:
        page = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/scale-bench/taskInstances", limit=100, offset=offset)
        run["ti_states"].update(ti["state"] for ti in page["task_instances"])
        offset += len(page["task_instances"])
    return run


def landed(lake: Path) -> tuple[dict[tuple[str, str, str], int], dict[str, int], dict[str, Any]]:
    """Each pair's records from its manifest, the rows in the parquet files per resource, the window."""
    import pyarrow.parquet as pq

    pairs: dict[tuple[str, str, str], int] = {}
    rows: dict[str, int] = defaultdict(int)
    window: dict[str, Any] = {}
    for summary_file in sorted(lake.glob("*/_summary-*.json")):
        summary = json.loads(summary_file.read_text())
        window = summary["window"]
        for pair in summary["pairs"]:
            key = (pair["resource"], pair["company_id"], pair["connection_id"])
            if key in pairs:
                raise RuntimeError(f"pair landed twice: {key}")
            if pair["manifest_uri"] is None:
                pairs[key] = -1  # not landed: the comparison reports it
                continue
            manifest = json.loads(Path(pair["manifest_uri"].removeprefix("file://")).read_text())
            pairs[key] = manifest["records"]
            for part in manifest["parts"]:
                rows[pair["resource"]] += pq.read_metadata(part["uri"].removeprefix("file://")).num_rows
    return pairs, rows, window


async def truth(url: str, connections: list[tuple[str, str]], query: str) -> dict[tuple[str, str, str], int]:
    """``totalResults`` of each (resource, connection) in the window, from the sandbox."""
    from airflow_provider_codat.resources import listable_resources

    slots = asyncio.Semaphore(50)
    counts: dict[tuple[str, str, str], int] = {}
    headers = {"Authorization": "Basic " + base64.b64encode(b"codat-sandbox").decode()}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, trust_env=False) as http:

        async def one_company(company: str, conns: list[str]) -> None:  # one request at a time a company
            for conn in conns:
                for resource in listable_resources():
                    path = resource.list_path.format(companyId=company, connectionId=conn)
                    async with slots:
                        answer = await http.get(path, params={"page": 1, "pageSize": 1, "query": query})
                    counts[(resource.name, company, conn)] = answer.raise_for_status().json()["totalResults"]

        by_company: dict[str, list[str]] = defaultdict(list)
        for company, conn in connections:
            by_company[company].append(conn)
        await asyncio.gather(*(one_company(c, k) for c, k in by_company.items()))
    return counts


def sandbox_state(url: str) -> dict[str, Any]:
    return httpx.get(url + "/_sandbox/state", timeout=60, trust_env=False).json()


def measure(url: str, lake: Path) -> dict[str, Any]:
    """The sandbox's counters, then what landed, then the truth of each pair's window."""
    from airflow_provider_codat.operators._window import Window, parse_moment

    state = sandbox_state(url)  # the counters first: the truth below asks the sandbox too
    linked = [
        (co["id"], c["id"])
        for co in state["companies"]
        for c in co["connections"]
        if c["sourceType"] == "Commerce" and c["status"] == "Linked"
    ]
    pairs, rows, window_json = landed(lake)
    since, until = (parse_moment(window_json.get(k), k) for k in ("since", "until"))
    query = Window(since, until).query() or ""
    expected = asyncio.run(truth(url, linked, query))
    by_resource: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # truth, manifests, wrong pairs
    for key, count in expected.items():
        got = pairs.get(key, -1)
        by_resource[key[0]][0] += count
        by_resource[key[0]][1] += max(got, 0)
        by_resource[key[0]][2] += got != count
    pages = math.ceil(len(state["companies"]) / PAGE_SIZE) + sum(
        max(1, math.ceil(n / PAGE_SIZE)) for n in expected.values()
    )
    return {
        "counters": state["counters"],
        "linked": len(linked),
        "query": query,
        "by_resource": dict(sorted(by_resource.items())),
        "rows": rows,
        "extra": len(set(pairs) - set(expected)),
        "pages": pages,
    }


def report(args: argparse.Namespace, run: dict[str, Any], found: dict[str, Any], rss: PeakRss) -> bool:
    """Print the figures; whether the run met every goal."""
    rows, by_resource = found["rows"], found["by_resource"]
    exact = found["extra"] == 0 and all(
        t == m == rows.get(name, 0) and wrong == 0 for name, (t, m, wrong) in by_resource.items()
    )
    whole = all(t == found["linked"] * args.records for t, _, _ in by_resource.values())
    requests, pages = found["counters"]["requests_today"], found["pages"]
    concurrency = found["counters"]["rejected"].get("concurrency", 0)
    ok = run["state"] == "success" and exact and whole and concurrency == 0 and requests <= 1.05 * pages

    print(f"\n{DAG_ID} on {args.executor.capitalize()}Executor, parallelism {args.parallelism}:")
    print(f"  run {run['state']}; {run['task_instances']} task instances ({dict(run['ti_states'])})")
    print(f"  wall time {run['wall_seconds']:.1f} s from trigger to the run's end")
    print(f"  records landed vs the sandbox's truth, {found['linked']} linked connections, {found['query']}")
    print(f"  (the window holds {'all' if whole else 'NOT all'} {args.records} seeded records of each pair)")
    for name, (t, m, wrong) in by_resource.items():
        mark = "exact" if t == m == rows.get(name, 0) and not wrong else f"WRONG ({wrong} pairs)"
        print(
            f"    {name:<20} truth {t:>9,}  manifests {m:>9,}  parquet rows {rows.get(name, 0):>9,}  {mark}"
        )
    if found["extra"]:
        print(f"    {found['extra']} pairs landed that the sandbox does not have")
    print(f"  concurrency 429s: {concurrency}; all refusals: {found['counters']['rejected']}")
    print(f"  requests {requests:,} for {pages:,} pages at least ({requests / pages:.3f}x)")
    print("  peak RSS per worker process (and the largest of the task processes it ran):")
    under = None
    for w in rss.workers():
        if w["under"] != under:
            under = w["under"]
            print(f"   under {rss.label.get(under, under)} (pid {under}):")
        print(
            f"    pid {w['pid']:>7} {w['name'][:44]:<44} {w['peak_mb']:7.0f} MB; "
            f"{w['tasks']} task processes, peak {w['task_peak_mb']:.0f} MB"
        )
    print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {'OK' if ok else 'NOT OK'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--executor", choices=("local", "celery"), default="local")
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the whole run")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, lake)")
    args = parser.parse_args()
    try:
        check_prerequisites(args.executor)
    except Missing as exc:
        print(exc, file=sys.stderr)
        return 2

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    deadline = time.monotonic() + args.timeout
    tmp = Path(tempfile.mkdtemp(prefix="codat-deploy-"))
    tmp.chmod(0o755)  # PostgreSQL's user reaches its data dir inside
    (tmp / "logs").mkdir()
    procs = Processes(tmp / "logs")
    rss: PeakRss | None = None
    print(
        f"{args.companies} companies x {args.connections} connections, {args.records} records per "
        f"resource, {args.latency_ms:g} ms latency; {args.executor} executor, parallelism "
        f"{args.parallelism}; load {os.getloadavg()[0]:.2f}; temp {tmp}",
        flush=True,
    )
    try:
        url = start_sandbox(args, procs)
        db = start_postgres(tmp, procs, deadline)
        print(f"  sandbox {url}; metadata DB PostgreSQL at {db.split('@')[1]} (temp data dir)", flush=True)
        api_port = free_port()
        env = airflow_env(tmp, url, db, api_port, args)
        if args.executor == "celery":
            start_redis(tmp, env, procs, deadline)
            print(f"  Celery broker Redis at {env['AIRFLOW__CELERY__BROKER_URL']}", flush=True)
        roots = start_airflow(tmp, env, args, procs, deadline)
        rss = PeakRss(roots)
        rss.start()
        run = run_dag(Api(f"http://127.0.0.1:{api_port}"), f"file://{tmp}/lake", procs, deadline)
        rss.done.set()
        return 0 if report(args, run, measure(url, tmp / "lake"), rss) else 1
    except (TimeoutError, RuntimeError, subprocess.SubprocessError, httpx.HTTPError) as exc:
        print(f"failed: {exc}; logs in {tmp / 'logs'} and {tmp / 'home' / 'logs'}", file=sys.stderr)
        args.keep = True
        return 1
    finally:
        if rss is not None:
            rss.done.set()
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
