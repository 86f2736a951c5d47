"""The queryable fields of each resource, read off the records the sandbox generates.

Codat resolves query properties against its own record types, which carry more than the
published schema (Products have ``modifiedDate``, Payments a ``type``). The sandbox answers from
what it serves: scalar leaves of sample records, with dotted paths through nested objects.
Arrays are not queryable, as on Codat.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from airflow_provider_codat.resources import RESOURCES, Resource
from airflow_provider_codat.sandbox.generators import BUILDERS, PLATFORMS, ConnectionData
from airflow_provider_codat.sandbox.query import FieldKind, Fields

__all__ = ["fields_for"]

_DATE_NAMES = ("Date", "created", "lastSync", "requested", "completed")
_SAMPLES = 64


@functools.cache
def fields_for(resource: Resource) -> Fields:
    """Return the dotted, queryable fields of ``resource`` with their kinds."""
    counts = {r.name: 10 for r in RESOURCES}
    ctx = ConnectionData(
        0, "company", "connection", "Sample", PLATFORMS[0], counts, datetime(2024, 1, 1, tzinfo=UTC)
    )
    found: dict[str, FieldKind] = {}
    for i in range(_SAMPLES):
        _collect(BUILDERS[resource.name](ctx, i, "2023-12-01T00:00:00Z"), "", found)
    return found


def _collect(record: dict[str, Any], prefix: str, found: dict[str, FieldKind]) -> None:
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            _collect(value, f"{path}.", found)
        elif isinstance(value, bool):
            found[path] = "boolean"
        elif isinstance(value, int | float):
            found[path] = "number"
        elif isinstance(value, str):
            found[path] = "datetime" if key.endswith(_DATE_NAMES) else "string"
