"""``codat-sandbox``: serve a local Codat API until SIGINT or SIGTERM.

Prints one line with the base URL once the server accepts connections; without the ``sandbox``
extra, one line saying how to install it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from airflow_provider_codat.resources import RESOURCES
from airflow_provider_codat.sandbox._extra import SandboxExtraMissing
from airflow_provider_codat.sandbox.config import (
    DEFAULT_API_KEY,
    PULL_OUTCOMES,
    FaultConfig,
    FaultRule,
    SandboxConfig,
)

__all__ = ["build_parser", "config_from_args", "main"]


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key, value


def _anchor(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date or datetime, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="codat-sandbox", description="Serve a faithful local Codat API.")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to bind; 0 picks a free one (default 8765)")
    p.add_argument(
        "--api-key", default=DEFAULT_API_KEY, help=f"the accepted API key (default {DEFAULT_API_KEY})"
    )
    p.add_argument("--seed", type=int, default=42, help="seed of all generated data (default 42)")
    p.add_argument("--companies", type=int, default=1, help="number of companies (default 1)")
    p.add_argument("--connections", type=int, default=1, help="commerce connections per company (default 1)")
    p.add_argument(
        "--records", type=int, default=25, help="records per data type per connection (default 25)"
    )
    p.add_argument(
        "--records-transactions", type=int, help="transactions per connection (overrides --records)"
    )
    p.add_argument(
        "--records-for",
        type=_key_value,
        action="append",
        default=[],
        metavar="RESOURCE=N",
        help="record count for one resource, e.g. orders=5000 (repeatable)",
    )
    p.add_argument(
        "--anchor", type=_anchor, help="end of the seeded modifiedDate history (default: today 00:00 UTC)"
    )
    p.add_argument("--history-days", type=float, default=30.0, help="days of seeded modifiedDate history")
    p.add_argument(
        "--unlinked-connections", type=int, default=0, help="commerce connections with status Unlinked"
    )
    p.add_argument("--page-cache-mb", type=int, default=128, help="memory for rendered pages (0: off)")
    p.add_argument(
        "--quirks",
        choices=("on", "off"),
        default="on",
        help="off: every response valid against Codat's spec, enums and nulls included (default on)",
    )
    f = p.add_argument_group("faults")
    f.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every request")
    f.add_argument("--rate-limit-every", type=int, default=0, help="429 on every N-th request")
    f.add_argument("--rate-limit-burst", type=int, default=0, help="429 on the first N requests")
    f.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds of those 429s")
    f.add_argument("--retry-after-form", choices=("seconds", "http-date"), default="seconds")
    f.add_argument("--daily-quota", type=int, help="requests a day before 429 until 00:00 UTC")
    f.add_argument("--quota-exhausted", action="store_true", help="answer as if the daily quota were spent")
    f.add_argument("--server-error-every", type=int, default=0, help="5xx on every N-th request")
    f.add_argument("--server-error-burst", type=int, default=0, help="5xx on the first N requests")
    f.add_argument("--server-error-status", type=int, default=503, choices=(500, 502, 503, 504))
    f.add_argument("--forced-error-every", type=int, default=0, help="answer --forced-error-status every N")
    f.add_argument(
        "--forced-error-status", type=int, default=403, help="status of forced errors (default 403)"
    )
    f.add_argument(
        "--drop-connection-every", type=int, default=0, help="drop the connection mid-body every N"
    )
    f.add_argument("--malformed-json-every", type=int, default=0, help="truncated JSON body every N requests")
    f.add_argument(
        "--concurrency-limit", type=int, default=10, help="requests in flight per company (default 10)"
    )
    f.add_argument(
        "--mutate-every", type=int, default=0, help="bump records' modifiedDate every N list requests"
    )
    f.add_argument("--mutate-records", type=int, default=1, help="records bumped each time")
    f.add_argument("--mutate-limit", type=int, default=0, help="stop after this many mutations (0: never)")
    f.add_argument("--payout-interval", type=float, default=0.0, help="seconds between new payouts (0: off)")
    f.add_argument("--sync-seconds", type=float, default=2.0, help="duration of a queued pull operation")
    f.add_argument(
        "--pull-outcome",
        type=_key_value,
        action="append",
        default=[],
        metavar="DATATYPE=STATUS",
        help=f"force a refresh's terminal status ('*' for all); one of {', '.join(PULL_OUTCOMES)}",
    )
    f.add_argument(
        "--not-synced",
        action="append",
        default=[],
        metavar="DATATYPE",
        choices=[r.data_type for r in RESOURCES],
        help="data type that answers 409 until refreshed",
    )
    return p


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Translate parsed arguments into a :class:`SandboxConfig`.

    :raises ValueError: Naming the setting that is out of range.
    """
    counts = {name: int(value) for name, value in args.records_for}
    if args.records_transactions is not None:
        counts["transactions"] = args.records_transactions
    faults = FaultConfig(
        latency_ms=args.latency_ms,
        rate_limit=FaultRule(every=args.rate_limit_every, burst=args.rate_limit_burst),
        retry_after_seconds=args.retry_after,
        retry_after_form=args.retry_after_form,
        daily_quota=args.daily_quota,
        quota_exhausted=args.quota_exhausted,
        server_error=FaultRule(every=args.server_error_every, burst=args.server_error_burst),
        server_error_status=args.server_error_status,
        forced_error=FaultRule(every=args.forced_error_every),
        forced_error_status=args.forced_error_status,
        drop_connection=FaultRule(every=args.drop_connection_every),
        malformed_json=FaultRule(every=args.malformed_json_every),
        concurrency_limit=args.concurrency_limit,
        mutate_every=args.mutate_every,
        mutate_records=args.mutate_records,
        mutate_limit=args.mutate_limit,
        payout_interval_s=args.payout_interval,
        sync_seconds=args.sync_seconds,
        pull_outcome=dict(args.pull_outcome),
        not_synced=list(args.not_synced),
    )
    extra = {"anchor": args.anchor} if args.anchor else {}
    return SandboxConfig(
        api_key=args.api_key,
        seed=args.seed,
        companies=args.companies,
        connections=args.connections,
        records=args.records,
        record_counts=counts,
        history_days=args.history_days,
        unlinked_connections=args.unlinked_connections,
        page_cache_mb=args.page_cache_mb,
        quirks=args.quirks == "on",
        faults=faults,
        **extra,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGINT/SIGTERM; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        if not 0 <= args.port <= 65535:
            raise ValueError("port: must be between 0 and 65535")
    except (ValueError, KeyError) as exc:
        parser.error(str(exc))
    try:
        from airflow_provider_codat.sandbox.server import CodatSandbox
    except SandboxExtraMissing as exc:
        print(f"codat-sandbox: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        sandbox = CodatSandbox(config, host=args.host, port=args.port).start()
    except OSError as exc:
        print(f"codat-sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    strict = "" if config.quirks else ", quirks off"
    print(f"Codat sandbox listening on {sandbox.url} (API key {config.api_key!r}{strict})", flush=True)
    try:
        stop.wait()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
