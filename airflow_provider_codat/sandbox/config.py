"""Configuration of the sandbox: the seeded world, and the faults it injects.

:class:`SandboxConfig` fixes the world (companies, connections, record counts, timeline) at
start. :class:`FaultConfig` can change while the server runs, through the control endpoint
``PATCH /_sandbox/faults``; its fields are plain JSON values for that reason.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from airflow_provider_codat.refresh import ENDING_STATUSES
from airflow_provider_codat.resources import RESOURCES

__all__ = [
    "DATA_TYPES",
    "DEFAULT_API_KEY",
    "FAST_RETRIES",
    "MAX_RECORDS_AT_ONCE",
    "PULL_OUTCOMES",
    "ConnectionFaults",
    "FaultConfig",
    "FaultRule",
    "SandboxConfig",
]

DEFAULT_API_KEY = "codat-sandbox"
"""The sandbox's documented default API key (send ``Authorization: Basic base64(key)``)."""

FAST_RETRIES: dict[str, float] = {"initial_wait": 0.01, "max_wait": 1, "max_total": 10, "max_attempts": 3}
"""Connection extras that keep per-call retries short in tests: 3 attempts, waits of at most 1 s."""

RetryAfterForm = Literal["seconds", "http-date"]
PULL_OUTCOMES = ENDING_STATUSES
"""The pull-operation statuses that end a refresh: the values ``pull_outcome`` accepts."""
DATA_TYPES = frozenset(r.data_type for r in RESOURCES)
MAX_LATENCY_MS = 60_000
MAX_SECONDS = 86_400
"""The longest ``retry_after_seconds``, ``sync_seconds`` and ``payout_interval_s``: a day."""
MIN_PAYOUT_INTERVAL_S = 0.1
MAX_RECORDS_AT_ONCE = 10_000
"""The most records one mutation, or one call of the payouts control endpoint, adds or changes."""
MAX_COUNT = 10**9
"""The largest whole-number setting (counts of requests, quotas, limits)."""
MAX_HISTORY_DAYS = 36_500


@dataclass
class FaultRule:
    """When one kind of fault fires: on every ``every``-th request and/or the next ``burst`` ones.

    :param every: Fire on every N-th matching request (0: never).
    :param burst: Fire on the next N matching requests, then stop (0: none).
    :param path_contains: Only requests whose path contains this text count (None: all).
    """

    every: int = 0
    burst: int = 0
    path_contains: str | None = None

    @property
    def active(self) -> bool:
        """Whether the rule can fire at all."""
        return self.every > 0 or self.burst > 0

    def problem(self) -> str | None:
        """What is wrong with the rule, or None."""
        for name in ("every", "burst"):
            value = getattr(self, name)
            if not _whole(value, 0, MAX_COUNT):
                return f"{name}: must be a whole number from 0 to {MAX_COUNT}, got {value!r}"
        if self.path_contains is not None and not isinstance(self.path_contains, str):
            return f"path_contains: must be text or null, got {self.path_contains!r}"
        return None


@dataclass
class ConnectionFaults:
    """How refreshes of one connection go, overriding the sandbox-wide settings of the same names.

    :param sync_seconds: How long a pull operation on this connection takes (None: the sandbox's).
    :param pull_outcome: Terminal status by data type (``*`` for all); where it names neither the
        data type nor ``*``, the sandbox-wide ``pull_outcome`` applies.
    """

    sync_seconds: float | None = None
    pull_outcome: dict[str, str] = field(default_factory=dict)

    def problem(self) -> str | None:
        """What is wrong with these settings, or None."""
        for name in ("sync_seconds", "pull_outcome"):
            value = getattr(self, name)
            text = None if value is None else _CHECKS[name](value)
            if text is not None:
                return f"{name}: {text}"
        return None


@dataclass
class FaultConfig:
    """Faults injected into API responses; all off by default.

    :param latency_ms: Delay added to every API request.
    :param rate_limit: 429 with ``Retry-After`` (the short, per-minute kind).
    :param retry_after_seconds: The ``Retry-After`` of those 429s.
    :param retry_after_form: ``seconds`` or ``http-date``.
    :param daily_quota: Requests a day before 429s until 00:00 UTC (None: Codat's
        ``1000 * (1 + companies)``).
    :param quota_exhausted: Answer as if the daily quota were spent, from now on.
    :param server_error: 5xx responses with an ErrorMessage body.
    :param server_error_status: Which 5xx (500 or 503).
    :param forced_error: Answer with ``forced_error_status`` and an ErrorMessage (402 account
        limit, 403 forbidden, ... : statuses the sandbox has no other reason to send).
    :param forced_error_status: The status of ``forced_error`` (400-599).
    :param drop_connection: Close the connection after half of the response body.
    :param malformed_json: A 200 whose JSON body is cut short.
    :param short_page: A list page that comes back one record short, with the same
        ``totalResults`` and links (a record moved out from under the page).
    :param concurrency_limit: Requests in flight per company beyond which Codat answers 429.
    :param mutate_every: Every N-th list request bumps ``mutate_records`` records of the listed
        dataset to modifiedDate "now" before answering (data changing during paging).
    :param mutate_records: How many records each mutation bumps.
    :param mutate_limit: Stop after this many mutations (0: never stop); counts down as they happen.
    :param payout_interval_s: A new Payout transaction arrives on every commerce connection
        every this many seconds (0: off).
    :param sync_seconds: How long a queued pull operation takes to finish.
    :param pull_outcome: Terminal status forced for refreshes, by data type (``*`` for all).
    :param per_connection: :class:`ConnectionFaults` by commerce connection id: a refresh
        duration and outcome of each connection's own.
    :param not_synced: Data types that answer 409 until a refresh of them completes.
    """

    latency_ms: float = 0.0
    rate_limit: FaultRule = field(default_factory=FaultRule)
    retry_after_seconds: float = 1.0
    retry_after_form: RetryAfterForm = "seconds"
    daily_quota: int | None = None
    quota_exhausted: bool = False
    server_error: FaultRule = field(default_factory=FaultRule)
    server_error_status: int = 503
    forced_error: FaultRule = field(default_factory=FaultRule)
    forced_error_status: int = 403
    drop_connection: FaultRule = field(default_factory=FaultRule)
    malformed_json: FaultRule = field(default_factory=FaultRule)
    short_page: FaultRule = field(default_factory=FaultRule)
    concurrency_limit: int = 10
    mutate_every: int = 0
    mutate_records: int = 1
    mutate_limit: int = 0
    payout_interval_s: float = 0.0
    sync_seconds: float = 2.0
    pull_outcome: dict[str, str] = field(default_factory=dict)
    per_connection: dict[str, ConnectionFaults] = field(default_factory=dict)
    not_synced: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        return asdict(self)

    def update(self, changes: dict[str, Any], connection_ids: Collection[str] | None = None) -> None:
        """Apply a partial update, validating names and values; nothing changes if one is wrong.

        :param changes: Settings by name, as JSON values.
        :param connection_ids: The commerce connections ``per_connection`` may name (None: any).
        :raises ValueError: On an unknown field or a value of the wrong kind or out of range;
            names the field.
        """
        known = {f.name for f in fields(self)}
        staged = copy.deepcopy(self)
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"{name}: unknown fault setting; expected one of {', '.join(sorted(known))}")
            setattr(staged, name, _coerce(name, getattr(staged, name), value))
        staged.validate(connection_ids)
        for f in fields(self):
            setattr(self, f.name, getattr(staged, f.name))

    def validate(self, connection_ids: Collection[str] | None = None) -> None:
        """Check kinds, ranges and finiteness, so that no setting can wedge or break the server.

        :param connection_ids: The commerce connections ``per_connection`` may name (None: any).
        :raises ValueError: Naming the first field that is wrong, and what it must be.
        """
        for name, problem in _CHECKS.items():
            text = problem(getattr(self, name))
            if text is not None:
                raise ValueError(f"{name}: {text}")
        for connection_id, own in self.per_connection.items():
            if connection_ids is not None and connection_id not in connection_ids:
                raise ValueError(f"per_connection[{connection_id}]: not a commerce connection of the sandbox")
            text = own.problem()
            if text is not None:
                raise ValueError(f"per_connection[{connection_id}]: {text}")

    def refresh_of(self, connection_id: str, data_type: str) -> tuple[float, str]:
        """Return how long a refresh of ``data_type`` on the connection takes, and how it ends."""
        own = self.per_connection.get(connection_id, ConnectionFaults())
        seconds = self.sync_seconds if own.sync_seconds is None else own.sync_seconds
        for outcomes in (own.pull_outcome, self.pull_outcome):
            for key in (data_type, "*"):
                if key in outcomes:
                    return seconds, outcomes[key]
        return seconds, "Complete"


def _coerce(name: str, current: object, value: object) -> object:
    """Turn JSON objects into the dataclasses of fields that hold them."""
    if isinstance(current, FaultRule) and not isinstance(value, FaultRule):
        return _build(name, FaultRule, value, "an object with every/burst/path_contains")
    if name == "per_connection":
        if not isinstance(value, dict):
            raise ValueError(f"{name}: expected an object of connection ids to settings, got {value!r}")
        return {
            key: item
            if isinstance(item, ConnectionFaults)
            else _build(f"{name}[{key}]", ConnectionFaults, item, "an object with sync_seconds/pull_outcome")
            for key, item in value.items()
        }
    return value


def _build(name: str, cls: Callable[..., Any], value: object, expected: str) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    try:
        return cls(**value)
    except TypeError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _number(value: object, low: float, high: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _finite(low: float, high: float, *, off: bool = False) -> Callable[[object], str | None]:
    """A check of a finite number from ``low`` to ``high`` (``off``: or 0)."""

    def check(value: object) -> str | None:
        if _number(value, low, high) or (off and value == 0 and not isinstance(value, bool)):
            return None
        return f"must be {'0 (off) or ' if off else ''}a number from {low:g} to {high:g}, got {value!r}"

    return check


def _whole_number(low: int, high: int = MAX_COUNT, *, none: bool = False) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if _whole(value, low, high) or (none and value is None):
            return None
        return f"must be {'null or ' if none else ''}a whole number from {low} to {high}, got {value!r}"

    return check


def _one_of(*allowed: object) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if any(type(value) is type(a) and value == a for a in allowed):
            return None
        return f"must be one of {', '.join(map(str, allowed))}, got {value!r}"

    return check


def _rule(value: object) -> str | None:
    return value.problem() if isinstance(value, FaultRule) else f"expected a rule, got {value!r}"


def _outcome_problem(value: object) -> str | None:
    if not isinstance(value, Mapping):
        return f"expected an object of data types to statuses, got {value!r}"
    for key, status in value.items():
        if key != "*" and not (isinstance(key, str) and key in DATA_TYPES):
            return f"{key!r} is not a Codat commerce data type (such as commerce-orders) nor '*'"
        if status not in PULL_OUTCOMES:
            return f"{status!r} does not end a refresh; expected one of {', '.join(PULL_OUTCOMES)}"
    return None


def _not_synced(value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) and v in DATA_TYPES for v in value):
        return None
    return f"expected a list of Codat commerce data types, got {value!r}"


def _bool(value: object) -> str | None:
    return None if isinstance(value, bool) else f"expected true or false, got {value!r}"


def _connections(value: object) -> str | None:
    if isinstance(value, dict) and all(isinstance(v, ConnectionFaults) for v in value.values()):
        return None
    return f"expected an object of connection ids to settings, got {value!r}"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "latency_ms": _finite(0, MAX_LATENCY_MS),
    "rate_limit": _rule,
    "retry_after_seconds": _finite(0, MAX_SECONDS),
    "retry_after_form": _one_of("seconds", "http-date"),
    "daily_quota": _whole_number(0, none=True),
    "quota_exhausted": _bool,
    "server_error": _rule,
    "server_error_status": _one_of(500, 502, 503, 504),
    "forced_error": _rule,
    "forced_error_status": _whole_number(400, 599),
    "drop_connection": _rule,
    "malformed_json": _rule,
    "short_page": _rule,
    "concurrency_limit": _whole_number(1),
    "mutate_every": _whole_number(0),
    "mutate_records": _whole_number(1, MAX_RECORDS_AT_ONCE),
    "mutate_limit": _whole_number(0),
    "payout_interval_s": _finite(MIN_PAYOUT_INTERVAL_S, MAX_SECONDS, off=True),
    "sync_seconds": _finite(0, MAX_SECONDS),
    "pull_outcome": _outcome_problem,
    "per_connection": _connections,
    "not_synced": _not_synced,
}
"""Each fault setting's check: None when the value is fine, else what is wrong with it."""


def _today() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class SandboxConfig:
    """The seeded world the sandbox serves.

    :param api_key: The only key accepted (``Authorization: Basic base64(api_key)``).
    :param seed: Seed of every generated id and record.
    :param companies: Number of companies.
    :param connections: Commerce connections per company (each company also has one
        accounting connection, which the Commerce API refuses).
    :param records: Records per data type on each commerce connection.
    :param record_counts: Per-resource overrides of ``records`` (e.g. ``{"transactions": 10**6}``).
    :param anchor: The end of the seeded modifiedDate history; defaults to today's 00:00 UTC, so
        yesterday's data interval has data. Pin it for byte-identical output across days.
    :param history_days: How far back before ``anchor`` the seeded modifiedDates reach.
    :param unlinked_connections: How many commerce connections, counted from the last company
        backwards, have status ``Unlinked`` instead of ``Linked``.
    :param page_cache_mb: Memory for rendered pages, reused until their dataset changes (0: off).
    :param quirks: Send what Codat sends but its spec's schemas refuse: address types in lower
        case (as in Codat's examples), and nulls the spec marks nullable only the OpenAPI 3.0 way.
        False serves every response valid against the spec read as OpenAPI 3.0 or 3.1.
    :param faults: The initial fault configuration.
    """

    api_key: str = DEFAULT_API_KEY
    seed: int = 42
    companies: int = 1
    connections: int = 1
    records: int = 25
    record_counts: dict[str, int] = field(default_factory=dict)
    anchor: datetime = field(default_factory=_today)
    history_days: float = 30.0
    unlinked_connections: int = 0
    page_cache_mb: int = 128
    quirks: bool = True
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        for name in ("companies", "connections"):
            if not _int(getattr(self, name)) or getattr(self, name) < 1:
                raise ValueError(f"{name}: must be a whole number of at least 1")
        if not _int(self.page_cache_mb) or self.page_cache_mb < 0:
            raise ValueError("page_cache_mb: must be a whole number of at least 0")
        if not _int(self.records) or self.records < 0:
            raise ValueError("records: must be a whole number of at least 0")
        known = {r.name for r in RESOURCES}
        for name, count in self.record_counts.items():
            if name not in known:
                raise ValueError(f"record_counts: unknown resource {name!r}")
            if not _int(count) or count < 0:
                raise ValueError(f"record_counts[{name}]: must be a whole number of at least 0")
        if not _number(self.history_days, 0, MAX_HISTORY_DAYS):
            raise ValueError(f"history_days: must be a number of days from 0 to {MAX_HISTORY_DAYS}")
        if self.anchor.tzinfo is None:
            self.anchor = self.anchor.replace(tzinfo=UTC)
        if not self.api_key:
            raise ValueError("api_key: must not be empty")
        if not isinstance(self.quirks, bool):
            raise ValueError(f"quirks: must be True or False, got {self.quirks!r}")
        self.faults.validate()

    def count_for(self, resource: str) -> int:
        """Return the seeded record count of ``resource`` on each connection."""
        if resource == "company_info":
            return 1
        return self.record_counts.get(resource, self.records)

    @property
    def history(self) -> timedelta:
        """The span of seeded modifiedDates."""
        return timedelta(days=self.history_days)
