"""Sensors for Codat's Platform API: wait until data is fresh before reading it.

A data type counts as synced when its ``lastSuccessfulSync`` in the company's ``dataStatus`` is
at or after ``synced_after``. A pull operation that ended badly fails the sensor only if it was
requested at or after ``synced_after`` (an older failure is not this run's), and maps onto
Airflow as the table in :mod:`airflow_provider_codat.refresh` says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow_provider_codat.airflow_errors import raise_for_verdict
from airflow_provider_codat.arguments import (
    check_choice,
    check_data_types_at_parse,
    check_uuid,
    check_uuid_at_parse,
    data_type_keys,
    is_runtime_value,
    parse_moment,
)
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.refresh import NOT_SUPPORTED_ACTIONS, NotSupportedAction, judge
from airflow_provider_codat.sensors.base import CodatSensor
from airflow_provider_codat.tasks import DATA_TYPES_LABEL
from airflow_provider_codat.triggers.platform import CodatDataSyncTrigger

__all__ = ["CodatDataSyncSensor"]


class CodatDataSyncSensor(CodatSensor):
    """Wait until Codat has synced data types of a company successfully since a given moment.

    Works in ``poke`` and ``reschedule`` mode, or in the triggerer with ``deferrable=True``
    (:class:`~airflow_provider_codat.triggers.platform.CodatDataSyncTrigger`, whose check every
    poke makes too). What counts as "not yet" and what fails at once is
    :class:`~airflow_provider_codat.sensors.base.CodatSensor`'s. Like every Codat task it
    defaults to 3 task retries with exponential backoff and ``CodatRetryPolicy``.

    :param company_id: The company's UUID. (templated)
    :param data_types: A resource name (``orders``) or Codat data type (``commerce-orders``), or a
        list of them. (templated)
    :param synced_after: A datetime or ISO 8601 string (naive means UTC); a sync that ended earlier
        does not count. Default: the run's ``data_interval_end``, else its ``run_after``. (templated)
    :param not_supported: ``skip`` the task (default) or ``fail`` it when Codat does not support a type.
    :param codat_conn_id: The Airflow connection to Codat.
    :param kwargs: ``deferrable``, ``poll_interval`` (or ``poke_interval``) and ``max_errors`` as
        :class:`~airflow_provider_codat.sensors.base.CodatSensor` takes them, and
        ``BaseSensorOperator``'s arguments.
    :raises CodatConfigError: At parse time, naming the parameter, on a bad literal argument.
    """

    template_fields: Sequence[str] = ("company_id", "data_types", "synced_after")
    ui_color = "#e8f4fd"
    trigger_class = CodatDataSyncTrigger
    map_index_label = DATA_TYPES_LABEL + " synced: company {{ task.company_id }}"

    def __init__(
        self,
        *,
        company_id: str,
        data_types: str | Sequence[str],
        synced_after: str | datetime | None = None,
        not_supported: NotSupportedAction = "skip",
        codat_conn_id: str = "codat_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(codat_conn_id=codat_conn_id, **kwargs)
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.data_types = data_types
        self.synced_after = synced_after
        self.not_supported = check_choice(not_supported, "not_supported", NOT_SUPPORTED_ACTIONS)
        check_data_types_at_parse(data_types)
        if not is_runtime_value(synced_after):
            parse_moment(synced_after, "synced_after")

    def build_trigger(self, context: Any, deadline: float) -> CodatDataSyncTrigger:
        """The data-sync trigger for this run, its arguments checked before any request.

        :raises AirflowFailException: Naming the parameter that is wrong.
        """
        with self.codat_errors():
            company = check_uuid(self.company_id, "company_id")
            types = data_type_keys(self.data_types)
            value = self.synced_after
            if value is None:
                value = context.get("data_interval_end")
                if value is None and context.get("dag_run") is not None:
                    value = getattr(context["dag_run"], "run_after", None)
                if value is None:
                    raise CodatConfigError("synced_after: the run has no data_interval_end; set synced_after")
            after = parse_moment(value, "synced_after")
            assert after is not None
            return CodatDataSyncTrigger(
                company_id=company,
                data_types=",".join(types),
                synced_after=after.isoformat(),
                **self.trigger_settings(deadline),
            )

    def finish(self, context: Any, event: Mapping[str, Any]) -> None:
        """Map the synced states onto the task: done, skipped (not supported) or failed."""
        states = dict(event["states"])
        where = f"company {event['trigger']['company_id']}"
        skipped = raise_for_verdict(judge(states.values(), not_supported=self.not_supported, where=where))
        if skipped:
            self.log.warning("Codat does not support %s for %s", ", ".join(skipped), where)
        self.log.info("Codat: %s synced", ", ".join(states))
