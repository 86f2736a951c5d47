"""How many requests of one pull may be on the wire: additive increase, multiplicative decrease.

Codat allows 10 requests in flight per company and refuses the rest with a 429, which still
counts against the daily quota. Pulls in other worker processes may be using the same company,
and nothing in this process can see them, so each pull adapts on its own, as TCP does: it starts
at the connection's ``max_concurrency``, halves its window on a 429 that asks for a short wait
(at most once per :data:`HALVE_EVERY_S`, as the requests already out meet the same crowding),
and, once a second has passed without one, widens it by one after each window's worth of
requests that came back. A
request waiting out a 429 holds no slot: when it wakes, it takes a slot like any other, so a
narrowed window also holds back the retries. Several pulls of one company so settle on sharing
its 10 slots instead of each retrying its way through them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

__all__ = ["HALVE_EVERY_S", "AsyncInFlightLimit", "InFlightLimit", "PageBudget"]

HALVE_EVERY_S = 1.0
"""Seconds after halving the window during which further 429s do not halve it again."""


class _Window:
    """The size rules, shared by the thread and the event-loop flavours."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.size = maximum
        self.busy = 0
        self._good = 0
        self._halved_at = float("-inf")

    def _throttled(self) -> None:
        now = time.monotonic()
        if now - self._halved_at >= HALVE_EVERY_S:
            self.size = max(1, self.size // 2)
            self._halved_at = now
        self._good = 0

    def _succeeded(self) -> None:
        self._good += 1
        if self._good >= self.size and time.monotonic() - self._halved_at >= HALVE_EVERY_S:
            self.size = min(self.maximum, self.size + 1)
            self._good = 0


class InFlightLimit(_Window):
    """The window of one pull whose pages are fetched by threads.

    :param maximum: The widest window, the connection's ``max_concurrency``.
    """

    def __init__(self, maximum: int) -> None:
        super().__init__(maximum)
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the window's slots for the length of one request."""
        with self._cond:
            while self.busy >= self.size:
                self._cond.wait()
            self.busy += 1
        try:
            yield
        finally:
            with self._cond:
                self.busy -= 1
                self._cond.notify_all()

    def throttled(self) -> None:
        """A request met a short 429."""
        with self._cond:
            self._throttled()

    def succeeded(self) -> None:
        """A request came back without one."""
        with self._cond:
            self._succeeded()
            self._cond.notify_all()


class AsyncInFlightLimit(_Window):
    """The window of one pull, or of every pull of one company, fetched by tasks of one event loop.

    :param maximum: The widest window: the connection's ``max_concurrency``, or the company's
        share of Codat's 10 when several pulls share this limit.
    :param shared: A semaphore every request also holds (a total across companies), taken after
        the window's slot so that no request waits on it while holding another company's slot.
    """

    def __init__(self, maximum: int, shared: asyncio.Semaphore | None = None) -> None:
        super().__init__(maximum)
        self._shared = shared
        self._waiters: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the window's slots (and of ``shared``) for the length of one request."""
        while self.busy >= self.size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.busy += 1
        try:
            if self._shared is None:
                yield
            else:
                async with self._shared:
                    yield
        finally:
            self.busy -= 1
            self._wake()

    def _wake(self) -> None:
        for _ in range(max(0, self.size - self.busy)):
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    break

    def throttled(self) -> None:
        """A request met a short 429."""
        self._throttled()

    def succeeded(self) -> None:
        """A request came back without one."""
        self._succeeded()
        self._wake()


class PageBudget:
    """Pages that a group of pulls may hold beyond the one each is waiting on, so memory stays bounded.

    A pull always fetches the next page it needs; it fetches further ahead only with a page taken
    from the budget, and gives it back when that page is consumed. No pull ever waits on the
    budget, so none can starve another.

    :param pages: The look-ahead pages the whole group may hold.
    """

    def __init__(self, pages: int) -> None:
        self.free = pages

    def take(self) -> bool:
        """Take one page of look-ahead if any is left."""
        if self.free > 0:
            self.free -= 1
            return True
        return False

    def give(self) -> None:
        """Give back a page taken with :meth:`take`."""
        self.free += 1
