"""Incremental windows: which ``modifiedDate`` range a run pulls, rendered into Codat's query.

A run pulls ``since <= modifiedDate < until``:

- ``full_refresh=True``: no window, everything.
- ``modified_since`` / ``modified_until`` given: exactly those bounds (either may be open).
- a run with a real data interval (``start < end``, as ``CronDataIntervalTimetable`` and
  ``DeltaDataIntervalTimetable`` give): ``[start - overlap, end)``.
- a run without one (a manual run, or the zero-length interval of Airflow 3's default
  ``CronTriggerTimetable``): from the end of the last successful run's window, less the overlap,
  to this run's logical end (or now); the first such run pulls everything up to then.

The overlap catches records Codat stamps a little late; records in it are pulled by both runs
(at-least-once), so downstream dedupes by ``id`` keeping the latest ``modifiedDate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["DEFAULT_OVERLAP", "Window", "combine_queries", "resolve_window"]

CURSOR = "modifiedDate"
DEFAULT_OVERLAP = timedelta(minutes=5)
"""How far before the interval's start a run's window opens, by default."""


@dataclass(frozen=True)
class Window:
    """A half-open ``modifiedDate`` range; None means unbounded on that side."""

    since: datetime | None
    until: datetime | None

    def query(self) -> str | None:
        """Render the window as a Codat query, or None when unbounded on both sides."""
        parts = []
        if self.since is not None:
            parts.append(f"{CURSOR}>={_codat_time(self.since)}")
        if self.until is not None:
            parts.append(f"{CURSOR}<{_codat_time(self.until)}")
        return "&&".join(parts) or None

    def describe(self) -> str:
        """The window as a sentence for logs: ``modified from ... to ...``."""
        since = f"{self.since:%Y-%m-%d %H:%M:%S %Z}" if self.since else "the beginning"
        until = f"{self.until:%Y-%m-%d %H:%M:%S %Z}" if self.until else "now"
        return f"modified from {since} to {until}"

    def to_json(self) -> dict[str, str | None]:
        """The bounds as ISO strings, for manifests and XCom."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def _codat_time(moment: datetime) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.rstrip("0").rstrip(".") + "Z"


def resolve_window(
    *,
    full_refresh: bool,
    modified_since: datetime | None,
    modified_until: datetime | None,
    overlap: timedelta,
    interval_start: datetime | None,
    interval_end: datetime | None,
    previous_end: datetime | None,
    now: datetime,
) -> Window:
    """Decide the run's window (see the module docstring)."""
    if full_refresh:
        return Window(None, None)
    if modified_since is not None or modified_until is not None:
        return Window(modified_since, modified_until)
    if interval_start is not None and interval_end is not None and interval_start < interval_end:
        return Window(interval_start - overlap, interval_end)
    until = interval_end or now
    return Window(previous_end - overlap if previous_end is not None else None, until)


def combine_queries(user_query: str | None, window_query: str | None) -> str | None:
    """AND the user's query with the window's, grouping the user's so its ``||`` stays inside."""
    if not user_query:
        return window_query
    if not window_query:
        return user_query
    return f"{{{user_query}}}&&{window_query}"
