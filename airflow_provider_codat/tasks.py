"""What every Codat task shares, operator or sensor: the connection, the hook, retry defaults, error mapping.

:class:`CodatTask` is a mixin placed before ``BaseOperator`` or ``BaseSensorOperator``; so no
sensor needs an operator module, and an error maps onto Airflow the same way in every task,
timed by the connection's own ``max_wait``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_codat.airflow_errors import (
    NotSyncedAction,
    check_not_synced_action,
    set_default_retry_policy,
    to_airflow,
)
from airflow_provider_codat.version_compat import AIRFLOW_V_3_2_PLUS

if TYPE_CHECKING:
    from airflow_provider_codat.hooks.commerce import CodatCommerceHook

__all__ = ["DEFAULT_MAX_WAIT", "CodatTask", "default_retries"]

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

    def __init__(
        self, *, codat_conn_id: str = "codat_default", on_not_synced: str = "retry", **kwargs: Any
    ) -> None:
        default_retries(kwargs)
        super().__init__(**kwargs)
        self.codat_conn_id = codat_conn_id
        self.on_not_synced: NotSyncedAction = check_not_synced_action(on_not_synced)

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
