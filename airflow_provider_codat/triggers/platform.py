"""Triggers that wait in the triggerer for Codat to finish refreshing data (Platform API).

- :class:`CodatPullOperationTrigger` polls pull operations (queued refreshes) until they end.
- :class:`CodatDataSyncTrigger` polls a company's ``dataStatus`` until data types have synced.

Both are calm: every round that does not finish sleeps ``poll_interval``; a retryable Codat error
(429, 5xx, transport) backs off exponentially, no sooner than Codat's ``Retry-After``, and after
``max_errors`` consecutive errors the trigger gives up with an ``error`` event; so it does at
once on a non-retryable error, or on a ``Retry-After`` past the deadline (a spent daily quota).
Each trigger stops with a ``timeout`` event at its ``deadline``. The resumed task repeats a
failed call in the worker, so that the error reaches Airflow through
:func:`~airflow_provider_codat.airflow_errors.to_airflow` with its full type.

The rules they apply to Codat's statuses are :mod:`airflow_provider_codat.refresh`'s, as the
tasks' are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_codat.arguments import check_seconds, check_whole, parse_moment
from airflow_provider_codat.exceptions import CodatApiError, CodatConfigError, CodatError
from airflow_provider_codat.hooks.platform import CodatPlatformHook
from airflow_provider_codat.refresh import State, pull_state, settled, split_ids, sync_states

__all__ = ["CodatDataSyncTrigger", "CodatPullOperationTrigger"]

_MAX_BACKOFF = 300.0


# -- triggers -------------------------------------------------------------------------------------
class _CodatPollTrigger(BaseTrigger):
    """The calm poll loop shared by the Codat triggers; subclasses implement :meth:`check`."""

    def __init__(
        self,
        *,
        company_id: str,
        deadline: float,
        poll_interval: float = 10.0,
        max_errors: int = 5,
        codat_conn_id: str = CodatPlatformHook.default_conn_name,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.company_id = company_id
        self.deadline = float(deadline)
        self.poll_interval = check_seconds(poll_interval, "poll_interval")
        self.max_errors = check_whole(max_errors, "max_errors", 1)
        self.codat_conn_id = codat_conn_id

    def _settings(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "deadline": self.deadline,
            "poll_interval": self.poll_interval,
            "max_errors": self.max_errors,
            "codat_conn_id": self.codat_conn_id,
        }

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath (taken from the class) and the keyword arguments: strings and numbers."""
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}", self._settings()

    async def check(self, hook: CodatPlatformHook) -> dict[str, Any] | None:
        """Poll once; return the final event's payload, or None to poll again."""
        raise NotImplementedError

    def payload(self, status: str, **fields: Any) -> dict[str, Any]:
        """An event payload: ``status`` plus what the resumed task needs, as small JSON."""
        return {"status": status, **self._settings(), **fields}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until done, then yield one event (``done``, ``timeout`` or ``error``)."""
        async with CodatPlatformHook(self.codat_conn_id) as hook:
            async for event in self._poll(hook):
                yield event

    async def _poll(self, hook: CodatPlatformHook) -> AsyncIterator[TriggerEvent]:
        errors = 0
        while True:
            try:
                final = await self.check(hook)
            except CodatError as exc:
                errors += 1
                message = f"{type(exc).__name__}: {exc}"
                retry_at = _retry_at(exc)
                if (
                    not exc.retryable
                    or errors >= self.max_errors
                    or (retry_at is not None and retry_at.timestamp() > self.deadline)
                ):
                    self.log.warning("Codat poll failed (%d in a row), giving up: %s", errors, message)
                    yield _event(self.payload("error", message=message, errors=errors))
                    return
                delay = _backoff(self.poll_interval, errors, retry_at)
                self.log.info("Codat poll failed (%d in a row), next in %.1f s: %s", errors, delay, message)
            else:
                if final is not None:
                    yield _event(final)
                    return
                errors, delay = 0, self.poll_interval
            remaining = self.deadline - time.time()
            if remaining <= 0:
                yield _event(self.payload("timeout", message=self.describe_timeout()))
                return
            await asyncio.sleep(min(delay, remaining))

    def describe_timeout(self) -> str:
        """The message of a ``timeout`` event."""
        return f"still waiting on Codat at the deadline ({datetime.fromtimestamp(self.deadline, UTC)})"


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


def _retry_at(error: CodatError) -> datetime | None:
    return error.retry_at if isinstance(error, CodatApiError) else None


def _backoff(poll_interval: float, errors: int, retry_at: datetime | None) -> float:
    """Seconds to wait after the ``errors``-th consecutive failure: doubling, never before Retry-After."""
    delay = min(_MAX_BACKOFF, poll_interval * 2.0 ** (errors - 1))
    if retry_at is not None:
        delay = max(delay, (retry_at - datetime.now(UTC)).total_seconds())
    return max(delay, poll_interval)


class CodatPullOperationTrigger(_CodatPollTrigger):
    """Wait until Codat's pull operations (queued refreshes) end, or one of them fails.

    The ``done`` event carries ``states``: ``{pull_operation_id: state}``, each state a dict of
    ``dataType``, ``connectionId``, ``status``, ``done``, ``id`` and ``error`` (see :func:`pull_state`).

    :param company_id: The company's UUID.
    :param pull_operation_ids: The pull operations' UUIDs, comma-separated.
    :param deadline: When to give up, in seconds since the epoch.
    :param poll_interval: Seconds between polls.
    :param max_errors: Consecutive failed polls after which the trigger gives up.
    :param codat_conn_id: The Airflow connection to Codat.
    """

    def __init__(self, *, pull_operation_ids: str, **settings: Any) -> None:
        super().__init__(**settings)
        self.pull_operation_ids = pull_operation_ids
        self._states: dict[str, State] = {}

    def _settings(self) -> dict[str, Any]:
        return {**super()._settings(), "pull_operation_ids": self.pull_operation_ids}

    async def check(self, hook: CodatPlatformHook) -> dict[str, Any] | None:
        """Fetch every pull operation that has not ended; finish once :func:`settled`."""
        for op_id in split_ids(self.pull_operation_ids):
            if not self._states.get(op_id, {}).get("done"):
                self._states[op_id] = pull_state(await hook.aget_pull_operation(self.company_id, op_id))
        if settled(self._states.values()):
            return self.payload("done", states=self._states)
        return None

    def describe_timeout(self) -> str:
        """Name the refreshes still running."""
        running = ", ".join(
            f"{s['dataType']} ({s['status']})" for s in self._states.values() if not s["done"]
        )
        return f"Codat refreshes still running at the deadline: {running or 'unknown'}"


class CodatDataSyncTrigger(_CodatPollTrigger):
    """Wait until data types have synced successfully after a moment, reading ``dataStatus``.

    The ``done`` event carries ``states``: ``{data_type: state}`` (see :func:`sync_state`), each
    ``Complete``, or a pull operation that ended badly after ``synced_after`` (fail fast).

    :param company_id: The company's UUID.
    :param data_types: Codat data types (``commerce-orders``), comma-separated.
    :param synced_after: ISO 8601 date-time; a sync that ended earlier does not count.
    :param deadline: When to give up, in seconds since the epoch.
    :param poll_interval: Seconds between polls.
    :param max_errors: Consecutive failed polls after which the trigger gives up.
    :param codat_conn_id: The Airflow connection to Codat.
    """

    def __init__(self, *, data_types: str, synced_after: str, **settings: Any) -> None:
        super().__init__(**settings)
        moment = parse_moment(synced_after, "synced_after")
        if moment is None:
            raise CodatConfigError(f"synced_after: expected an ISO 8601 date-time, got {synced_after!r}")
        self.data_types = data_types
        self.synced_after = synced_after
        self._after = moment
        self._states: dict[str, State] = {}

    def _settings(self) -> dict[str, Any]:
        return {**super()._settings(), "data_types": self.data_types, "synced_after": self.synced_after}

    async def check(self, hook: CodatPlatformHook) -> dict[str, Any] | None:
        """Read ``dataStatus`` (and a failed latest pull operation); finish once :func:`settled`."""
        status = await hook.aget_data_status(self.company_id)
        types = split_ids(self.data_types)
        states, needed = sync_states(status, types, self._after, {})
        if needed:
            operations = {op_id: await hook.aget_pull_operation(self.company_id, op_id) for op_id in needed}
            states, _ = sync_states(status, types, self._after, operations)
        self._states.update(states)
        if settled(self._states.values()):
            return self.payload("done", states=self._states)
        return None

    def describe_timeout(self) -> str:
        """Name the data types not synced."""
        waiting = ", ".join(s["dataType"] for s in self._states.values() if not s["done"])
        return (
            f"Codat data types not synced since {self.synced_after} at the deadline: {waiting or 'unknown'}"
        )
