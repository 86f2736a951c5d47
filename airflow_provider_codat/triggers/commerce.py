"""``CodatPayoutTrigger``: wait for new payouts in the triggerer, without holding a worker slot.

One poll is one list call: the transactions of type ``Payout`` (and ``FailedPayout`` when asked)
modified at or after ``since``, ordered by ``modifiedDate``, one page of at most
``max_payouts_returned`` records. Codat's ``totalResults`` gives the count, so nothing more is paged.
The loop around the poll, and its events, are
:class:`~airflow_provider_codat.triggers.base.CodatPollTrigger`'s; the ``done`` event carries
``count``, ``truncated`` and ``payouts`` (:func:`payout_summary`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_codat.arguments import MAX_PAGE_SIZE, check_whole
from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.triggers.base import CodatPollTrigger

if TYPE_CHECKING:
    from airflow_provider_codat.client import Page
    from airflow_provider_codat.hooks.platform import CodatPlatformHook

__all__ = ["CodatPayoutTrigger", "payout_query", "payout_summary"]


def payout_query(since: str, *, include_failed: bool = False) -> str:
    """Return Codat's ``query`` for payouts modified at or after ``since`` (an ISO string).

    :param since: The earliest ``modifiedDate``, e.g. ``2024-05-01T00:00:00.000Z``.
    :param include_failed: Count ``FailedPayout`` transactions too.
    """
    kinds = "{type=Payout||type=FailedPayout}" if include_failed else "type=Payout"
    return f"{kinds}&&modifiedDate>={since}"


def payout_summary(page: Page) -> dict[str, Any]:
    """Return ``{"count", "truncated", "payouts"}`` from the first page of a payout query.

    ``count`` is Codat's ``totalResults``; ``payouts`` are the page's records (ordered by
    ``modifiedDate``), each reduced to id, type, amount (``totalAmount`` as an exact decimal
    string), currency, modifiedDate and createdDate.
    """
    payouts = [
        {
            "id": record.get("id"),
            "type": record.get("type"),
            "amount": _amount(record.get("totalAmount")),
            "currency": record.get("currency"),
            "modifiedDate": record.get("modifiedDate"),
            "createdDate": record.get("createdDate"),
        }
        for record in page.records
    ]
    count = max(page.total, len(payouts))
    return {"count": count, "truncated": count > len(payouts), "payouts": payouts}


def _amount(value: object) -> str | None:
    """An amount as exact text: no float round trip, no exponent notation."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class CodatPayoutTrigger(CodatPollTrigger):
    """Poll Codat until enough payouts have arrived; see the module docstring.

    :param company_id: The company's UUID.
    :param connection_id: The commerce connection's UUID.
    :param since: The earliest ``modifiedDate`` counted, as an ISO 8601 string.
    :param include_failed: Count ``FailedPayout`` transactions too.
    :param min_payouts: How many payouts end the wait.
    :param max_payouts_returned: The most payouts the ``done`` event carries (the page size).
    :param settings: ``deadline``, ``poll_interval``, ``max_poll_interval``, ``max_errors`` and
        ``codat_conn_id``, as :class:`~airflow_provider_codat.triggers.base.CodatPollTrigger` takes them.
    """

    hook_class = CodatCommerceHook

    def __init__(
        self,
        *,
        connection_id: str,
        since: str,
        include_failed: bool = False,
        min_payouts: int = 1,
        max_payouts_returned: int = 100,
        **settings: Any,
    ) -> None:
        super().__init__(**settings)
        self.connection_id = connection_id
        self.since = since
        self.include_failed = bool(include_failed)
        self.min_payouts = check_whole(min_payouts, "min_payouts", 1)
        self.max_payouts_returned = check_whole(
            max_payouts_returned, "max_payouts_returned", 1, MAX_PAGE_SIZE
        )

    def settings(self) -> dict[str, Any]:
        """The base settings and the payout query's."""
        return {
            **super().settings(),
            "connection_id": self.connection_id,
            "since": self.since,
            "include_failed": self.include_failed,
            "min_payouts": self.min_payouts,
            "max_payouts_returned": self.max_payouts_returned,
        }

    async def check(self, hook: CodatPlatformHook) -> dict[str, Any] | None:
        """Count the payouts since ``since``; return their summary once there are ``min_payouts``."""
        pages = cast(
            "AsyncGenerator[Page, None]",
            cast("CodatCommerceHook", hook).alist_pages(
                "transactions",
                self.company_id,
                self.connection_id,
                query=payout_query(self.since, include_failed=self.include_failed),
                order_by="modifiedDate",
                page_size=self.max_payouts_returned,
            ),
        )
        try:
            summary = payout_summary(await anext(pages))
        finally:
            await pages.aclose()
        self.log.info("Codat: %d of %d payout(s) since %s", summary["count"], self.min_payouts, self.since)
        return summary if summary["count"] >= self.min_payouts else None

    def describe_waiting(self) -> str:
        """Say how many payouts were awaited."""
        return f"fewer than {self.min_payouts} payout(s) since {self.since} at the deadline"
