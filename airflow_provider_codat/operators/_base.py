"""What every Codat operator shares: argument checks, the hook, retry defaults and error mapping."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_codat.airflow_errors import (
    check_not_synced_action,
    set_default_retry_policy,
    to_airflow,
)
from airflow_provider_codat.version_compat import AIRFLOW_V_3_2_PLUS

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_codat.hooks.commerce import CodatCommerceHook

__all__ = [
    "CodatOperatorBase",
    "context_moment",
    "default_retries",
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


def default_retries(kwargs: dict[str, Any]) -> None:
    """Every Codat task's defaults: 3 task retries with exponential backoff, timed by Codat's Retry-After."""
    kwargs.setdefault("retries", 3)
    kwargs.setdefault("retry_delay", timedelta(minutes=1))
    # Airflow 3.2 made the flag a multiplier; on 3.1, True doubles the delay each try all the same.
    kwargs.setdefault("retry_exponential_backoff", 2.0 if AIRFLOW_V_3_2_PLUS else True)
    set_default_retry_policy(kwargs)


class CodatOperatorBase(BaseOperator):
    """What every Codat operator shares: the connection, the hook, defaults and error mapping."""

    def __init__(
        self, *, codat_conn_id: str = "codat_default", on_not_synced: str = "retry", **kwargs: Any
    ) -> None:
        default_retries(kwargs)
        super().__init__(**kwargs)
        self.codat_conn_id = codat_conn_id
        self.on_not_synced = check_not_synced_action(on_not_synced)

    @cached_property
    def hook(self) -> CodatCommerceHook:
        """The hook, built once per task instance."""
        from airflow_provider_codat.hooks.commerce import CodatCommerceHook

        return CodatCommerceHook(codat_conn_id=self.codat_conn_id)

    @contextlib.contextmanager
    def codat_errors(self) -> Iterator[None]:
        """Turn provider errors raised inside into the Airflow exceptions that do the right thing."""
        from airflow_provider_codat.exceptions import CodatConfigError, CodatError

        try:
            yield
        except CodatError as exc:
            max_wait = 60.0 if isinstance(exc, CodatConfigError) else self.hook.config.retry.max_wait
            error = to_airflow(exc, on_not_synced=self.on_not_synced, max_wait=max_wait)
            self.on_mapped_error(error)
            raise error from None

    def on_mapped_error(self, error: Exception) -> None:
        """Called with the Airflow exception about to be raised; may defer instead."""
