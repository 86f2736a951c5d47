"""The one set of argument rules: every hook, operator, sensor and trigger checks input here.

Each check raises :class:`~airflow_provider_codat.exceptions.CodatConfigError` (also a
``ValueError``) whose message starts with the parameter's name, and never sends a request.
Operators run the checks when the DAG is parsed, except on values filled in at run time
(:func:`is_runtime_value`), which they check when the task starts.

This module imports nothing heavy (no Airflow, httpx or pydantic at import time): DAG files
import it on every parse.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.resources import get_resource

__all__ = [
    "MAX_IN_FLIGHT_PER_COMPANY",
    "MAX_PAGE_SIZE",
    "check_choice",
    "check_data_types_at_parse",
    "check_record_id",
    "check_seconds",
    "check_uuid",
    "check_uuid_at_parse",
    "check_whole",
    "data_type_key",
    "data_type_keys",
    "is_runtime_value",
    "listable_name",
    "listable_names",
    "parse_moment",
]

MAX_PAGE_SIZE = 5000
"""Codat's largest ``pageSize``."""
MAX_IN_FLIGHT_PER_COMPANY = 10
"""Codat's limit of requests in flight per company."""

_HEX = "[0-9a-fA-F]"
_CANONICAL_UUID = re.compile(f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}")
_T = TypeVar("_T")


def is_runtime_value(value: object) -> bool:
    """Whether ``value`` is only known at run time: a Jinja template or an upstream task's XComArg."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if type(value).__module__.startswith("airflow."):
        from airflow.sdk import XComArg

        return isinstance(value, XComArg)
    return False


def check_uuid(value: object, name: str) -> str:
    """Return ``value`` as a canonical UUID string (lower case), else raise an error naming ``name``.

    A string must have the canonical 8-4-4-4-12 form; upper-case hex digits are folded to lower
    case. The other spellings :class:`uuid.UUID` reads (no dashes, ``{...}``, ``urn:uuid:...``,
    misplaced dashes, non-ASCII digits) are refused rather than rewritten. A :class:`uuid.UUID`
    is accepted too.

    :raises CodatConfigError: If ``value`` is not a UUID in canonical form.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if not (isinstance(value, str) and _CANONICAL_UUID.fullmatch(value)):
        raise CodatConfigError(
            f"{name}: expected a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, got {value!r}"
        )
    return value.lower()


def check_uuid_at_parse(value: Any, name: str) -> Any:
    """Return the canonical form of an id now, or ``value`` itself if it is filled in at run time.

    :raises CodatConfigError: If ``value`` is not a UUID.
    """
    return value if is_runtime_value(value) else check_uuid(value, name)


def check_record_id(value: object) -> str:
    """Return ``value`` as a record id for a path, else raise an error naming ``record_id``.

    A whole number is taken as its digits (native Jinja rendering turns numeric ids into ints). An
    empty id, ``.`` or ``..`` is refused: percent-encoding leaves dots alone, so the path would
    address the list itself or its parent.

    :raises CodatConfigError: If ``value`` is empty, a dot segment, or not a string or whole number.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value not in ("", ".", ".."):
        return value
    raise CodatConfigError(f"record_id: expected a record's id (not empty, '.' or '..'), got {value!r}")


def check_whole(value: object, name: str, low: int, high: int | None = None) -> int:
    """Return ``value`` if it is a whole number from ``low`` to ``high`` (no upper bound: None).

    :raises CodatConfigError: Naming ``name``; a ``bool`` or ``2.5`` is refused.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise CodatConfigError(f"{name}: must be a whole number {span}, got {value!r}")
    return value


def check_seconds(value: object, name: str) -> float:
    """Return ``value`` (a number of seconds or a ``timedelta``) as seconds above 0.

    :raises CodatConfigError: Naming ``name``.
    """
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise CodatConfigError(f"{name}: must be a number of seconds above 0, got {value!r}")
    return float(seconds)


def check_choice(value: object, name: str, choices: Sequence[_T]) -> _T:
    """Return ``value`` if it is one of ``choices``.

    :raises CodatConfigError: Naming ``name`` and the choices.
    """
    for choice in choices:
        if value == choice and type(value) is type(choice):
            return choice
    raise CodatConfigError(f"{name}: expected one of {', '.join(map(str, choices))}, got {value!r}")


def parse_moment(value: object, name: str) -> datetime | None:
    """Read a moment a user gave: a datetime, a date (its midnight) or an ISO string; naive means UTC.

    :return: An aware UTC datetime, or None for None or the empty string.
    :raises CodatConfigError: Naming ``name`` when ``value`` is none of those.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise CodatConfigError(
                f"{name}: expected an ISO 8601 date or date-time such as 2024-05-01T00:00:00Z, got {value!r}"
            ) from None
    else:
        raise CodatConfigError(
            f"{name}: expected a datetime, a date or an ISO 8601 string, got {type(value).__name__}"
        )
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def data_type_key(value: object, name: str) -> str:
    """Return Codat's data-type key for one resource name or data type.

    :raises CodatConfigError: Naming ``name``, on anything but one known resource or data type.
    """
    if not isinstance(value, str):
        raise CodatConfigError(f"{name}: expected a data type such as 'commerce-orders', got {value!r}")
    return data_type_keys(value, name)[0]


def data_type_keys(value: object, name: str = "data_types") -> list[str]:
    """Return Codat's data-type keys for one resource name or data type, or a list of them, deduplicated.

    :raises CodatConfigError: Naming ``name``, on an empty list or an unknown data type.
    """
    return [get_resource(item).data_type for item in _known_names(value, name, listable_only=False)]


def listable_name(value: object, name: str) -> str:
    """Return the registry name of one listable resource, from its name or data type.

    :raises CodatConfigError: Naming ``name``, on anything but the name of a listable resource.
    """
    if not isinstance(value, str):
        raise CodatConfigError(f"{name}: expected a resource name such as 'orders', got {value!r}")
    return listable_names(value, name)[0]


def listable_names(value: object, name: str) -> list[str]:
    """Return the registry names of listable resources, from names or data types, deduplicated.

    :raises CodatConfigError: Naming ``name``, on an empty list, an unknown resource, or one
        without a list operation (``company_info``).
    """
    return [get_resource(item).name for item in _known_names(value, name, listable_only=True)]


def _known_names(value: object, name: str, *, listable_only: bool) -> list[str]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else None
    if items is None:
        raise CodatConfigError(f"{name}: expected a resource name or a list of them, got {value!r}")
    if not items:
        raise CodatConfigError(f"{name}: name at least one resource")
    seen: dict[str, str] = {}
    for item in items:
        try:
            row = get_resource(item)
        except ValueError:
            valid = ", ".join(r.name for r in _rows(listable_only))
            raise CodatConfigError(
                f"{name}: unknown Codat Commerce resource {item!r}; expected one of {valid}"
            ) from None
        if listable_only and not row.listable:
            raise CodatConfigError(f"{name}: {row.name!r} has no list operation")
        seen.setdefault(row.name, row.name)
    return list(seen)


def _rows(listable_only: bool) -> list[Any]:
    from airflow_provider_codat.resources import RESOURCES

    return [r for r in RESOURCES if r.listable or not listable_only]


def check_data_types_at_parse(value: object, name: str = "data_types") -> None:
    """Check now the data types that are not filled in at run time.

    :raises CodatConfigError: Naming ``name``, on an empty list or an unknown data type.
    """
    if is_runtime_value(value):
        return
    items = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else None
    if items is None or not items:
        data_type_keys(value, name)
        return
    literal = [item for item in items if not is_runtime_value(item)]
    if literal:
        data_type_keys(literal, name)
