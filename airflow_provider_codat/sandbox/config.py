"""Configuration of the sandbox: the seeded world, and the faults it injects.

:class:`SandboxConfig` fixes the world (companies, connections, record counts, timeline) at
start. :class:`FaultConfig` can change while the server runs, through the control endpoint
``PATCH /_sandbox/faults``; its fields are plain JSON values for that reason.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from airflow_provider_codat.resources import RESOURCES

__all__ = ["DEFAULT_API_KEY", "FaultConfig", "FaultRule", "SandboxConfig"]

DEFAULT_API_KEY = "codat-sandbox"
"""The sandbox's documented default API key (send ``Authorization: Basic base64(key)``)."""

RetryAfterForm = Literal["seconds", "http-date"]
PULL_STATUSES = (
    "Initial",
    "Queued",
    "Fetching",
    "MapQueued",
    "Mapping",
    "Complete",
    "FetchError",
    "MapError",
    "InternalError",
    "ProcessingQueued",
    "Processing",
    "ProcessingError",
    "ValidationQueued",
    "Validating",
    "ValidationError",
    "AuthError",
    "Cancelled",
    "NotSupported",
    "RateLimitError",
    "PermissionsError",
    "PrerequisiteNotMet",
)


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
    :param concurrency_limit: Requests in flight per company beyond which Codat answers 429.
    :param mutate_every: Every N-th list request bumps ``mutate_records`` records of the listed
        dataset to modifiedDate "now" before answering (data changing during paging).
    :param mutate_records: How many records each mutation bumps.
    :param mutate_limit: Stop after this many mutations (0: never stop); counts down as they happen.
    :param payout_interval_s: A new Payout transaction arrives on every commerce connection
        every this many seconds (0: off).
    :param sync_seconds: How long a queued pull operation takes to finish.
    :param pull_outcome: Terminal status forced for refreshes, by data type (``*`` for all).
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
    concurrency_limit: int = 10
    mutate_every: int = 0
    mutate_records: int = 1
    mutate_limit: int = 0
    payout_interval_s: float = 0.0
    sync_seconds: float = 2.0
    pull_outcome: dict[str, str] = field(default_factory=dict)
    not_synced: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, validating names and values.

        :raises ValueError: On an unknown field or a value of the wrong kind; names the field.
        """
        known = {f.name for f in fields(self)}
        staged = copy.deepcopy(self)
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"{name}: unknown fault setting; expected one of {', '.join(sorted(known))}")
            setattr(staged, name, _coerce(name, getattr(staged, name), value))
        staged.validate()
        for f in fields(self):
            setattr(self, f.name, getattr(staged, f.name))

    def validate(self) -> None:
        """Check ranges and enumerations.

        :raises ValueError: Naming the first field that is out of range.
        """
        checks: list[tuple[str, bool]] = [
            ("latency_ms", _number(self.latency_ms) and self.latency_ms >= 0),
            ("retry_after_seconds", _number(self.retry_after_seconds) and self.retry_after_seconds >= 0),
            ("retry_after_form", self.retry_after_form in ("seconds", "http-date")),
            ("daily_quota", self.daily_quota is None or (_int(self.daily_quota) and self.daily_quota >= 0)),
            ("quota_exhausted", isinstance(self.quota_exhausted, bool)),
            ("server_error_status", self.server_error_status in (500, 502, 503, 504)),
            (
                "forced_error_status",
                _int(self.forced_error_status) and 400 <= self.forced_error_status <= 599,
            ),
            ("concurrency_limit", _int(self.concurrency_limit) and self.concurrency_limit >= 1),
            ("mutate_every", _int(self.mutate_every) and self.mutate_every >= 0),
            ("mutate_records", _int(self.mutate_records) and self.mutate_records >= 1),
            ("mutate_limit", _int(self.mutate_limit) and self.mutate_limit >= 0),
            ("payout_interval_s", _number(self.payout_interval_s) and self.payout_interval_s >= 0),
            ("sync_seconds", _number(self.sync_seconds) and self.sync_seconds >= 0),
            (
                "pull_outcome",
                isinstance(self.pull_outcome, dict)
                and all(v in PULL_STATUSES for v in self.pull_outcome.values()),
            ),
            (
                "not_synced",
                isinstance(self.not_synced, list)
                and all(v in {r.data_type for r in RESOURCES} for v in self.not_synced),
            ),
        ]
        for rule_name in ("rate_limit", "server_error", "forced_error", "drop_connection", "malformed_json"):
            rule = getattr(self, rule_name)
            checks.append(
                (rule_name, _int(rule.every) and _int(rule.burst) and rule.every >= 0 and rule.burst >= 0)
            )
        for name, ok in checks:
            if not ok:
                raise ValueError(f"{name}: invalid value {getattr(self, name)!r}")


def _coerce(name: str, current: object, value: object) -> object:
    """Turn a JSON object into a :class:`FaultRule` where the field holds one."""
    if not isinstance(current, FaultRule) or isinstance(value, FaultRule):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected an object with every/burst/path_contains")
    try:
        return FaultRule(**value)
    except TypeError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
        if self.anchor.tzinfo is None:
            self.anchor = self.anchor.replace(tzinfo=UTC)
        if not self.api_key:
            raise ValueError("api_key: must not be empty")
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
