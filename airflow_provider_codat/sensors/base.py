"""``CodatSensor``: the one shape of Codat's sensors, in a worker or in the triggerer.

A sensor builds its trigger (:meth:`CodatSensor.build_trigger`), and every check, a poke in a
worker as much as a poll in the triggerer, is that trigger's
:meth:`~airflow_provider_codat.triggers.base.CodatPollTrigger.check`: one piece of code decides.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, conf
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_codat.arguments import check_seconds, check_whole
from airflow_provider_codat.exceptions import CodatError, CodatRateLimitError
from airflow_provider_codat.tasks import CodatPollingTask
from airflow_provider_codat.triggers.base import DEFAULT_MAX_ERRORS, CodatPollTrigger, PollError, poll_error

__all__ = ["CodatSensor"]


class CodatSensor(CodatPollingTask, BaseSensorOperator):
    """The base of Codat's sensors: ``poke`` and ``reschedule`` modes, or ``deferrable=True``.

    A poke is one check. A transient failure (408, 429, 5xx, transport) left after the hook's
    per-call retries, a 409 (not synced yet) and a 429 whose ``Retry-After`` is beyond the
    connection's ``max_wait`` count as "not yet", so a worker never sleeps through a daily quota;
    400, 401, 402, 403, 404 and bad input fail the task at once, without retries. Deferrable, the
    sensor checks once, then waits in the triggerer until its ``timeout``.

    :param deferrable: Wait in the triggerer instead of a worker (default: ``[operators]
        default_deferrable``).
    :param poll_interval: Seconds (or a timedelta) between checks; the sensor's ``poke_interval``,
        which may be given instead (default 60).
    :param max_errors: In deferrable mode, failed polls in a row after which the trigger hands
        back to the worker, which checks once and lets the error, if it recurs, fail or retry the task.
    """

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | timedelta | None = None,
        max_errors: int = DEFAULT_MAX_ERRORS,
        **kwargs: Any,
    ) -> None:
        if poll_interval is None:
            interval = check_seconds(kwargs.pop("poke_interval", 60.0), "poke_interval")
        else:
            kwargs.pop("poke_interval", None)
            interval = check_seconds(poll_interval, "poll_interval")
        super().__init__(poke_interval=interval, **kwargs)
        self.deferrable = deferrable
        self.max_errors = check_whole(max_errors, "max_errors", 1)

    @property
    def poll_interval(self) -> float:
        """Seconds between checks (the sensor's ``poke_interval``)."""
        return float(self.poke_interval)

    def build_trigger(self, context: Any, deadline: float) -> CodatPollTrigger:
        """The trigger whose check this sensor makes, with :meth:`trigger_settings`."""
        raise NotImplementedError

    def trigger_settings(self, deadline: float) -> dict[str, Any]:
        """The poll loop's settings, from the sensor's own."""
        if self.exponential_backoff:
            max_poll = self.max_wait.total_seconds() if self.max_wait else float(self.timeout)
        else:
            max_poll = self.poll_interval
        return {
            "deadline": deadline,
            "poll_interval": self.poll_interval,
            "max_poll_interval": max(max_poll, self.poll_interval),
            "max_errors": self.max_errors,
            "codat_conn_id": self.codat_conn_id,
        }

    def timed_out(self, message: str) -> NoReturn:
        """Raise ``AirflowSensorTimeout``: the sensor's own retries do not apply."""
        raise AirflowSensorTimeout(f"{message} (timeout={self.timeout:g}s)")

    def poke(self, context: Any) -> PokeReturnValue:
        """Check once; done, with the XCom value :meth:`finish` returns, or not yet."""
        trigger = self.build_trigger(context, time.time() + float(self.timeout))
        try:
            result = trigger.check_now(self.hook)
        except CodatError as error:
            self._not_yet_or_raise(error)
            return PokeReturnValue(is_done=False)
        if result is None:
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self.finish(context, trigger.event("done", **result)))

    def execute(self, context: Any) -> Any:
        """Sense in the worker (``poke`` or ``reschedule``), or check once and defer."""
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        return self.wait_on(context, self.build_trigger(context, time.time() + float(self.timeout)))

    def _not_yet_or_raise(self, error: CodatError) -> None:
        """Log why ``error`` means "not yet", or raise the Airflow exception that fails the task now."""
        kind = poll_error(error)
        if kind is PollError.FATAL:
            with self.codat_errors():
                raise error
        if kind is PollError.NOT_YET:
            self.log.info("Codat has not synced the data yet (%s); not yet", error)
        elif isinstance(error, CodatRateLimitError) and error.retry_at is not None:
            self.log.warning(
                "Codat asks to retry at %s (%s); not sleeping in the worker, checking again in %.0f s",
                f"{error.retry_at:%Y-%m-%dT%H:%M:%SZ}",
                error,
                self.poll_interval,
            )
        else:
            self.log.warning("Codat call failed (%s); not yet, checking again later", error)
