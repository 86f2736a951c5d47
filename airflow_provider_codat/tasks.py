"""What every Codat task shares, operator or sensor: the connection, the hook, retry defaults, error mapping.

:class:`CodatTask` is a mixin placed before ``BaseOperator`` or ``BaseSensorOperator``; so no
sensor needs an operator module, and an error maps onto Airflow the same way in every task,
timed by the connection's own ``max_wait``. :class:`CodatPollingTask` adds the one way a task
waits on a :class:`~airflow_provider_codat.triggers.base.CodatPollTrigger` and resumes from its
events, the refresh operator's and the sensors' alike.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow_provider_codat.airflow_errors import (
    NotSyncedAction,
    check_not_synced_action,
    set_default_retry_policy,
    to_airflow,
)
from airflow_provider_codat.version_compat import AIRFLOW_V_3_2_PLUS

if TYPE_CHECKING:
    from airflow_provider_codat.hooks.commerce import CodatCommerceHook
    from airflow_provider_codat.triggers.base import CodatPollTrigger

__all__ = ["DATA_TYPES_LABEL", "DEFAULT_MAX_WAIT", "CodatPollingTask", "CodatTask", "default_retries"]

DATA_TYPES_LABEL = "{{ task.data_types if task.data_types is string else task.data_types | join(', ') }}"
"""A ``map_index_template`` fragment naming a task's ``data_types``, one or a list."""

DEFAULT_MAX_WAIT = 60.0
"""The ``max_wait`` an error is mapped with when the connection itself could not be read."""


def default_retries(kwargs: dict[str, Any]) -> None:
    """Every Codat task's defaults: 3 task retries with exponential backoff, timed by Codat's Retry-After."""
    kwargs.setdefault("retries", 3)
    kwargs.setdefault("retry_delay", timedelta(minutes=1))
    # Airflow 3.2 made the flag a multiplier; on 3.1, True doubles the delay each try all the same.
    kwargs.setdefault("retry_exponential_backoff", 2.0 if AIRFLOW_V_3_2_PLUS else True)
    set_default_retry_policy(kwargs)


class CodatTask:
    """The mixin of every Codat operator and sensor (list it before the Airflow base class).

    :param codat_conn_id: The ``codat`` Airflow connection.
    :param on_not_synced: What a 409 (data type not synced yet) does: ``retry``, ``fail`` or ``skip``.
    """

    map_index_label: ClassVar[str | None] = None
    """What each mapped task is labelled in the UI (its ``map_index_template``), unless the DAG says."""

    def __init__(
        self, *, codat_conn_id: str = "codat_default", on_not_synced: str = "retry", **kwargs: Any
    ) -> None:
        default_retries(kwargs)
        super().__init__(**kwargs)
        self.codat_conn_id = codat_conn_id
        self.on_not_synced: NotSyncedAction = check_not_synced_action(on_not_synced)

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """Airflow's ``partial()``, labelling each mapped task with :attr:`map_index_label`.

        The task runner reads the label's template from the mapped task (``partial()``'s keywords,
        where Airflow fills a missing one with None), not from the operator ``__init__`` builds.
        """
        if kwargs.get("map_index_template") is None and cls.map_index_label is not None:
            kwargs["map_index_template"] = cls.map_index_label
        return super().partial(**kwargs)  # type: ignore[misc]

    @cached_property
    def hook(self) -> CodatCommerceHook:
        """The hook (Commerce and Platform calls), built once per task instance."""
        from airflow_provider_codat.hooks.commerce import CodatCommerceHook

        return CodatCommerceHook(codat_conn_id=self.codat_conn_id)

    @contextlib.contextmanager
    def codat_errors(self) -> Iterator[None]:
        """Turn provider errors raised inside into the Airflow exceptions that do the right thing."""
        from airflow_provider_codat.exceptions import CodatError

        try:
            yield
        except CodatError as exc:
            error = to_airflow(
                exc, on_not_synced=self.on_not_synced, max_wait=self._max_wait(), conn_id=self.codat_conn_id
            )
            self.on_mapped_error(error)
            raise error from None

    def _max_wait(self) -> float:
        """The connection's ``max_wait``, or the default when the connection cannot be read."""
        from airflow_provider_codat.exceptions import CodatError

        try:
            return self.hook.config.retry.max_wait
        except CodatError:
            return DEFAULT_MAX_WAIT

    def on_mapped_error(self, error: Exception) -> None:
        """Called with the Airflow exception about to be raised; may defer instead."""


class CodatPollingTask(CodatTask):
    """A Codat task that waits on a poll trigger: in the triggerer when deferrable, else in its worker.

    A subclass sets :attr:`trigger_class` and ``deferrable``, and gives :meth:`finish` and
    :meth:`timed_out`. Every event of the trigger comes back to :meth:`execute_complete`:
    ``done`` finishes; ``timeout`` times out; ``error`` repeats the failed check once from the
    worker, so that its error reaches Airflow with its full type (a 401 fails at once, a spent
    daily quota waits for its ``Retry-After``, a 5xx uses the task's retries), and else waits on.
    """

    trigger_class: ClassVar[type[CodatPollTrigger]]
    deferrable: bool

    def finish(self, context: Any, event: Mapping[str, Any]) -> Any:
        """Return the task's result from a ``done`` event (or raise what its states mean)."""
        raise NotImplementedError

    def timed_out(self, message: str) -> NoReturn:
        """Raise what the task's deadline passing means."""
        raise NotImplementedError

    def wait_on(self, context: Any, trigger: CodatPollTrigger) -> Any:
        """Wait on ``trigger`` (deferring when ``deferrable``, else polling here), then resume."""
        if self.deferrable:
            self.defer(trigger=trigger, method_name="execute_complete")  # type: ignore[attr-defined]
        return self.execute_complete(context, trigger.wait_now(self.hook))

    def execute_complete(self, context: Any, event: Mapping[str, Any]) -> Any:
        """Resume from the trigger's event: finish, time out, or check again from the worker."""
        from airflow.providers.common.compat.sdk import AirflowException

        from airflow_provider_codat.exceptions import CodatNotSyncedError

        status = event.get("status") if event else None
        if status == "done":
            return self.finish(context, event)
        if status == "timeout":
            self.timed_out(str(event.get("message")))
        if status != "error":
            raise AirflowException(f"{self.trigger_class.__name__} sent an unexpected event: {status!r}")
        trigger = self.trigger_class.from_event(event)
        self.log.warning(  # type: ignore[attr-defined]
            "Codat trigger handed back (%s); checking once from the worker", event.get("message")
        )
        with self.codat_errors():
            try:
                result = trigger.check_now(self.hook)
            except CodatNotSyncedError:
                result = None
        if result is not None:
            return self.finish(context, trigger.event("done", **result))
        if time.time() >= trigger.deadline:
            self.timed_out(trigger.describe_waiting())
        return self.wait_on(context, trigger)
