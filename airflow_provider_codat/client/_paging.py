"""Paging rules as pure functions: the page plan, the stop rules, and consistency checks.

Page 1 tells ``totalResults``; the plan is then every page up to ``ceil(total / size)``, and no
further, so a server that never stops cannot loop a client. Each later page must report the same
``totalResults``; a page that differs, or ends the list early (no ``next`` or no results before
the plan's last page), means the result set changed while it was paged: :class:`ResultSetChanged`.
After such a change the client pages again from the start, skipping records it already yielded
(:class:`SeenIds`).
"""

from __future__ import annotations

import bisect
import math
import zlib
from array import array
from collections.abc import Iterable
from typing import Any

from airflow_provider_codat.client._decode import Page

__all__ = ["ResultSetChanged", "SeenIds", "check_page", "last_page", "list_params"]


class ResultSetChanged(Exception):
    """A page disagrees with page 1 about the result set."""


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


def check_page(first: Page, page: Page) -> None:
    """Raise :class:`ResultSetChanged` if ``page`` disagrees with ``first``."""
    if page.total != first.total:
        raise ResultSetChanged(f"totalResults moved from {first.total} to {page.total} at page {page.number}")
    if page.number < last_page(first) and (not page.has_next or not page.records):
        raise ResultSetChanged(f"the list ended early at page {page.number} of {last_page(first)}")


class SeenIds:
    """The ids already yielded, as sorted 64-bit hashes: 8 bytes a record, not a Python set."""

    def __init__(self) -> None:
        self._hashes = array("Q")
        self._sorted = True

    @staticmethod
    def _hash(record_id: object) -> int:
        data = str(record_id).encode("utf-8")
        return zlib.crc32(data) << 32 | zlib.adler32(data)

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        """Remember the ids of ``records``."""
        self._hashes.extend(self._hash(r.get("id")) for r in records)
        self._sorted = False

    def __contains__(self, record_id: object) -> bool:
        if not self._sorted:
            self._hashes = array("Q", sorted(self._hashes))
            self._sorted = True
        h = self._hash(record_id)
        i = bisect.bisect_left(self._hashes, h)
        return i < len(self._hashes) and self._hashes[i] == h

    def unseen(self, page: Page) -> Page:
        """Return ``page`` without the records already yielded."""
        keep = [i for i, r in enumerate(page.records) if r.get("id") not in self]
        return page if len(keep) == len(page.records) else page.only(keep)
