"""The rules of a Codat refresh: pull-operation statuses, when waiting is over, and what an ending means.

The one source of these rules: the refresh operator, the data-sync sensor, their triggers, the
models and the sandbox all read them here. The module imports only the standard library.

How a refresh's end becomes a task's outcome (:func:`judge`):

==============================  ======================================================================
Pull-operation status           Outcome (:class:`Verdict` ``kind``)
==============================  ======================================================================
``Complete``                    ``ok``: success
``NotSupported``                ``skip`` (``not_supported="skip"``, the default) or ``fail`` with
                                ``not_supported="fail"``
``AuthError``                   ``fail``: relink the data connection in Codat, then clear the task
``PermissionsError``            as ``AuthError``
``Cancelled``                   ``fail``: someone cancelled the refresh
``PrerequisiteNotMet``          ``fail``: Codat needs something set up first; retrying cannot help
``FetchError``                  ``retry``: a failure on Codat's or the platform's side
``MapError``                    as ``FetchError``
``InternalError``               as ``FetchError``
``ProcessingError``             as ``FetchError``
``ValidationError``             as ``FetchError``
``RateLimitError``              as ``FetchError`` (the platform throttled Codat)
an unknown status, errored      as ``FetchError``
==============================  ======================================================================

With several data types the most severe outcome wins: ``fail``, then ``retry``. ``NotSupported``
skips only when every data type is not supported; beside data types that completed it is
reported (:attr:`Verdict.unsupported`), and the task succeeds. ``fail`` maps to
``AirflowFailException``, ``retry`` to ``AirflowException`` and ``skip`` to
``AirflowSkipException`` (:func:`~airflow_provider_codat.airflow_errors.raise_for_verdict`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from airflow_provider_codat.codat_time import parse_codat_datetime

__all__ = [
    "COMPLETE",
    "ENDING_STATUSES",
    "NOT_SUPPORTED",
    "NOT_SUPPORTED_ACTIONS",
    "RUNNING_QUERY",
    "RUNNING_STATUSES",
    "WAITING",
    "NotSupportedAction",
    "PullOperationStatus",
    "State",
    "Verdict",
    "describe",
    "is_failure",
    "judge",
    "parse_time",
    "pull_state",
    "settled",
    "split_ids",
    "sync_state",
    "sync_states",
]


class PullOperationStatus(StrEnum):
    """The state of a pull operation (a dataset sync), as Codat's Platform spec lists them."""

    INITIAL = "Initial"
    QUEUED = "Queued"
    FETCHING = "Fetching"
    MAP_QUEUED = "MapQueued"
    MAPPING = "Mapping"
    COMPLETE = "Complete"
    FETCH_ERROR = "FetchError"
    MAP_ERROR = "MapError"
    INTERNAL_ERROR = "InternalError"
    PROCESSING_QUEUED = "ProcessingQueued"
    PROCESSING = "Processing"
    PROCESSING_ERROR = "ProcessingError"
    VALIDATION_QUEUED = "ValidationQueued"
    VALIDATING = "Validating"
    VALIDATION_ERROR = "ValidationError"
    AUTH_ERROR = "AuthError"
    CANCELLED = "Cancelled"
    NOT_SUPPORTED = "NotSupported"
    RATE_LIMIT_ERROR = "RateLimitError"
    PERMISSIONS_ERROR = "PermissionsError"
    PREREQUISITE_NOT_MET = "PrerequisiteNotMet"


_S = PullOperationStatus
COMPLETE = _S.COMPLETE.value
NOT_SUPPORTED = _S.NOT_SUPPORTED.value
RUNNING_STATUSES: tuple[str, ...] = tuple(
    s.value
    for s in (
        _S.INITIAL,
        _S.QUEUED,
        _S.FETCHING,
        _S.MAP_QUEUED,
        _S.MAPPING,
        _S.PROCESSING_QUEUED,
        _S.PROCESSING,
        _S.VALIDATION_QUEUED,
        _S.VALIDATING,
    )
)
"""Pull-operation statuses on the way to an end."""
ENDING_STATUSES: tuple[str, ...] = tuple(s.value for s in _S if s.value not in RUNNING_STATUSES)
"""Pull-operation statuses that end a refresh."""
RUNNING_QUERY = "{" + "||".join(f"status={status}" for status in sorted(RUNNING_STATUSES)) + "}"
"""Codat's query for the pull operations still running."""
WAITING = "Waiting"
"""The status of a data type that has not synced since the time asked for, nor failed since then."""
_FATAL = frozenset({_S.AUTH_ERROR, _S.PERMISSIONS_ERROR, _S.CANCELLED, _S.PREREQUISITE_NOT_MET})
_RELINK = frozenset({_S.AUTH_ERROR, _S.PERMISSIONS_ERROR})
_MAX_ERROR_TEXT = 200

NotSupportedAction = Literal["skip", "fail"]
NOT_SUPPORTED_ACTIONS: tuple[NotSupportedAction, ...] = ("skip", "fail")
State = dict[str, Any]
"""``{"dataType", "status", "done", "id", "error"}``, and ``connectionId`` for a pull operation:
what a task needs to know about one refresh."""


def parse_time(value: object) -> datetime | None:
    """A date-time Codat sent (``requested``, ``lastSuccessfulSync``), aware; naive means UTC."""
    try:
        moment = parse_codat_datetime(value)
    except ValueError:
        return None
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pull_state(op: Mapping[str, Any]) -> State:
    """Summarise a PullOperation; an unknown status ends it only if Codat flags it completed or errored."""
    status = str(op.get("status") or _S.INITIAL)
    done = status in ENDING_STATUSES or (
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

    None means the latest pull operation ended badly, and the state depends on when it was
    requested: see :func:`sync_states`.
    """
    entry = entry or {}
    last = parse_time(entry.get("lastSuccessfulSync"))
    if last is not None and last >= synced_after:
        return {"dataType": data_type, "status": COMPLETE, "done": True, "id": None, "error": None}
    status = str(entry.get("currentStatus") or "")
    if status in ENDING_STATUSES and status != COMPLETE and entry.get("latestSyncId"):
        return None
    return _waiting(data_type)


def sync_states(
    status: Mapping[str, Any],
    data_types: Iterable[str],
    synced_after: datetime,
    operations: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, State], list[str]]:
    """The states of ``data_types`` from a ``dataStatus`` map, and the pull operations still needed.

    A data type whose latest pull operation ended badly fails only if that operation was
    requested at or after ``synced_after`` (an older failure is not this run's): it needs the
    operation, by id, from ``operations``. Call once with the operations known (none at first),
    fetch those it names, and call again; the sync sensor and its trigger both do.

    :return: The states of the data types it could decide, and the ids of the operations to fetch.
    """
    states: dict[str, State] = {}
    needed: list[str] = []
    for data_type in data_types:
        entry = status.get(data_type) or {}
        state = sync_state(data_type, entry, synced_after)
        if state is None:
            op_id = str(entry["latestSyncId"])
            op = operations.get(op_id)
            if op is None:
                needed.append(op_id)
                continue
            requested = parse_time(op.get("requested"))
            fresh = requested is not None and requested >= synced_after
            state = {**pull_state(op), "dataType": data_type} if fresh else _waiting(data_type)
        states[data_type] = state
    return states, needed


def _waiting(data_type: str) -> State:
    return {"dataType": data_type, "status": WAITING, "done": False, "id": None, "error": None}


@dataclass(frozen=True)
class Verdict:
    """What the ends of some refreshes mean for the task waiting on them.

    :param kind: ``ok``, ``skip``, ``retry`` or ``fail``.
    :param message: Why, naming each data type, status, pull operation and connection.
    :param unsupported: The data types Codat does not support, beside others that completed.
    """

    kind: Literal["ok", "skip", "retry", "fail"]
    message: str = ""
    unsupported: list[str] = field(default_factory=list)


def judge(states: Iterable[Mapping[str, Any]], *, not_supported: NotSupportedAction, where: str) -> Verdict:
    """Decide the task's outcome from its refreshes' states (see the module's table).

    :param states: Each refresh's state, as :func:`pull_state` or :func:`sync_states` give them.
    :param not_supported: What ``NotSupported`` means for this task.
    :param where: The company (and connection), for messages.
    """
    states = list(states)
    failed = [s for s in states if is_failure(s)]
    unsupported = [s for s in states if s["done"] and s["status"] == NOT_SUPPORTED]
    fatal = [s for s in failed if s["status"] in _FATAL]
    if not_supported == "fail":
        fatal += unsupported
    if fatal:
        message = (
            f"Codat refresh failed for {where}: {describe(fatal + [s for s in failed if s not in fatal])}"
        )
        if any(s["status"] in _RELINK for s in fatal):
            message += (
                ". Codat lost access to the platform: relink the data connection in Codat (the merchant "
                "must authorise it again), then clear this task"
            )
        if unsupported and not_supported == "fail":
            message += ". NotSupported fails this task because not_supported='fail'"
        return Verdict("fail", message)
    if failed:
        return Verdict("retry", f"Codat refresh failed for {where}; retrying may help: {describe(failed)}")
    if unsupported and len(unsupported) == len(states):
        return Verdict(
            "skip", f"Codat does not support {describe(unsupported)} for {where} (not_supported='skip')"
        )
    return Verdict("ok", unsupported=[s["dataType"] for s in unsupported])


def describe(states: Iterable[Mapping[str, Any]]) -> str:
    """The states for a message: each data type, status, error, pull operation and connection."""
    parts = []
    for s in states:
        text = f"{s['dataType']}: {s['status']}"
        if s.get("error"):
            text += f" ({s['error']})"
        if s.get("id"):
            text += f" [pull operation {s['id']}]"
        if s.get("connectionId"):
            text += f" on connection {s['connectionId']}"
        parts.append(text)
    return "; ".join(parts)


def split_ids(value: str) -> list[str]:
    """Split a comma-separated list (of pull-operation ids or data types), dropping blanks."""
    return [part.strip() for part in value.split(",") if part.strip()]
