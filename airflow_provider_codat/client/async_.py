"""The asynchronous Codat client: the same calls as :mod:`.sync`, without blocking the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import httpx

from airflow_provider_codat.client._config import ClientConfig
from airflow_provider_codat.client._decode import Page, decode_json, decode_page
from airflow_provider_codat.client._paging import ListPull, ResultSetChanged, last_page, list_params
from airflow_provider_codat.client._request import build_path, check_response, client_options, transport_error
from airflow_provider_codat.client._retry import async_retrying
from airflow_provider_codat.client._throttle import AsyncInFlightLimit, PageBudget

__all__ = ["AsyncCodatClient"]

log = logging.getLogger("airflow_provider_codat.client")


class AsyncCodatClient:
    """A Codat API client over one ``httpx.AsyncClient``.

    :param config: Settings (key, base URL, timeouts, paging, retries).
    :param transport: An httpx async transport to use instead of the network (tests).
    """

    def __init__(self, config: ClientConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.AsyncClient(transport=transport, **client_options(config))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"AsyncCodatClient(base_url={self.config.base_url!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncCodatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, method: str, path: str, params: dict[str, Any] | None) -> httpx.Response:
        log.debug("Codat %s %s %s", method, path, sorted(params or ()))
        try:
            response = await self._http.request(method, path, params=params)
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.config, method, path) from None
        return check_response(response)

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """Send one call with retries and return its decoded JSON (numbers as exact Decimals)."""
        async for attempt in async_retrying(self.config.retry, idempotent=method == "GET"):
            with attempt:
                response = await self._send(method, path, params)
                return decode_json(response.content, where=f" ({method} {path})")
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, template: str, **path_params: str) -> Any:
        """GET one object at a path template such as ``/companies/{companyId}``."""
        return await self.request("GET", build_path(template, **path_params))

    async def page(
        self,
        path: str,
        number: int,
        size: int,
        query: str | None,
        order_by: str | None,
        *,
        limit: AsyncInFlightLimit | None = None,
    ) -> Page:
        """Fetch page ``number`` of a list, with retries, inside one of ``limit``'s slots."""
        params = list_params(number, size, query, order_by)
        limit = limit or AsyncInFlightLimit(1)
        async for attempt in async_retrying(self.config.retry, on_throttle=limit.throttled):
            with attempt:
                async with limit.slot():
                    content = (await self._send("GET", path, params)).content
                limit.succeeded()
                return decode_page(content, number=number, size=size, where=f" (GET {path} page {number})")
        raise AssertionError("unreachable")  # pragma: no cover

    async def pages(
        self,
        path: str,
        *,
        query: str | None = None,
        order_by: str | None = None,
        page_size: int | None = None,
        limit: AsyncInFlightLimit | None = None,
        budget: PageBudget | None = None,
    ) -> AsyncIterator[Page]:
        """Yield every page of a list in order; see :meth:`CodatClient.pages`.

        :param limit: The window to fetch in, shared by every pull of one company when several
            run at once (default: one of the connection's ``max_concurrency`` for this pull).
        :param budget: Look-ahead pages shared with other pulls (default: ``limit.maximum`` pages
            for this pull alone).
        """
        size = page_size or self.config.page_size
        limit = limit or AsyncInFlightLimit(self.config.max_concurrency)
        budget = budget or PageBudget(limit.maximum)

        def fetch(number: int) -> Awaitable[Page]:
            return self.page(path, number, size, query, order_by, limit=limit)

        pull = ListPull(path)
        while True:
            try:
                async with aclosing(
                    _ordered_pages(fetch, limit, budget or PageBudget(limit.maximum))
                ) as pages:
                    async for page in pages:
                        fresh, change = pull.take(page)
                        yield fresh
                        if change:
                            raise ResultSetChanged(change)
                return
            except ResultSetChanged as change:
                pull.restart(change)


async def _ordered_pages(
    fetch: Callable[[int], Awaitable[Page]], limit: AsyncInFlightLimit, budget: PageBudget
) -> AsyncGenerator[Page]:
    """Fetch page 1, then the planned rest as tasks, yielding in order.

    Beside the page it waits on, a pull runs up to ``limit.maximum - 1`` tasks ahead, each with a
    page taken from ``budget``. The tasks take ``limit``'s slots for their requests, so
    at most ``limit.size`` are on the wire.
    """
    first = await fetch(1)
    yield first
    last = last_page(first)
    if last == 1 or not len(first):
        return
    pending: deque[tuple[asyncio.Task[Page], bool]] = deque()
    numbers = iter(range(2, last + 1))
    upcoming = next(numbers, None)

    def top_up() -> None:
        nonlocal upcoming
        while upcoming is not None and len(pending) < limit.maximum:
            ahead = bool(pending)
            if ahead and not budget.take():
                return
            pending.append((asyncio.ensure_future(fetch(upcoming)), ahead))
            upcoming = next(numbers, None)

    try:
        top_up()
        while pending:
            task, ahead = pending[0]
            page = await task
            pending.popleft()
            if ahead:
                budget.give()
            top_up()
            yield page
    finally:
        for task, ahead in pending:
            task.cancel()
            if ahead:
                budget.give()
