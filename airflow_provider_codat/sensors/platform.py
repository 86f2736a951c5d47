"""Sensors for Codat's Platform API: wait until data is fresh before reading it.

A data type counts as synced when its ``lastSuccessfulSync`` in the company's ``dataStatus`` is
at or after ``synced_after``. A pull operation that ended badly fails the sensor only if it was
requested at or after ``synced_after`` (an older failure is not this run's), and maps onto
Airflow as the table in :mod:`airflow_provider_codat.refresh` says.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, conf
from airflow.sdk import BaseSensorOperator

from airflow_provider_codat.airflow_errors import raise_for_verdict
from airflow_provider_codat.arguments import (
    check_choice,
    check_data_types_at_parse,
    check_seconds,
    check_uuid,
    check_uuid_at_parse,
    data_type_keys,
    is_runtime_value,
    parse_moment,
)
from airflow_provider_codat.refresh import (
    NOT_SUPPORTED_ACTIONS,
    NotSupportedAction,
    State,
    judge,
    settled,
    split_ids,
    sync_states,
)
from airflow_provider_codat.tasks import CodatTask
from airflow_provider_codat.triggers.platform import CodatDataSyncTrigger

__all__ = ["CodatDataSyncSensor"]


class CodatDataSyncSensor(CodatTask, BaseSensorOperator):
    """Wait until Codat has synced data types of a company successfully since a given moment.

    Works in ``poke`` and ``reschedule`` mode, or in the triggerer with ``deferrable=True``
    (:class:`~airflow_provider_codat.triggers.platform.CodatDataSyncTrigger`). Like every Codat
    task it defaults to 3 task retries with exponential backoff and ``CodatRetryPolicy``.

    :param company_id: The company's UUID. (templated)
    :param data_types: A resource name (``orders``) or Codat data type (``commerce-orders``), or a
        list of them. (templated)
    :param synced_after: A datetime or ISO 8601 string (naive means UTC); a sync that ended earlier
        does not count. Default: the run's ``data_interval_end``, else its ``run_after``. (templated)
    :param not_supported: ``skip`` the task (default) or ``fail`` it when Codat does not support a type.
    :param deferrable: Wait in the triggerer instead of a worker.
    :param poke_interval: Seconds between checks (above 0).
    :param codat_conn_id: The Airflow connection to Codat.
    :raises CodatConfigError: At parse time, naming the parameter, on a bad literal argument.
    """

    template_fields: Sequence[str] = ("company_id", "data_types", "synced_after")
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        company_id: str,
        data_types: str | Sequence[str],
        synced_after: str | datetime | None = None,
        not_supported: NotSupportedAction = "skip",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float | timedelta = 60,
        codat_conn_id: str = "codat_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            codat_conn_id=codat_conn_id, poke_interval=check_seconds(poke_interval, "poke_interval"), **kwargs
        )
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.data_types = data_types
        self.synced_after = synced_after
        self.not_supported = check_choice(not_supported, "not_supported", NOT_SUPPORTED_ACTIONS)
        self.deferrable = deferrable
        check_data_types_at_parse(data_types)
        if not is_runtime_value(synced_after):
            parse_moment(synced_after, "synced_after")

    def poke(self, context: Any) -> bool:
        """Check ``dataStatus`` once: True when synced; raise when a refresh since then ended badly."""
        company, types, after = self._arguments(context)
        try:
            states = self._states(company, types, after)
        finally:
            self.hook.close()
        if not settled(states.values()):
            waiting = ", ".join(s["dataType"] for s in states.values() if not s["done"])
            self.log.info("Codat: waiting for %s to sync after %s", waiting, after.isoformat())
            return False
        self._finish(company, states)
        return True

    def execute(self, context: Any) -> None:
        """Sense in the worker (poke or reschedule), or check once and defer."""
        if not self.deferrable:
            super().execute(context)
            return
        if not self.poke(context):
            company, types, after = self._arguments(context)
            self._defer(company, types, after.isoformat(), time.time() + self.timeout)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        """Resume from :class:`CodatDataSyncTrigger`: map the states, or check again from the worker."""
        if event.get("status") == "done":
            self._finish(str(event["company_id"]), dict(event["states"]))
            return
        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(f"{event.get('message')} (timeout={self.timeout:g}s)")
        self.log.warning("Codat trigger gave up (%s); checking from the worker", event.get("message"))
        if self.poke(context):
            return
        deadline = float(event["deadline"])
        if time.time() >= deadline:
            raise AirflowSensorTimeout(f"Codat data types not synced (timeout={self.timeout:g}s)")
        company, types = str(event["company_id"]), split_ids(str(event["data_types"]))
        self._defer(company, types, str(event["synced_after"]), deadline)

    # -- steps ----------------------------------------------------------------------------------
    def _arguments(self, context: Any) -> tuple[str, list[str], datetime]:
        with self.codat_errors():
            company = check_uuid(self.company_id, "company_id")
            types = data_type_keys(self.data_types)
            value = self.synced_after
            if value is None:
                value = context.get("data_interval_end")
                if value is None and context.get("dag_run") is not None:
                    value = getattr(context["dag_run"], "run_after", None)
                if value is None:
                    raise AirflowFailException(
                        "synced_after: the run has no data_interval_end; set synced_after"
                    )
            after = parse_moment(value, "synced_after")
        assert after is not None
        return company, types, after

    def _states(self, company: str, types: list[str], after: datetime) -> dict[str, State]:
        with self.codat_errors():
            status = self.hook.get_data_status(company)
            operations: dict[str, Any] = {}
            states, needed = sync_states(status, types, after, operations)
            if needed:
                operations = {op_id: self.hook.get_pull_operation(company, op_id) for op_id in needed}
                states, _ = sync_states(status, types, after, operations)
        return states

    def _defer(self, company: str, types: list[str], after: str, deadline: float) -> NoReturn:
        trigger = CodatDataSyncTrigger(
            company_id=company,
            data_types=",".join(types),
            synced_after=after,
            deadline=deadline,
            poll_interval=self.poke_interval,
            codat_conn_id=self.codat_conn_id,
        )
        self.defer(trigger=trigger, method_name="execute_complete")

    def _finish(self, company: str, states: dict[str, State]) -> None:
        where = f"company {company}"
        skipped = raise_for_verdict(judge(states.values(), not_supported=self.not_supported, where=where))
        if skipped:
            self.log.warning("Codat does not support %s for %s", ", ".join(skipped), where)
        self.log.info("Codat: %s synced", ", ".join(states))
