"""What every Codat operator shares: the task mixin on ``BaseOperator``, and small helpers of the run."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import conf
from airflow.sdk import BaseOperator

from airflow_provider_codat.arguments import is_runtime_value, parse_moment
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.operators._window import DEFAULT_OVERLAP, Window, resolve_window
from airflow_provider_codat.tasks import CodatTask

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "CodatOperatorBase",
    "CodatWindowedOperator",
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


class CodatWindowedOperator(CodatOperatorBase):
    """An operator that pulls the ``modifiedDate`` window of its run, and waits out a daily quota.

    See :mod:`airflow_provider_codat.operators._window` for how a run's window is chosen.

    :param full_refresh: Pull everything, ignoring the run's data interval.
    :param modified_since: Lower bound on ``modifiedDate``, overriding the interval. (templated)
    :param modified_until: Upper bound (exclusive) on ``modifiedDate``. (templated)
    :param overlap: How far before the interval's start the window opens (default 5 minutes).
    :param deferrable: Wait out a daily-quota ``Retry-After`` in the triggerer instead of a task retry.
    """

    def __init__(
        self,
        *,
        full_refresh: bool = False,
        modified_since: datetime | str | None = None,
        modified_until: datetime | str | None = None,
        overlap: timedelta = DEFAULT_OVERLAP,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.full_refresh = full_refresh
        self.modified_since = modified_since
        self.modified_until = modified_until
        self.overlap = overlap
        self.deferrable = deferrable
        if not isinstance(overlap, timedelta) or overlap < timedelta(0):
            raise CodatConfigError(f"overlap: must be a timedelta of at least 0, got {overlap!r}")
        bounds = (modified_since, modified_until)
        if full_refresh and any(b is not None for b in bounds):
            raise CodatConfigError("full_refresh: cannot be combined with modified_since or modified_until")
        for name, value in zip(("modified_since", "modified_until"), bounds, strict=True):
            if not is_runtime_value(value):
                parse_moment(value, name)

    def window(self, context: Context) -> Window:
        """The ``modifiedDate`` window of this run."""
        return resolve_window(
            full_refresh=self.full_refresh,
            modified_since=parse_moment(self.modified_since, "modified_since"),
            modified_until=parse_moment(self.modified_until, "modified_until"),
            overlap=self.overlap,
            interval_start=context_moment(context, "data_interval_start"),
            interval_end=context_moment(context, "data_interval_end"),
            previous_end=context_moment(context, "prev_data_interval_end_success"),
            now=datetime.now(UTC),
        )

    def on_mapped_error(self, error: Exception) -> None:
        """With ``deferrable=True``, wait out a long ``Retry-After`` in the triggerer."""
        from airflow_provider_codat.airflow_errors import CodatRetryLater

        if self.deferrable and isinstance(error, CodatRetryLater):
            from airflow.providers.standard.triggers.temporal import DateTimeTrigger

            self.log.warning("Codat asks to come back at %s; deferring until then", error.retry_at)
            self.defer(trigger=DateTimeTrigger(error.retry_at), method_name="execute_complete")

    def execute_complete(self, context: Context, event: Any = None) -> Any:
        """Resume after a deferred quota wait: run again (what landed is kept or replaced)."""
        return self.execute(context)
