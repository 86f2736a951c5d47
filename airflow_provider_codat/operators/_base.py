"""What every Codat operator shares: the task mixin on ``BaseOperator``, and small helpers of the run."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_codat.tasks import CodatTask

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "CodatOperatorBase",
    "context_moment",
    "json_native",
    "run_id",
    "run_key",
]


def json_native(value: Any) -> Any:
    """Turn exact Decimals into JSON numbers, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: json_native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_native(v) for v in value]
    return value


def run_id(context: Context) -> str:
    """The DAG run's id, as manifests record it."""
    ti = context.get("ti")
    return str(getattr(ti, "run_id", None) or context.get("run_id") or "")


def run_key(task: BaseOperator, context: Context) -> str:
    """A short key for one task instance of one run (mapped tasks apart), for temporary file names."""
    ti = context.get("ti")
    parts = (task.dag_id, task.task_id, getattr(ti, "run_id", ""), str(getattr(ti, "map_index", -1)))
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


def context_moment(context: Context, key: str) -> datetime | None:
    """A datetime from the context; Airflow hands some out as lazy proxies that may wrap None."""
    value = context.get(key)
    return value if isinstance(value, datetime) else None


class CodatOperatorBase(CodatTask, BaseOperator):
    """What every Codat operator shares (see :class:`~airflow_provider_codat.tasks.CodatTask`)."""
