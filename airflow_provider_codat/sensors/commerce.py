"""``CodatPayoutSensor``: wait until new payouts arrive on a Codat commerce connection.

A payout is a transaction of type ``Payout`` (a failed one is ``FailedPayout``). Each poke is
one list call: the payouts modified at or after ``since``, ordered by ``modifiedDate``, one page
of at most ``max_payouts_returned``; Codat's ``totalResults`` gives the count.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, conf
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_codat.arguments import (
    MAX_PAGE_SIZE,
    check_seconds,
    check_uuid,
    check_uuid_at_parse,
    check_whole,
    is_runtime_value,
    parse_moment,
)
from airflow_provider_codat.exceptions import (
    CodatConfigError,
    CodatError,
    CodatNotSyncedError,
    CodatRateLimitError,
)
from airflow_provider_codat.tasks import CodatTask

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_codat.client import Page

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


class CodatPayoutSensor(CodatTask, BaseSensorOperator):
    """Wait until at least ``min_payouts`` payouts have been modified at or after ``since``.

    Returns, and pushes to XCom, ``{"count": n, "truncated": bool, "payouts": [...]}``: the first
    ``max_payouts_returned`` payouts by ``modifiedDate``, each with ``id``, ``type``, ``amount``
    (``totalAmount`` as an exact decimal string), ``currency``, ``modifiedDate`` and ``createdDate``;
    ``truncated`` says that ``count`` is more than the list holds.

    Transient failures (408, 429, 5xx, transport) left after the hook's per-call retries, and
    409 (transactions not synced yet), count as "not yet"; a 429 whose ``Retry-After`` is beyond
    the connection's ``max_wait`` too, so a worker never sleeps through a daily quota. 400, 401,
    402, 403, 404 and bad input fail the task at once, without retries. In deferrable mode,
    :class:`~airflow_provider_codat.triggers.commerce.CodatPayoutTrigger` waits in the triggerer.
    Like every Codat task it defaults to 3 task retries with exponential backoff and
    ``CodatRetryPolicy`` (a trigger that gave up is retried).

    .. seealso:: :class:`~airflow_provider_codat.hooks.commerce.CodatCommerceHook`

    :param company_id: The company's UUID. (templated)
    :param connection_id: The commerce connection's UUID. (templated)
    :param since: The earliest ``modifiedDate`` counted: a datetime, a date or an ISO 8601
        string; naive means UTC (default: the run's data interval start, else its logical
        date). (templated)
    :param include_failed: Count ``FailedPayout`` transactions too.
    :param min_payouts: How many payouts the sensor waits for (at least 1).
    :param codat_conn_id: The Airflow connection to Codat. (templated)
    :param deferrable: Wait in the triggerer instead of a worker (default: ``[operators]
        default_deferrable``).
    :param poll_interval: Seconds (or a timedelta) between checks; the sensor's ``poke_interval``
        (default 60).
    :param max_payouts_returned: The most payouts returned through XCom, 1 to 5000 (default 100).
    :param max_consecutive_errors: In deferrable mode, transient errors in a row after which the
        trigger gives up (the task's own retries then apply).
    :raises CodatConfigError: On bad input known at parse time, naming the parameter.
    """

    template_fields: Sequence[str] = ("company_id", "connection_id", "since", "codat_conn_id")
    ui_color = "#dff5ef"

    def __init__(
        self,
        *,
        company_id: str,
        connection_id: str,
        since: datetime | date | str | None = None,
        include_failed: bool = False,
        min_payouts: int = 1,
        codat_conn_id: str = "codat_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | timedelta | None = None,
        max_payouts_returned: int = 100,
        max_consecutive_errors: int = 5,
        **kwargs: Any,
    ) -> None:
        if poll_interval is None:
            poll_interval = kwargs.pop("poke_interval", 60.0)
        else:
            kwargs.pop("poke_interval", None)
        super().__init__(
            codat_conn_id=codat_conn_id, poke_interval=check_seconds(poll_interval, "poll_interval"), **kwargs
        )
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.connection_id = check_uuid_at_parse(connection_id, "connection_id")
        self.since = since
        self.include_failed = bool(include_failed)
        self.min_payouts = check_whole(min_payouts, "min_payouts", 1)
        self.deferrable = deferrable
        self.max_payouts_returned = check_whole(
            max_payouts_returned, "max_payouts_returned", 1, MAX_PAGE_SIZE
        )
        self.max_consecutive_errors = check_whole(max_consecutive_errors, "max_consecutive_errors", 1)
        if since is not None and not is_runtime_value(since):
            parse_since(since)

    @property
    def poll_interval(self) -> float:
        """Seconds between checks (the sensor's ``poke_interval``)."""
        return float(self.poke_interval)

    # -- inputs -------------------------------------------------------------------------------
    def _since(self, context: Context) -> datetime:
        if self.since is not None:
            return parse_since(self.since)
        for key in ("data_interval_start", "logical_date"):
            value = context.get(key)
            if value is not None:
                return parse_since(value)
        raise CodatConfigError("since: this run has no data interval start; pass since= explicitly")

    def _inputs(self, context: Context) -> tuple[str, str, datetime]:
        """The checked ids and ``since``, before any request.

        :raises AirflowFailException: Naming the parameter that is wrong.
        """
        with self.codat_errors():
            company = check_uuid(self.company_id, "company_id")
            connection = check_uuid(self.connection_id, "connection_id")
            return company, connection, self._since(context)

    # -- poke, reschedule ---------------------------------------------------------------------
    def poke(self, context: Context) -> PokeReturnValue:
        """Check once; done when at least ``min_payouts`` payouts have arrived."""
        from airflow_provider_codat.triggers.commerce import payout_summary

        company, connection, since = self._inputs(context)
        try:
            page = self._first_page(company, connection, format_since(since))
        except CodatError as error:
            self._not_yet_or_raise(error)
            return PokeReturnValue(is_done=False)
        finally:
            self.hook.close()
        summary = payout_summary(page)
        if summary["count"] < self.min_payouts:
            self.log.info("%d of %d payout(s) since %s; not yet", summary["count"], self.min_payouts, since)
            return PokeReturnValue(is_done=False)
        self.log.info("%d payout(s) since %s", summary["count"], since)
        return PokeReturnValue(is_done=True, xcom_value=summary)

    def _first_page(self, company: str, connection: str, since: str) -> Page:
        from airflow_provider_codat.triggers.commerce import payout_query

        pages = cast(
            "Generator[Page, None, None]",
            self.hook.list_pages(
                "transactions",
                company,
                connection,
                query=payout_query(since, include_failed=self.include_failed),
                order_by="modifiedDate",
                page_size=self.max_payouts_returned,
            ),
        )
        try:
            return next(pages)
        finally:
            pages.close()

    def _not_yet_or_raise(self, error: CodatError) -> None:
        """Log why ``error`` means "not yet", or raise the Airflow exception that fails the task now."""
        if isinstance(error, CodatNotSyncedError):
            self.log.info("Codat has not synced transactions yet (%s); not yet", error)
        elif not error.retryable:
            with self.codat_errors():
                raise error
        elif isinstance(error, CodatRateLimitError) and error.retry_at is not None:
            self.log.warning(
                "Codat asks to retry at %s (%s); not sleeping in the worker, checking again in %.0f s",
                f"{error.retry_at:%Y-%m-%dT%H:%M:%SZ}",
                error,
                self.poll_interval,
            )
        else:
            self.log.warning("Codat call failed (%s); not yet, checking again later", error)

    # -- deferrable ---------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        """Poke (``poke``/``reschedule`` mode), or defer to :class:`CodatPayoutTrigger`."""
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_codat.triggers.commerce import CodatPayoutTrigger

        company, connection, since = self._inputs(context)
        if self.exponential_backoff:
            max_poll = self.max_wait.total_seconds() if self.max_wait else self.timeout
        else:
            max_poll = self.poll_interval
        self.defer(
            trigger=CodatPayoutTrigger(
                company_id=company,
                connection_id=connection,
                since=format_since(since),
                include_failed=self.include_failed,
                min_payouts=self.min_payouts,
                max_payouts_returned=self.max_payouts_returned,
                codat_conn_id=self.codat_conn_id,
                poll_interval=self.poll_interval,
                max_poll_interval=max_poll,
                max_consecutive_errors=self.max_consecutive_errors,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Finish after the trigger's event: return the payouts, or fail as the event says.

        :raises AirflowFailException: On an error no retry can fix (401, 403, 404, ...).
        :raises AirflowException: When the trigger gave up after transient errors.
        """
        if not event:
            raise AirflowException("CodatPayoutTrigger ended without an event")
        status = event.get("status")
        if status == "success":
            self.log.info("%d payout(s) arrived", event["count"])
            return {key: event[key] for key in ("count", "truncated", "payouts")}
        if status == "error":
            message = str(event.get("message") or "CodatPayoutTrigger failed")
            if event.get("retryable"):
                raise AirflowException(message)
            raise AirflowFailException(message)
        raise AirflowException(f"CodatPayoutTrigger sent an unexpected event status {status!r}")
