"""``CodatPayoutSensor``: wait until new payouts arrive on a Codat commerce connection.

A payout is a transaction of type ``Payout`` (a failed one is ``FailedPayout``). Each check is
:class:`~airflow_provider_codat.triggers.commerce.CodatPayoutTrigger`'s, in a worker or in the
triggerer: one list call for the payouts modified at or after ``since``, ordered by
``modifiedDate``, one page of at most ``max_payouts_returned``; Codat's ``totalResults`` gives
the count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from airflow_provider_codat.arguments import (
    MAX_PAGE_SIZE,
    check_uuid,
    check_uuid_at_parse,
    check_whole,
    is_runtime_value,
    parse_moment,
)
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.sensors.base import CodatSensor
from airflow_provider_codat.triggers.commerce import CodatPayoutTrigger

__all__ = ["CodatPayoutSensor", "format_since", "parse_since"]


def parse_since(value: object) -> datetime:
    """Return ``value`` (a datetime, a date or an ISO 8601 string) as an aware UTC datetime.

    A naive datetime or string means UTC; a date means its midnight UTC.

    :raises CodatConfigError: Naming ``since`` when ``value`` is none of those.
    """
    moment = parse_moment(value, "since")
    if moment is None:
        raise CodatConfigError(f"since: expected a datetime, a date or an ISO 8601 string, got {value!r}")
    return moment


def format_since(moment: datetime) -> str:
    """Render a UTC datetime as Codat's query writes dates: ``2024-05-01T12:00:00.000Z``."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class CodatPayoutSensor(CodatSensor):
    """Wait until at least ``min_payouts`` payouts have been modified at or after ``since``.

    Returns, and pushes to XCom, ``{"count": n, "truncated": bool, "payouts": [...]}``: the first
    ``max_payouts_returned`` payouts by ``modifiedDate``, each with ``id``, ``type``, ``amount``
    (``totalAmount`` as an exact decimal string), ``currency``, ``modifiedDate`` and ``createdDate``;
    ``truncated`` says that ``count`` is more than the list holds.

    What counts as "not yet" and what fails at once is
    :class:`~airflow_provider_codat.sensors.base.CodatSensor`'s. Like every Codat task it
    defaults to 3 task retries with exponential backoff and ``CodatRetryPolicy``.

    .. seealso:: :class:`~airflow_provider_codat.hooks.commerce.CodatCommerceHook`

    :param company_id: The company's UUID. (templated)
    :param connection_id: The commerce connection's UUID. (templated)
    :param since: The earliest ``modifiedDate`` counted: a datetime, a date or an ISO 8601
        string; naive means UTC (default: the run's data interval start, else its logical
        date). (templated)
    :param include_failed: Count ``FailedPayout`` transactions too.
    :param min_payouts: How many payouts the sensor waits for (at least 1).
    :param codat_conn_id: The Airflow connection to Codat. (templated)
    :param max_payouts_returned: The most payouts returned through XCom, 1 to 5000 (default 100).
    :param kwargs: ``deferrable``, ``poll_interval`` and ``max_errors`` as
        :class:`~airflow_provider_codat.sensors.base.CodatSensor` takes them, and
        ``BaseSensorOperator``'s arguments.
    :raises CodatConfigError: On bad input known at parse time, naming the parameter.
    """

    template_fields: Sequence[str] = ("company_id", "connection_id", "since", "codat_conn_id")
    ui_color = "#dff5ef"
    trigger_class = CodatPayoutTrigger
    map_index_label = "payouts: company {{ task.company_id }}, connection {{ task.connection_id }}"

    def __init__(
        self,
        *,
        company_id: str,
        connection_id: str,
        since: datetime | date | str | None = None,
        include_failed: bool = False,
        min_payouts: int = 1,
        codat_conn_id: str = "codat_default",
        max_payouts_returned: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(codat_conn_id=codat_conn_id, **kwargs)
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.connection_id = check_uuid_at_parse(connection_id, "connection_id")
        self.since = since
        self.include_failed = bool(include_failed)
        self.min_payouts = check_whole(min_payouts, "min_payouts", 1)
        self.max_payouts_returned = check_whole(
            max_payouts_returned, "max_payouts_returned", 1, MAX_PAGE_SIZE
        )
        if since is not None and not is_runtime_value(since):
            parse_since(since)

    def _since(self, context: Any) -> datetime:
        if self.since is not None:
            return parse_since(self.since)
        for key in ("data_interval_start", "logical_date"):
            value = context.get(key)
            if value is not None:
                return parse_since(value)
        raise CodatConfigError("since: this run has no data interval start; pass since= explicitly")

    def build_trigger(self, context: Any, deadline: float) -> CodatPayoutTrigger:
        """The payout trigger for this run, its arguments checked before any request.

        :raises AirflowFailException: Naming the parameter that is wrong.
        """
        with self.codat_errors():
            return CodatPayoutTrigger(
                company_id=check_uuid(self.company_id, "company_id"),
                connection_id=check_uuid(self.connection_id, "connection_id"),
                since=format_since(self._since(context)),
                include_failed=self.include_failed,
                min_payouts=self.min_payouts,
                max_payouts_returned=self.max_payouts_returned,
                **self.trigger_settings(deadline),
            )

    def finish(self, context: Any, event: Mapping[str, Any]) -> dict[str, Any]:
        """Return the payouts' summary."""
        self.log.info("%d payout(s) since %s", event["count"], event["trigger"]["since"])
        return {key: event[key] for key in ("count", "truncated", "payouts")}
