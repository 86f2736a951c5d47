"""Codat's date-time forms, read one way everywhere: the models, the refresh rules, the parquet writer.

Codat sends ``Z``, ``+hh:mm`` offsets and naive (business-local) times, up to 7 fractional
digits, date-only values, and ``0001-01-01T00:00:00`` as "no value". This module imports only
the standard library, so light modules (the refresh rules that triggers load) can use it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

__all__ = ["parse_codat_datetime"]

_DATETIME_RE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_SENTINEL = (1, 1, 1, 0, 0, 0, 0)


def parse_codat_datetime(value: Any) -> Any:
    """Turn a Codat date-time string into a :class:`~datetime.datetime`, or ``None`` for "no value".

    Accepts ``Z``, ``+hh:mm`` offsets, naive (business-local) times, which stay naive, date-only
    values (midnight, naive) and any number of fractional digits (truncated to microseconds).
    The empty string and the ``0001-01-01T00:00:00`` sentinel, in any of its forms, become ``None``.
    Values that are not strings or dates are returned unchanged for pydantic to judge.

    :param value: The raw field value.
    :raises ValueError: If ``value`` is a string that is not an ISO 8601 date or date-time.
    """
    if isinstance(value, datetime):
        return None if _is_sentinel(value) else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a Codat date-time: {value!r}")
    fraction = match["fraction"] or ""
    parsed = datetime(
        int(match["year"]),
        int(match["month"]),
        int(match["day"]),
        int(match["hour"] or 0),
        int(match["minute"] or 0),
        int(match["second"] or 0),
        int(fraction[:6].ljust(6, "0")),
        tzinfo=_parse_offset(match["tz"]),
    )
    return None if _is_sentinel(parsed) else parsed


def _parse_offset(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text in ("Z", "z"):
        return UTC
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if not offset:
        return UTC
    return timezone(-offset if text[0] == "-" else offset)


def _is_sentinel(value: datetime) -> bool:
    fields = (value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)
    return fields == _SENTINEL
