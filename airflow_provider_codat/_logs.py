"""What the provider's log lines share: counted nouns, and a throttle for per-page progress."""

from __future__ import annotations

from time import monotonic
from typing import Any, Protocol

__all__ = ["PROGRESS_PAGES", "PROGRESS_SECONDS", "PageProgress", "counted"]

PROGRESS_SECONDS = 10.0
"""Least time between two INFO progress lines of one pull."""
PROGRESS_PAGES = 10
"""Least number of pages between two INFO progress lines of one pull."""


class _Log(Protocol):
    def info(self, msg: str, /, *args: Any) -> object: ...

    def debug(self, msg: str, /, *args: Any) -> object: ...


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """Return ``1 part``, ``2 parts`` (``plural`` when adding an ``s`` is wrong: ``companies``)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


class PageProgress:
    """Log one pull's pages: the first and the last at INFO, the rest at DEBUG, but for one INFO line
    whenever both :data:`PROGRESS_SECONDS` and :data:`PROGRESS_PAGES` have passed since the last.

    A pull of 200 pages so writes at most 22 INFO lines, however fast or slow it runs.

    :param log: The logger to write to.
    """

    def __init__(self, log: _Log) -> None:
        self._log = log
        self._pages = 0
        self._info_page = 0  # the page count and the clock at the last INFO line
        self._info_time = 0.0

    def page(self, last: bool, msg: str, *args: object) -> None:
        """Log one page's line.

        :param last: Whether it is the pull's last page (always logged at INFO).
        :param msg: The %-style message, then its arguments.
        """
        self._pages += 1
        now = monotonic()
        due = self._pages - self._info_page >= PROGRESS_PAGES and now - self._info_time >= PROGRESS_SECONDS
        if last or due or self._pages == 1:
            self._info_page, self._info_time = self._pages, now
            self._log.info(msg, *args)
        else:
            self._log.debug(msg, *args)
