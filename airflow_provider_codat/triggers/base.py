"""``CodatPollTrigger``: the one poll loop of every Codat trigger, and its one event schema.

A subclass says what one poll is (:meth:`CodatPollTrigger.check`); the loop says what happens
around it, the same for every trigger:

==========================================  ===============================================
a poll's outcome                            what the trigger does
==========================================  ===============================================
``check`` returns a result                  event ``{"status": "done", **result}``
``check`` returns None, or 409 (not         sleep ``poll_interval``, doubling up to
synced yet)                                 ``max_poll_interval`` while nothing changes
408, 429, 5xx, transport failure, after     sleep ``poll_interval`` doubled per consecutive
the hook's per-call retries                 error (at most 5 minutes, or ``max_poll_interval``),
                                            never before Codat's ``Retry-After``; the
                                            ``max_errors``-th error in a row, or a
                                            ``Retry-After`` past the deadline (a spent daily
                                            quota), ends with ``{"status": "error", ...}``
400, 401, 402, 403, 404                     event ``{"status": "error", ...}`` at once
the ``deadline`` passes                     event ``{"status": "timeout", ...}``
==========================================  ===============================================

Every event carries ``trigger``: the trigger's own keyword arguments, so the resumed task can
rebuild it (:meth:`CodatPollTrigger.from_event`) to check again or to wait on. An ``error``
event adds ``message``, ``errors`` (how many in a row), ``retryable``, ``error`` (the
exception's type) and ``status_code``; a ``timeout`` event adds ``message``. The resumed task
repeats a failed check in the worker, so that the error reaches Airflow with its full type.

The same check runs in a worker, synchronously: :meth:`CodatPollTrigger.check_now` is one poke
of a sensor, :meth:`CodatPollTrigger.wait_now` a whole wait of a task that does not defer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

# Imported here, when the triggerer loads the class, so that the first poll imports nothing in the loop.
import airflow_provider_codat.client  # noqa: F401
from airflow_provider_codat.arguments import check_seconds, check_whole
from airflow_provider_codat.exceptions import CodatApiError, CodatError, CodatNotSyncedError
from airflow_provider_codat.hooks.platform import CodatPlatformHook

__all__ = ["DEFAULT_MAX_ERRORS", "MAX_ERROR_BACKOFF", "CodatPollTrigger", "PollError", "poll_error"]

DEFAULT_MAX_ERRORS = 5
_T = TypeVar("_T")
MAX_ERROR_BACKOFF = 300.0
"""Longest wait, in seconds, after errors (unless ``max_poll_interval`` or Retry-After ask more)."""


class PollError(StrEnum):
    """What a failed poll means for a wait, in a trigger or in a sensor's poke."""

    NOT_YET = "not_yet"
    """409: Codat has not synced the data yet; as good as a poll that found nothing."""
    TRANSIENT = "transient"
    """Retryable (408, 429, 5xx, transport) after the hook's own retries: try again later."""
    FATAL = "fatal"
    """No retry can fix it (400, 401, 402, 403, 404, bad input)."""


def poll_error(error: CodatError) -> PollError:
    """Classify a Codat error raised by one poll."""
    if isinstance(error, CodatNotSyncedError):
        return PollError.NOT_YET
    return PollError.TRANSIENT if error.retryable else PollError.FATAL


class CodatPollTrigger(BaseTrigger):
    """Poll Codat until :meth:`check` has a result, an error ends the wait, or the deadline passes.

    :param company_id: The company's UUID.
    :param deadline: When to give up, in seconds since the epoch.
    :param poll_interval: Seconds between polls.
    :param max_poll_interval: Longest wait between polls that found nothing; above
        ``poll_interval``, each such poll doubles the wait up to it (default: ``poll_interval``).
    :param max_errors: Failed polls in a row after which the trigger hands back to the task.
    :param codat_conn_id: The Airflow connection to Codat.
    :raises CodatConfigError: Naming the parameter, on a bad setting.
    """

    hook_class: ClassVar[type[CodatPlatformHook]] = CodatPlatformHook

    def __init__(
        self,
        *,
        company_id: str,
        deadline: float,
        poll_interval: float = 60.0,
        max_poll_interval: float | None = None,
        max_errors: int = DEFAULT_MAX_ERRORS,
        codat_conn_id: str = CodatPlatformHook.default_conn_name,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.company_id = company_id
        self.deadline = float(deadline)
        self.poll_interval = check_seconds(poll_interval, "poll_interval")
        ceiling = self.poll_interval if max_poll_interval is None else max_poll_interval
        self.max_poll_interval = max(self.poll_interval, check_seconds(ceiling, "max_poll_interval"))
        self.max_errors = check_whole(max_errors, "max_errors", 1)
        self.codat_conn_id = codat_conn_id

    # -- what a subclass gives ------------------------------------------------------------------
    async def check(self, hook: CodatPlatformHook) -> dict[str, Any] | None:
        """Poll once; return the ``done`` event's fields (small JSON), or None to poll again."""
        raise NotImplementedError

    def describe_waiting(self) -> str:
        """What was still awaited, for the ``timeout`` event."""
        return f"still waiting on Codat at the deadline ({datetime.fromtimestamp(self.deadline, UTC)})"

    def settings(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this trigger: strings and numbers."""
        return {
            "company_id": self.company_id,
            "deadline": self.deadline,
            "poll_interval": self.poll_interval,
            "max_poll_interval": self.max_poll_interval,
            "max_errors": self.max_errors,
            "codat_conn_id": self.codat_conn_id,
        }

    # -- serialization and events ---------------------------------------------------------------
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath (taken from the class) and :meth:`settings`."""
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}", self.settings()

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Self:
        """Rebuild the trigger that sent ``event``."""
        return cls(**event["trigger"])

    def event(self, status: str, **fields: Any) -> dict[str, Any]:
        """An event payload: ``status``, this trigger's settings, and ``fields``."""
        return {"status": status, "trigger": self.settings(), **fields}

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until an outcome, then yield one event (``done``, ``error`` or ``timeout``)."""
        async with self.hook_class(self.codat_conn_id) as hook:
            yield TriggerEvent(await self.wait(hook))  # type: ignore[no-untyped-call]

    async def wait(self, hook: CodatPlatformHook) -> dict[str, Any]:
        """The poll loop: every round that does not end awaits its wait first; return the event."""
        errors = idle = 0
        while True:
            try:
                result = await self.check(hook)
            except CodatError as exc:
                if poll_error(exc) is not PollError.NOT_YET:
                    errors += 1
                    give_up = self._gives_up(exc, errors)
                    if give_up:
                        self.log.warning("Codat poll failed (%d in a row), handing back: %s", errors, give_up)
                        return self.event("error", **_error_fields(exc, give_up, errors))
                    delay = self._error_wait(exc, errors)
                    self.log.info("Codat poll failed (%d in a row), next in %.1f s: %s", errors, delay, exc)
                else:
                    errors, idle = 0, idle + 1
                    delay = self._idle_wait(idle)
                    self.log.info("Codat has not synced the data yet (%s); next poll in %.1f s", exc, delay)
            else:
                if result is not None:
                    return self.event("done", **result)
                errors, idle = 0, idle + 1
                delay = self._idle_wait(idle)
            remaining = self.deadline - time.time()
            if remaining <= 0:
                return self.event("timeout", message=self.describe_waiting())
            await asyncio.sleep(min(delay, remaining))

    def _gives_up(self, error: CodatError, errors: int) -> str | None:
        """Why this error ends the wait, or None to poll again."""
        message = f"{type(error).__name__}: {error}"
        if not error.retryable:
            return message
        if errors >= self.max_errors:
            return f"{message} (gave up after {errors} failed polls in a row)"
        retry_at = error.retry_at if isinstance(error, CodatApiError) else None
        if retry_at is not None and retry_at.timestamp() > self.deadline:
            return f"{message} (Codat asks to wait past the deadline)"
        return None

    def _idle_wait(self, polls: int) -> float:
        return min(self.poll_interval * 2.0 ** min(polls - 1, 30), self.max_poll_interval)

    def _error_wait(self, error: CodatError, errors: int) -> float:
        ceiling = max(self.max_poll_interval, MAX_ERROR_BACKOFF)
        wait = min(self.poll_interval * 2.0 ** min(errors - 1, 30), ceiling)
        retry_at = error.retry_at if isinstance(error, CodatApiError) else None
        if retry_at is not None:
            wait = max(wait, (retry_at - datetime.now(UTC)).total_seconds())
        return wait

    # -- the same, from a worker ----------------------------------------------------------------
    def check_now(self, hook: CodatPlatformHook) -> dict[str, Any] | None:
        """Run :meth:`check` once in this (worker) thread: a sensor's poke. Errors propagate."""
        return _in_this_thread(hook, self.check)

    def wait_now(self, hook: CodatPlatformHook) -> dict[str, Any]:
        """Run the whole wait in this (worker) thread, for a task that does not defer; return the event."""
        return _in_this_thread(hook, self.wait)


def _in_this_thread(hook: CodatPlatformHook, step: Callable[[CodatPlatformHook], Awaitable[_T]]) -> _T:
    """Run ``step(hook)`` on an event loop of its own, closing the hook's async client after."""

    async def run() -> _T:
        try:
            return await step(hook)
        finally:
            await hook.aclose()

    hook.config  # noqa: B018 - read the connection here: a worker reads it synchronously
    return asyncio.run(run())


def _error_fields(error: CodatError, message: str, errors: int) -> dict[str, Any]:
    return {
        "message": message,
        "errors": errors,
        "retryable": error.retryable,
        "error": type(error).__name__,
        "status_code": error.status if isinstance(error, CodatApiError) else None,
    }
