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

The module also holds the pure rules both the triggers and the tasks apply to Codat's statuses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_codat.exceptions import CodatApiError, CodatConfigError, CodatError
from airflow_provider_codat.hooks.commerce import CodatCommerceHook

__all__ = [
    "COMPLETE",
    "NOT_SUPPORTED",
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "CodatDataSyncTrigger",
    "CodatPullOperationTrigger",
    "is_failure",
    "parse_time",
    "pull_state",
    "settled",
    "split_ids",
    "sync_state",
    "sync_state_of_operation",
]

COMPLETE = "Complete"
NOT_SUPPORTED = "NotSupported"
RUNNING_STATUSES = frozenset(
    {
        "Initial",
        "Queued",
        "Fetching",
        "MapQueued",
        "Mapping",
        "ProcessingQueued",
        "Processing",
        "ValidationQueued",
        "Validating",
    }
)
"""Pull-operation statuses on the way to an end."""
TERMINAL_STATUSES = frozenset(
    {
        COMPLETE,
        NOT_SUPPORTED,
        "FetchError",
        "MapError",
        "InternalError",
        "ProcessingError",
        "ValidationError",
        "AuthError",
        "PermissionsError",
        "Cancelled",
        "RateLimitError",
        "PrerequisiteNotMet",
    }
)
"""Pull-operation statuses that end a refresh."""
WAITING = "Waiting"
"""The status of a data type that has not synced since the time asked for, nor failed since then."""
_MAX_ERROR_TEXT = 200
_MAX_BACKOFF = 300.0

State = dict[str, Any]
"""``{"dataType", "status", "done", "id", "error"}``, and ``connectionId`` for a pull operation:
what a task needs to know about one refresh."""


# -- pure rules -----------------------------------------------------------------------------------
def parse_time(value: Any) -> datetime | None:
    """Return a Codat date-time (ISO 8601; naive means UTC) as an aware datetime, or None."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pull_state(op: Mapping[str, Any]) -> State:
    """Summarise a PullOperation; an unknown status ends it only if Codat flags it completed or errored."""
    status = str(op.get("status") or "Initial")
    done = status in TERMINAL_STATUSES or (
        status not in RUNNING_STATUSES and bool(op.get("isCompleted") or op.get("isErrored"))
    )
    error = op.get("errorMessage") or op.get("statusDescription")
    return {
        "id": str(op.get("id", "")),
        "dataType": str(op.get("dataType", "")),
        "connectionId": str(op.get("connectionId", "")),
        "status": status,
        "done": done,
        "error": str(error)[:_MAX_ERROR_TEXT] if error else None,
    }


def is_failure(state: Mapping[str, Any]) -> bool:
    """Whether a refresh ended in a status other than Complete or NotSupported."""
    return bool(state["done"]) and state["status"] not in (COMPLETE, NOT_SUPPORTED)


def settled(states: Iterable[Mapping[str, Any]]) -> bool:
    """Whether waiting is over: every refresh ended, or one failed (fail fast)."""
    states = list(states)
    return any(is_failure(s) for s in states) or all(s["done"] for s in states)


def sync_state(data_type: str, entry: Mapping[str, Any] | None, synced_after: datetime) -> State | None:
    """Read one ``dataStatus`` entry: synced since ``synced_after``, still waiting, or None.

    None means the latest pull operation ended badly and :func:`sync_state_of_operation` must
    tell whether it was requested after ``synced_after`` (an older failure is not this run's).
    """
    entry = entry or {}
    last = parse_time(entry.get("lastSuccessfulSync"))
    if last is not None and last >= synced_after:
        return {"dataType": data_type, "status": COMPLETE, "done": True, "id": None, "error": None}
    status = str(entry.get("currentStatus") or "")
    if status in TERMINAL_STATUSES and status != COMPLETE and entry.get("latestSyncId"):
        return None
    return {"dataType": data_type, "status": WAITING, "done": False, "id": None, "error": None}


def sync_state_of_operation(data_type: str, op: Mapping[str, Any], synced_after: datetime) -> State:
    """The state of a data type whose latest pull operation ended badly (see :func:`sync_state`)."""
    requested = parse_time(op.get("requested"))
    if requested is not None and requested >= synced_after:
        return {**pull_state(op), "dataType": data_type}
    return {"dataType": data_type, "status": WAITING, "done": False, "id": None, "error": None}


def split_ids(value: str) -> list[str]:
    """Split a comma-separated list, dropping blanks."""
    return [part.strip() for part in value.split(",") if part.strip()]


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
        codat_conn_id: str = CodatCommerceHook.default_conn_name,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if not poll_interval > 0:
            raise CodatConfigError(f"poll_interval: must be more than 0 seconds, got {poll_interval!r}")
        if max_errors < 1:
            raise CodatConfigError(f"max_errors: must be at least 1, got {max_errors!r}")
        self.company_id = company_id
        self.deadline = float(deadline)
        self.poll_interval = float(poll_interval)
        self.max_errors = int(max_errors)
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

    async def check(self, hook: CodatCommerceHook) -> dict[str, Any] | None:
        """Poll once; return the final event's payload, or None to poll again."""
        raise NotImplementedError

    def payload(self, status: str, **fields: Any) -> dict[str, Any]:
        """An event payload: ``status`` plus what the resumed task needs, as small JSON."""
        return {"status": status, **self._settings(), **fields}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until done, then yield one event (``done``, ``timeout`` or ``error``)."""
        async with CodatCommerceHook(self.codat_conn_id) as hook:
            async for event in self._poll(hook):
                yield event

    async def _poll(self, hook: CodatCommerceHook) -> AsyncIterator[TriggerEvent]:
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

    async def check(self, hook: CodatCommerceHook) -> dict[str, Any] | None:
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
        moment = parse_time(synced_after)
        if moment is None:
            raise CodatConfigError(f"synced_after: expected an ISO 8601 date-time, got {synced_after!r}")
        self.data_types = data_types
        self.synced_after = synced_after
        self._after = moment
        self._states: dict[str, State] = {}

    def _settings(self) -> dict[str, Any]:
        return {**super()._settings(), "data_types": self.data_types, "synced_after": self.synced_after}

    async def check(self, hook: CodatCommerceHook) -> dict[str, Any] | None:
        """Read ``dataStatus`` (and a failed latest pull operation); finish once :func:`settled`."""
        status = await hook.aget_data_status(self.company_id)
        for data_type in split_ids(self.data_types):
            entry = status.get(data_type) or {}
            state = sync_state(data_type, entry, self._after)
            if state is None:
                op = await hook.aget_pull_operation(self.company_id, str(entry["latestSyncId"]))
                state = sync_state_of_operation(data_type, op, self._after)
            self._states[data_type] = state
        if settled(self._states.values()):
            return self.payload("done", states=self._states)
        return None

    def describe_timeout(self) -> str:
        """Name the data types not synced."""
        waiting = ", ".join(s["dataType"] for s in self._states.values() if not s["done"])
        return (
            f"Codat data types not synced since {self.synced_after} at the deadline: {waiting or 'unknown'}"
        )
