"""Operators for Codat's Platform API: ask Codat to refresh data, so that later reads are fresh.

How a refresh's end becomes the task's outcome (the same rules serve
:class:`~airflow_provider_codat.sensors.platform.CodatDataSyncSensor`):

==============================  ======================================================================
Pull-operation status           Airflow outcome
==============================  ======================================================================
``Complete``                    success
``NotSupported``                ``AirflowSkipException`` (``not_supported="skip"``, the default), or
                                ``AirflowFailException`` with ``not_supported="fail"``
``AuthError``                   ``AirflowFailException``: relink the data connection in Codat, then
                                clear the task (retrying cannot help)
``PermissionsError``            as ``AuthError``
``Cancelled``                   ``AirflowFailException``: someone cancelled the refresh
``PrerequisiteNotMet``          ``AirflowFailException``: Codat needs something set up first (another
                                data type, a setting of the integration); retrying cannot help
``FetchError``                  ``AirflowException``: a failure on Codat's or the platform's side; the
                                task's own retries apply
``MapError``                    as ``FetchError``
``InternalError``               as ``FetchError``
``ProcessingError``             as ``FetchError``
``ValidationError``             as ``FetchError``
``RateLimitError``              as ``FetchError`` (the platform throttled Codat)
an unknown status, errored      as ``FetchError``
still running at ``timeout``    ``AirflowException``; the retry adopts the refresh still running
a Codat API error               :func:`~airflow_provider_codat.airflow_errors.to_airflow`
==============================  ======================================================================

With several data types the most severe outcome wins: a failure, then a retryable failure.
``NotSupported`` skips the task only when every data type is not supported; beside data types
that completed it is logged as a warning, and the task succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any, Literal, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    conf,
)
from airflow.sdk import BaseOperator

from airflow_provider_codat.airflow_errors import to_airflow
from airflow_provider_codat.exceptions import CodatConfigError, CodatDatasetInProgressError, CodatError
from airflow_provider_codat.hooks.commerce import CodatCommerceHook, check_uuid
from airflow_provider_codat.operators._base import default_retries
from airflow_provider_codat.resources import get_resource
from airflow_provider_codat.triggers.platform import (
    NOT_SUPPORTED,
    RUNNING_STATUSES,
    CodatPullOperationTrigger,
    State,
    is_failure,
    parse_time,
    pull_state,
    settled,
    split_ids,
)

__all__ = [
    "NOT_SUPPORTED_ACTIONS",
    "CodatRefreshDataOperator",
    "NotSupportedAction",
    "call_codat",
    "check_literal_data_types",
    "check_not_supported",
    "check_positive",
    "data_type_keys",
    "is_literal",
    "raise_for_states",
]

NotSupportedAction = Literal["skip", "fail"]
NOT_SUPPORTED_ACTIONS: tuple[NotSupportedAction, ...] = ("skip", "fail")
_FATAL = frozenset({"AuthError", "PermissionsError", "Cancelled", "PrerequisiteNotMet"})
_RELINK = frozenset({"AuthError", "PermissionsError"})
_RUNNING_QUERY = "{" + "||".join(f"status={status}" for status in sorted(RUNNING_STATUSES)) + "}"
"""Codat's query for the pull operations still running."""
_HISTORY_PAGE_SIZE = 100


# -- argument checks ------------------------------------------------------------------------------
def is_literal(value: object) -> bool:
    """Whether ``value`` is a plain string, not a Jinja template (checked once rendered)."""
    return isinstance(value, str) and "{{" not in value and "{%" not in value


def data_type_keys(value: object, name: str = "data_types") -> list[str]:
    """Return Codat's data-type keys for one resource name/data type or a list of them, deduplicated.

    :raises CodatConfigError: Naming ``name``, on an empty list or an unknown data type.
    """
    items = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else None
    if items is None:
        raise CodatConfigError(f"{name}: expected a data type or a list of them, got {value!r}")
    if not items:
        raise CodatConfigError(f"{name}: name at least one data type")
    keys: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise CodatConfigError(f"{name}: expected data type names, got {item!r}")
        try:
            key = get_resource(item).data_type
        except ValueError as exc:
            raise CodatConfigError(str(exc).replace("resource:", f"{name}:", 1)) from None
        if key not in keys:
            keys.append(key)
    return keys


def check_literal_data_types(value: object, name: str = "data_types") -> None:
    """Check the parts of ``value`` that are not templates (at parse time)."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else None
    if items is None:
        return
    literal = [item for item in items if is_literal(item) or not isinstance(item, str)]
    if literal or not items:
        data_type_keys(literal, name)


def check_not_supported(value: object) -> NotSupportedAction:
    """Return ``value`` if it is a valid ``not_supported``.

    :raises CodatConfigError: Naming the parameter and the valid values.
    """
    if value in NOT_SUPPORTED_ACTIONS:
        return value
    raise CodatConfigError(f"not_supported: expected one of skip, fail, got {value!r}")


def check_positive(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a number of seconds above 0.

    :raises CodatConfigError: Naming ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise CodatConfigError(f"{name}: must be a number of seconds above 0, got {value!r}")
    return float(value)


def call_codat(method: Callable[..., dict[str, Any]], *args: str) -> dict[str, Any]:
    """Call a hook method; a Codat error becomes its Airflow outcome through ``to_airflow``."""
    try:
        return method(*args)
    except CodatError as exc:
        raise to_airflow(exc) from exc


# -- outcomes -------------------------------------------------------------------------------------
def _describe(states: Iterable[Mapping[str, Any]]) -> str:
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


def raise_for_states(
    states: Iterable[Mapping[str, Any]], *, not_supported: NotSupportedAction, where: str
) -> list[str]:
    """Raise the Airflow exception the states call for (see the table above).

    :param states: Each data type's state, as :func:`~airflow_provider_codat.triggers.platform.pull_state`.
    :param not_supported: What ``NotSupported`` means for this task.
    :param where: The company (and connection), for messages.
    :return: The data types Codat does not support, beside others that completed.
    :raises AirflowFailException: On a status retrying cannot fix.
    :raises AirflowException: On a failure the task's retries may fix.
    :raises AirflowSkipException: When no data type is supported.
    """
    states = list(states)
    failed = [s for s in states if is_failure(s)]
    unsupported = [s for s in states if s["done"] and s["status"] == NOT_SUPPORTED]
    fatal = [s for s in failed if s["status"] in _FATAL]
    if not_supported == "fail":
        fatal += unsupported
    if fatal:
        message = (
            f"Codat refresh failed for {where}: {_describe(fatal + [s for s in failed if s not in fatal])}"
        )
        if any(s["status"] in _RELINK for s in fatal):
            message += (
                ". Codat lost access to the platform: relink the data connection in Codat (the merchant "
                "must authorise it again), then clear this task"
            )
        if unsupported and not_supported == "fail":
            message += ". NotSupported fails this task because not_supported='fail'"
        raise AirflowFailException(message)
    if failed:
        raise AirflowException(f"Codat refresh failed for {where}; retrying may help: {_describe(failed)}")
    if unsupported and len(unsupported) == len(states):
        raise AirflowSkipException(
            f"Codat does not support {_describe(unsupported)} for {where} (not_supported='skip')"
        )
    return [s["dataType"] for s in unsupported]


# -- the operator ---------------------------------------------------------------------------------
class CodatRefreshDataOperator(BaseOperator):
    """Queue a refresh of Codat data types for a company and, if asked, wait for it to end.

    Returns (and pushes to XCom) ``{data_type: pull_operation_id}``, keyed by Codat's data type
    (``commerce-orders``). A refresh of a data type already running is not an error: the task adopts
    it, reading the newest pull operation of that data type and connection in the company's pull
    history, and waits on it; a later refresh of another connection is never taken for it.

    Without ``connection_id``, Codat queues a pull operation on each of the company's connections
    and answers with one of them, whose id the task returns; it waits on every connection's (found
    in the pull history), so it succeeds only once each has completed. If Codat refuses the queue
    because a refresh of the data type is running, the task adopts the running ones.
    When waiting, the end of each refresh maps onto Airflow as the module's table says.

    Like every Codat task it defaults to 3 task retries with exponential backoff and
    :class:`~airflow_provider_codat.airflow_errors.CodatRetryPolicy`, so that a retryable ending
    (``FetchError``, a timeout, ...) is retried, and the retry adopts a refresh still running.

    :param company_id: The company's UUID. (templated)
    :param data_types: A resource name (``orders``) or Codat data type (``commerce-orders``), or a
        list of them; ``company_info`` is accepted too. (templated)
    :param connection_id: Refresh only this data connection (UUID); default: all of the company's. (templated)
    :param wait_for_completion: Wait until every refresh has ended, then map its status.
    :param poll_interval: Seconds between polls while waiting.
    :param timeout: Seconds to wait before failing (retryably) with refreshes still running.
    :param deferrable: Wait in the triggerer (:class:`CodatPullOperationTrigger`) instead of a worker.
    :param not_supported: ``skip`` the task (default) or ``fail`` it when Codat does not support a type.
    :param codat_conn_id: The Airflow connection to Codat.
    :raises CodatConfigError: At parse time, naming the parameter, on a bad literal argument.
    """

    template_fields: Sequence[str] = ("company_id", "connection_id", "data_types")
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        company_id: str,
        data_types: str | Sequence[str],
        connection_id: str | None = None,
        wait_for_completion: bool = False,
        poll_interval: float = 10,
        timeout: float = 3600,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        not_supported: NotSupportedAction = "skip",
        codat_conn_id: str = CodatCommerceHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        default_retries(kwargs)
        super().__init__(**kwargs)
        self.company_id = company_id
        self.data_types = data_types
        self.connection_id = connection_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = check_positive(poll_interval, "poll_interval")
        self.timeout = check_positive(timeout, "timeout")
        self.deferrable = deferrable
        self.not_supported = check_not_supported(not_supported)
        self.codat_conn_id = codat_conn_id
        if is_literal(company_id):
            check_uuid(company_id, "company_id")
        if connection_id is not None and is_literal(connection_id):
            check_uuid(connection_id, "connection_id")
        check_literal_data_types(data_types)

    @cached_property
    def hook(self) -> CodatCommerceHook:
        """The Codat hook, built on first use."""
        return CodatCommerceHook(self.codat_conn_id)

    @property
    def _where(self) -> str:
        where = f"company {self.company_id}"
        return f"{where}, connection {self.connection_id}" if self.connection_id else where

    def execute(self, context: Any) -> dict[str, str]:
        """Queue the refreshes (adopting running ones); wait if asked; return their ids by data type."""
        try:
            company = check_uuid(self.company_id, "company_id")
            connection = check_uuid(self.connection_id, "connection_id") if self.connection_id else None
            types = data_type_keys(self.data_types)
        except CodatConfigError as exc:
            raise to_airflow(exc) from exc
        try:
            ops = self._queue(company, connection, types)
            if not self.wait_for_completion:
                return _ids(ops)
            deadline = time.time() + self.timeout
            if self.deferrable and not settled(ops.values()):
                self._defer(company, ops, deadline)
            return self._finish(self._wait(company, ops, deadline))
        finally:
            self.hook.close()

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, str]:
        """Resume from :class:`CodatPullOperationTrigger`: map the statuses, or repeat a failed call."""
        company, deadline = str(event["company_id"]), float(event["deadline"])
        if event.get("status") == "done":
            ops: dict[str, State] = dict(event["states"])
            return self._finish(ops)
        if event.get("status") == "timeout":
            self._timed_out(str(event.get("message")))
        self.log.warning("Codat trigger gave up (%s); checking from the worker", event.get("message"))
        try:
            ops = {op_id: self._fetch(company, op_id) for op_id in split_ids(event["pull_operation_ids"])}
            if not settled(ops.values()):
                if time.time() >= deadline:
                    self._timed_out(f"Codat refreshes still running: {_describe(ops.values())}")
                self._defer(company, ops, deadline)
            return self._finish(ops)
        finally:
            self.hook.close()

    # -- steps ----------------------------------------------------------------------------------
    def _queue(self, company: str, connection: str | None, types: list[str]) -> dict[str, State]:
        ops: dict[str, State] = {}
        for data_type in types:
            for state in self._refresh(company, connection, data_type):
                state["dataType"] = data_type
                ops[state["id"]] = state
        return ops

    def _refresh(self, company: str, connection: str | None, data_type: str) -> list[State]:
        """Queue a refresh of one data type; return the pull operations to wait on, the answer first."""
        try:
            queued: dict[str, Any] | None = self.hook.refresh_data_type(company, data_type, connection)
        except CodatDatasetInProgressError:
            queued = None
        except CodatError as exc:
            raise to_airflow(exc) from exc
        if queued is not None and connection is not None:
            states = [pull_state(queued)]
        else:
            states = self._from_history(company, connection, data_type, queued)
        if not states:
            raise AirflowException(
                f"Codat says a refresh of {data_type} is running for {self._where}, but its pull history "
                "shows none; a retry queues it again"
            )
        self.log.info(
            "Codat: %s a refresh of %s: %s",
            "queued" if queued is not None else "adopting the running",
            data_type,
            ", ".join(f"pull operation {s['id']} on connection {s['connectionId']}" for s in states),
        )
        return states

    def _from_history(
        self, company: str, connection: str | None, data_type: str, queued: Mapping[str, Any] | None
    ) -> list[State]:
        """The newest pull operation of each connection (or of ``connection``) in the pull history.

        After a refused queue: with ``connection``, its newest one; without, every one still running.
        After a company-wide queue (``queued``, Codat's answer): each connection's, queued with it.
        """
        query = f"dataType={data_type}"
        if connection is not None:
            query += f"&&connectionId={connection}"
        elif queued is None:
            query += f"&&{_RUNNING_QUERY}"
        since = parse_time(queued.get("requested")) if queued is not None else None
        newest: dict[str, State] = {}
        if queued is not None:
            newest[str(queued.get("connectionId"))] = pull_state(queued)
        try:
            for op in self.hook.list_pull_operations(
                company, query=query, order_by="-requested", page_size=1 if connection else _HISTORY_PAGE_SIZE
            ):
                requested = parse_time(op.get("requested"))
                if since is not None and requested is not None and requested < since:
                    break  # older than this queue call: not one of its pull operations
                newest.setdefault(str(op.get("connectionId")), pull_state(op))
                if connection is not None:
                    break
        except CodatError as exc:
            raise to_airflow(exc) from exc
        return list(newest.values())

    def _wait(self, company: str, ops: dict[str, State], deadline: float) -> dict[str, State]:
        while not settled(ops.values()):
            remaining = deadline - time.time()
            if remaining <= 0:
                self._timed_out(f"Codat refreshes still running: {_describe(ops.values())}")
            time.sleep(min(self.poll_interval, remaining))
            for op_id, state in ops.items():
                if not state["done"]:
                    ops[op_id] = {**self._fetch(company, op_id), "dataType": state["dataType"]}
            self.log.info("Codat refresh: %s", _describe(ops.values()))
        return ops

    def _defer(self, company: str, ops: Mapping[str, State], deadline: float) -> NoReturn:
        trigger = CodatPullOperationTrigger(
            company_id=company,
            pull_operation_ids=",".join(ops),
            deadline=deadline,
            poll_interval=self.poll_interval,
            codat_conn_id=self.codat_conn_id,
        )
        self.defer(trigger=trigger, method_name="execute_complete")

    def _finish(self, ops: dict[str, State]) -> dict[str, str]:
        skipped = raise_for_states(ops.values(), not_supported=self.not_supported, where=self._where)
        if skipped:
            self.log.warning(
                "Codat does not support %s for %s; not refreshed", ", ".join(skipped), self._where
            )
        self.log.info("Codat refresh done: %s", _describe(ops.values()))
        return _ids(ops)

    def _fetch(self, company: str, op_id: str) -> State:
        return pull_state(call_codat(self.hook.get_pull_operation, company, op_id))

    def _timed_out(self, message: str) -> NoReturn:
        raise AirflowException(
            f"{message} after timeout={self.timeout:g}s for {self._where}; a retry adopts the running refresh"
        )


def _ids(ops: Mapping[str, State]) -> dict[str, str]:
    """Each data type's first pull operation: the one of ``connection_id``, or Codat's answer."""
    ids: dict[str, str] = {}
    for op_id, state in ops.items():
        ids.setdefault(state["dataType"], op_id)
    return ids
