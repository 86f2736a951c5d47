"""Paging rules as pure code: the page plan, and the checks that make one pull exact.

Codat pages by number, so a list whose order moves while it is paged (a record changed, and so
re-sorted by ``modifiedDate``; one deleted or added) shifts records across page boundaries: one
can be skipped, another met twice. Page 1 tells ``totalResults``; the plan is then every page up
to ``ceil(total / size)``, and no further, so a server that never stops cannot loop a client.
:class:`ListPull` reads a change from any of:

- a page whose ``totalResults`` differs from page 1's;
- a page before the plan's last that is short of the page size, or lacks ``next``;
- a last page short of what ``totalResults`` leaves for it;
- an id met twice in one pass over the pages.

On a change the pull pages again from page 1, skipping every id already yielded
(:class:`~airflow_provider_codat.client._seen.SeenIds`), so a record is never yielded twice. A
pass that meets none of these signs has missed nothing: with the same count of records on the
same pages, a record missed would have left its slot to another that was then met twice.
After :data:`MAX_RESTARTS` restarts the pull raises
:class:`~airflow_provider_codat.exceptions.CodatDataChangedError`, which a task retries.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from airflow_provider_codat._logs import counted
from airflow_provider_codat.client._decode import Page
from airflow_provider_codat.client._seen import SeenIds
from airflow_provider_codat.exceptions import CodatDataChangedError

__all__ = ["MAX_RESTARTS", "ListPull", "ResultSetChanged", "last_page", "list_params"]

log = logging.getLogger("airflow_provider_codat.client")

MAX_RESTARTS = 3
"""Passes from page 1 after the first, before a pull gives up on a list that keeps changing."""


class ResultSetChanged(Exception):
    """The pages of one pass disagree: the result set moved under them."""


def list_params(page: int, size: int, query: str | None, order_by: str | None) -> dict[str, Any]:
    """Query parameters of one list request (``query`` is URL-encoded by the HTTP client)."""
    params: dict[str, Any] = {"page": page, "pageSize": size}
    if query:
        params["query"] = query
    if order_by:
        params["orderBy"] = order_by
    return params


def last_page(first: Page) -> int:
    """The last page worth asking for, from page 1's ``totalResults``."""
    return max(1, math.ceil(first.total / first.size))


def _change_in(first: Page, page: Page) -> str | None:
    """How ``page`` contradicts page 1 of its pass, or None."""
    if page.total != first.total:
        return f"totalResults moved from {first.total} to {page.total} at page {page.number}"
    last = last_page(first)
    if page.number < last and (not page.has_next or len(page) < page.size):
        return f"page {page.number} of {last} ended early with {counted(len(page), 'record')}"
    if 1 < page.number == last and len(page) < first.total - (last - 1) * page.size:
        return f"the last page, {last}, holds {counted(len(page), 'record')}, fewer than totalResults leaves"
    return None


class ListPull:
    """The exactness bookkeeping of one list pull, over every pass it takes.

    :param path: The list's path, for messages.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.restarts = 0
        self._seen = SeenIds()
        self._first: Page | None = None

    def take(self, page: Page) -> tuple[Page, str | None]:
        """Return ``page`` less the records already yielded, and how it shows a change, if it does.

        Pages come in order from page 1; page 1 begins a pass. The returned part of a page that
        shows a change is still exact (its records were all sent), so callers yield it, then
        :meth:`restart`.
        """
        if page.number == 1:
            self._first = page
            self._seen.reserve(page.total)
        first = self._first
        if first is None:
            raise RuntimeError("pages must be taken in order from page 1")
        keep, repeated = self._seen.sift(page.ids, self.restarts)
        change = _change_in(first, page)
        if repeated and change is None:
            change = f"a record of page {page.number} was already met on an earlier page of this pass"
        fresh = page if len(keep) == len(page) else page.only(keep)
        return fresh, change

    def restart(self, change: ResultSetChanged) -> None:
        """Begin another pass from page 1 after ``change``.

        :raises CodatDataChangedError: When :data:`MAX_RESTARTS` passes have already been restarted.
        """
        if self.restarts >= MAX_RESTARTS:
            raise CodatDataChangedError(
                f"the result set of {self.path} kept changing over {MAX_RESTARTS} restarts ({change})"
            )
        self.restarts += 1
        self._first = None
        log.warning("Codat list %s changed while paging (%s); paging again from page 1", self.path, change)
