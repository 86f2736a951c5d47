"""``CodatPayoutTrigger``: wait for new payouts in the triggerer, without holding a worker slot.

One poll is one list call: the transactions of type ``Payout`` (and ``FailedPayout`` when asked)
modified at or after ``since``, ordered by ``modifiedDate``, one page of at most
``max_payouts_returned`` records. Codat's ``totalResults`` gives the count, so nothing more is paged.

The poll loop is calm: every round that does not end the trigger awaits a sleep.

==========================================  ===============================================
a poll's outcome                            what the trigger does
==========================================  ===============================================
``min_payouts`` or more payouts             event ``{"status": "success", ...}``
fewer payouts, or 409 (not synced yet)      sleep ``poll_interval`` (doubling up to
                                            ``max_poll_interval``), poll again
408, 429, 5xx, transport failure, after     sleep ``poll_interval`` doubled per consecutive
the hook's per-call retries                 error, and at least until Codat's ``Retry-After``;
                                            the ``max_consecutive_errors``-th such error in a
                                            row ends with ``{"status": "error",
                                            "retryable": true}``
400, 401, 402, 403, 404, bad settings       event ``{"status": "error", "retryable": false}``
                                            at once
==========================================  ===============================================
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from airflow.triggers.base import BaseTrigger, TriggerEvent

# Imported here, when the triggerer loads the class, so that the first poll imports nothing in the loop.
import airflow_provider_codat.client  # noqa: F401
from airflow_provider_codat.exceptions import (
    CodatApiError,
    CodatError,
    CodatNotSyncedError,
    CodatRateLimitError,
)
from airflow_provider_codat.hooks.commerce import CodatCommerceHook

if TYPE_CHECKING:
    from airflow_provider_codat.client import Page

__all__ = [
    "DEFAULT_MAX_CONSECUTIVE_ERRORS",
    "MAX_ERROR_BACKOFF",
    "CodatPayoutTrigger",
    "payout_query",
    "payout_summary",
]

DEFAULT_MAX_CONSECUTIVE_ERRORS = 5
MAX_ERROR_BACKOFF = 600.0
"""Longest wait, in seconds, the trigger's own backoff after errors grows to (Retry-After may ask more)."""


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


@dataclass
class _Streak:
    """What the poll loop remembers between rounds."""

    empty_polls: int = 0
    errors: int = 0


class CodatPayoutTrigger(BaseTrigger):
    """Poll Codat asynchronously until enough payouts have arrived; see the module docstring.

    :param company_id: The company's UUID.
    :param connection_id: The commerce connection's UUID.
    :param since: The earliest ``modifiedDate`` counted, as an ISO 8601 string.
    :param include_failed: Count ``FailedPayout`` transactions too.
    :param min_payouts: How many payouts end the wait.
    :param max_payouts_returned: The most payouts the success event carries (the page size).
    :param codat_conn_id: The Airflow connection to Codat.
    :param poll_interval: Seconds between polls.
    :param max_poll_interval: Longest wait between polls that found too few payouts; above
        ``poll_interval``, each such poll doubles the wait up to it (default: ``poll_interval``).
    :param max_consecutive_errors: Transient errors in a row after which the trigger gives up.
    """

    def __init__(
        self,
        *,
        company_id: str,
        connection_id: str,
        since: str,
        include_failed: bool = False,
        min_payouts: int = 1,
        max_payouts_returned: int = 100,
        codat_conn_id: str = "codat_default",
        poll_interval: float = 60.0,
        max_poll_interval: float | None = None,
        max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if not poll_interval > 0:
            raise ValueError(f"poll_interval: must be more than 0 seconds, got {poll_interval!r}")
        if max_consecutive_errors < 1:
            raise ValueError(f"max_consecutive_errors: must be at least 1, got {max_consecutive_errors!r}")
        self.company_id = company_id
        self.connection_id = connection_id
        self.since = since
        self.include_failed = bool(include_failed)
        self.min_payouts = int(min_payouts)
        self.max_payouts_returned = int(max_payouts_returned)
        self.codat_conn_id = codat_conn_id
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = max(self.poll_interval, float(max_poll_interval or 0.0))
        self.max_consecutive_errors = int(max_consecutive_errors)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the keyword arguments (ids, strings and numbers) to rebuild this."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "company_id": self.company_id,
                "connection_id": self.connection_id,
                "since": self.since,
                "include_failed": self.include_failed,
                "min_payouts": self.min_payouts,
                "max_payouts_returned": self.max_payouts_returned,
                "codat_conn_id": self.codat_conn_id,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "max_consecutive_errors": self.max_consecutive_errors,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until an outcome; every round that does not end awaits its wait first."""
        async with CodatCommerceHook(self.codat_conn_id) as hook:
            async for event in self._poll(hook):
                yield event

    async def _poll(self, hook: CodatCommerceHook) -> AsyncIterator[TriggerEvent]:
        streak = _Streak()
        while True:
            event, wait = await self._round(hook, streak)
            if event is not None:
                yield TriggerEvent(event)  # type: ignore[no-untyped-call]
                return
            await asyncio.sleep(wait)

    async def _round(self, hook: CodatCommerceHook, streak: _Streak) -> tuple[dict[str, Any] | None, float]:
        """Poll once; return the event that ends the trigger, or None and the seconds to wait."""
        try:
            page = await self._first_page(hook)
        except CodatNotSyncedError as error:
            streak.errors = 0
            streak.empty_polls += 1
            wait = self._idle_wait(streak.empty_polls)
            self.log.info("Codat has not synced transactions yet (%s); polling again in %.1f s", error, wait)
            return None, wait
        except CodatError as error:
            if not error.retryable:
                return _error_event(error, retryable=False), 0.0
            streak.errors += 1
            if streak.errors >= self.max_consecutive_errors:
                return _error_event(error, retryable=True, streak=streak.errors), 0.0
            wait = self._error_wait(streak.errors, error)
            self.log.warning(
                "Codat poll failed (%s), %d in a row; polling again in %.1f s", error, streak.errors, wait
            )
            return None, wait
        streak.errors = 0
        summary = payout_summary(page)
        if summary["count"] >= self.min_payouts:
            self.log.info("Codat: %d payout(s) since %s", summary["count"], self.since)
            return {"status": "success", **summary}, 0.0
        streak.empty_polls += 1
        wait = self._idle_wait(streak.empty_polls)
        self.log.info(
            "Codat: %d of %d payout(s) since %s; polling again in %.1f s",
            summary["count"],
            self.min_payouts,
            self.since,
            wait,
        )
        return None, wait

    async def _first_page(self, hook: CodatCommerceHook) -> Page:
        """The one page this poll needs; the list's generator is closed at once (its client too)."""
        pages = cast(
            "AsyncGenerator[Page, None]",
            hook.alist_pages(
                "transactions",
                self.company_id,
                self.connection_id,
                query=payout_query(self.since, include_failed=self.include_failed),
                order_by="modifiedDate",
                page_size=self.max_payouts_returned,
            ),
        )
        try:
            return await anext(pages)
        finally:
            await pages.aclose()

    def _idle_wait(self, empty_polls: int) -> float:
        return min(self.poll_interval * 2.0 ** min(empty_polls - 1, 30), self.max_poll_interval)

    def _error_wait(self, errors: int, error: CodatError) -> float:
        ceiling = max(self.max_poll_interval, MAX_ERROR_BACKOFF)
        wait = min(self.poll_interval * 2.0 ** min(errors - 1, 30), ceiling)
        if isinstance(error, CodatRateLimitError) and error.retry_at is not None:
            wait = max(wait, (error.retry_at - datetime.now(UTC)).total_seconds())
        return wait


def _error_event(error: CodatError, *, retryable: bool, streak: int = 0) -> dict[str, Any]:
    message = f"{type(error).__name__}: {error}"
    if streak:
        message = f"{message} (gave up after {streak} failed polls in a row)"
    return {
        "status": "error",
        "retryable": retryable,
        "error": type(error).__name__,
        "status_code": error.status if isinstance(error, CodatApiError) else None,
        "message": message,
    }
