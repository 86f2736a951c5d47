"""``CodatRefreshDataOperator``: ask Codat to refresh data, so that later reads are fresh (Platform API).

How a refresh's end becomes the task's outcome is :mod:`airflow_provider_codat.refresh`'s table
(the same rules serve :class:`~airflow_provider_codat.sensors.platform.CodatDataSyncSensor`); a
refresh still running at ``timeout`` fails the task retryably (the retry adopts it), and a Codat
API error maps through :func:`~airflow_provider_codat.airflow_errors.to_airflow`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowException, conf
from airflow.sdk import BaseOperator

from airflow_provider_codat.airflow_errors import raise_for_verdict
from airflow_provider_codat.arguments import (
    check_choice,
    check_data_types_at_parse,
    check_seconds,
    check_uuid,
    check_uuid_at_parse,
    check_whole,
    data_type_keys,
)
from airflow_provider_codat.exceptions import CodatDatasetInProgressError
from airflow_provider_codat.refresh import (
    NOT_SUPPORTED_ACTIONS,
    RUNNING_QUERY,
    NotSupportedAction,
    State,
    describe,
    judge,
    parse_time,
    pull_state,
    settled,
)
from airflow_provider_codat.tasks import DATA_TYPES_LABEL, CodatPollingTask
from airflow_provider_codat.triggers.base import DEFAULT_MAX_ERRORS
from airflow_provider_codat.triggers.platform import CodatPullOperationTrigger

__all__ = ["NOT_SUPPORTED_ACTIONS", "CodatRefreshDataOperator"]

_HISTORY_PAGE_SIZE = 100


class CodatRefreshDataOperator(CodatPollingTask, BaseOperator):
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
    :param max_errors: Failed polls in a row after which the wait hands back to the task, which
        checks once more and lets the error, if it recurs, fail or retry the task.
    :param codat_conn_id: The Airflow connection to Codat.
    :raises CodatConfigError: At parse time, naming the parameter, on a bad literal argument.
    """

    template_fields: Sequence[str] = ("company_id", "connection_id", "data_types")
    ui_color = "#e8f4fd"
    trigger_class = CodatPullOperationTrigger
    map_index_label = "refresh " + DATA_TYPES_LABEL + ": company {{ task.company_id }}"

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
        max_errors: int = DEFAULT_MAX_ERRORS,
        codat_conn_id: str = "codat_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(codat_conn_id=codat_conn_id, **kwargs)
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.data_types = data_types
        self.connection_id = (
            None if connection_id is None else check_uuid_at_parse(connection_id, "connection_id")
        )
        self.wait_for_completion = wait_for_completion
        self.poll_interval = check_seconds(poll_interval, "poll_interval")
        self.timeout = check_seconds(timeout, "timeout")
        self.deferrable = deferrable
        self.not_supported = check_choice(not_supported, "not_supported", NOT_SUPPORTED_ACTIONS)
        self.max_errors = check_whole(max_errors, "max_errors", 1)
        check_data_types_at_parse(data_types)

    @property
    def _where(self) -> str:
        where = f"company {self.company_id}"
        return f"{where}, connection {self.connection_id}" if self.connection_id else where

    def execute(self, context: Any) -> dict[str, str]:
        """Queue the refreshes (adopting running ones); wait if asked; return their ids by data type."""
        with self.codat_errors():
            company = check_uuid(self.company_id, "company_id")
            connection = check_uuid(self.connection_id, "connection_id") if self.connection_id else None
            types = data_type_keys(self.data_types)
        try:
            ops = self._queue(company, connection, types)
        finally:
            self.hook.close()
        if not self.wait_for_completion:
            return _ids(ops)
        if settled(ops.values()):
            return self._finish(ops)
        trigger = CodatPullOperationTrigger(
            company_id=company,
            pull_operation_ids=",".join(ops),
            deadline=time.time() + self.timeout,
            poll_interval=self.poll_interval,
            max_errors=self.max_errors,
            codat_conn_id=self.codat_conn_id,
        )
        ids: dict[str, str] = self.wait_on(context, trigger)
        return ids

    def finish(self, context: Any, event: Mapping[str, Any]) -> dict[str, str]:
        """Map the refreshes' ends onto the task; return their ids by data type."""
        return self._finish(dict(event["states"]))

    def timed_out(self, message: str) -> NoReturn:
        """Fail retryably: the retry adopts the refreshes still running."""
        raise AirflowException(
            f"{message} after timeout={self.timeout:g}s for {self._where}; a retry adopts the running refresh"
        )

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
        with self.codat_errors():
            try:
                queued: dict[str, Any] | None = self.hook.refresh_data_type(company, data_type, connection)
            except CodatDatasetInProgressError:
                queued = None
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
            query += f"&&{RUNNING_QUERY}"
        since = parse_time(queued.get("requested")) if queued is not None else None
        newest: dict[str, State] = {}
        if queued is not None:
            newest[str(queued.get("connectionId"))] = pull_state(queued)
        with self.codat_errors():
            for op in self.hook.list_pull_operations(
                company, query=query, order_by="-requested", page_size=1 if connection else _HISTORY_PAGE_SIZE
            ):
                requested = parse_time(op.get("requested"))
                if since is not None and requested is not None and requested < since:
                    break  # older than this queue call: not one of its pull operations
                newest.setdefault(str(op.get("connectionId")), pull_state(op))
                if connection is not None:
                    break
        return list(newest.values())

    def _finish(self, ops: dict[str, State]) -> dict[str, str]:
        skipped = raise_for_verdict(judge(ops.values(), not_supported=self.not_supported, where=self._where))
        if skipped:
            self.log.warning(
                "Codat does not support %s for %s; not refreshed", ", ".join(skipped), self._where
            )
        self.log.info("Codat refresh done: %s", describe(ops.values()))
        return _ids(ops)


def _ids(ops: Mapping[str, State]) -> dict[str, str]:
    """Each data type's first pull operation: the one of ``connection_id``, or Codat's answer."""
    ids: dict[str, str] = {}
    for op_id, state in ops.items():
        ids.setdefault(state["dataType"], op_id)
    return ids
