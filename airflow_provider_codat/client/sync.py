"""The synchronous Codat client: retries per call, pages fetched concurrently and yielded in order."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from typing import Any

import httpx

from airflow_provider_codat.client._config import ClientConfig
from airflow_provider_codat.client._decode import Page, decode_json, decode_page
from airflow_provider_codat.client._errors import error_for
from airflow_provider_codat.client._memory import MemoryRelease
from airflow_provider_codat.client._paging import ListPull, ResultSetChanged, last_page, list_params
from airflow_provider_codat.client._request import build_path, check_response, client_options, transport_error
from airflow_provider_codat.client._retry import retrying
from airflow_provider_codat.client._throttle import InFlightLimit
from airflow_provider_codat.exceptions import CodatDecodeError

__all__ = ["CodatClient"]

log = logging.getLogger("airflow_provider_codat.client")


class CodatClient:
    """A Codat API client over one ``httpx.Client``.

    :param config: Settings (key, base URL, timeouts, paging, retries).
    :param transport: An httpx transport to use instead of the network (tests).
    """

    def __init__(self, config: ClientConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(transport=transport, **client_options(config))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"CodatClient(base_url={self.config.base_url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> CodatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- single calls -------------------------------------------------------------------------
    def _send(self, method: str, path: str, params: dict[str, Any] | None) -> httpx.Response:
        log.debug("Codat %s %s %s", method, path, sorted(params or ()))
        try:
            response = self._http.request(method, path, params=params)
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.config, method, path) from None
        return check_response(response)

    def request(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """Send one call with retries and return its decoded JSON (numbers as exact Decimals)."""
        for attempt in retrying(self.config.retry, idempotent=method == "GET"):
            with attempt:
                return decode_json(self._send(method, path, params).content, where=f" ({method} {path})")
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, template: str, **path_params: str) -> Any:
        """GET one object at a path template such as ``/companies/{companyId}``."""
        return self.request("GET", build_path(template, **path_params))

    def page(self, path: str, number: int, size: int, query: str | None, order_by: str | None) -> Page:
        """Fetch page ``number`` of a list, with retries."""
        params = list_params(number, size, query, order_by)
        for attempt in retrying(self.config.retry):
            with attempt:
                content = self._send("GET", path, params).content
                return decode_page(content, number=number, size=size, where=f" (GET {path} page {number})")
        raise AssertionError("unreachable")  # pragma: no cover

    def _page_chunks(self, path: str, params: dict[str, Any], limit: InFlightLimit) -> list[bytes]:
        """Fetch one page's body with retries of the exchange, as the chunks it arrived in.

        The consuming thread joins and decodes them, so a page's one large block is allocated there,
        not by one of the fetch threads, whose malloc arenas would each keep such blocks.
        """
        for attempt in retrying(self.config.retry, on_throttle=limit.throttled):
            with attempt:
                with limit.slot():
                    chunks = self._chunks("GET", path, params)
                limit.succeeded()
                return chunks
        raise AssertionError("unreachable")  # pragma: no cover

    def _chunks(self, method: str, path: str, params: dict[str, Any]) -> list[bytes]:
        """:meth:`_send`, returning the successful response's body as the chunks it was read in."""
        log.debug("Codat %s %s %s", method, path, sorted(params))
        try:
            with self._http.stream(method, path, params=params) as response:
                if response.is_success:
                    return list(response.iter_bytes())
                response.read()
        except httpx.HTTPError as exc:
            raise transport_error(exc, self.config, method, path) from None
        raise error_for(response)

    # -- lists --------------------------------------------------------------------------------
    def pages(
        self,
        path: str,
        *,
        query: str | None = None,
        order_by: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        """Yield every page of a list in order, fetching up to ``max_concurrency`` at once.

        Exact while the list changes under it (see :mod:`~airflow_provider_codat.client._paging`):
        a page that shows a change sends paging back to page 1, skipping the records already
        yielded, and after :data:`~airflow_provider_codat.client._paging.MAX_RESTARTS` restarts
        it raises :class:`~airflow_provider_codat.exceptions.CodatDataChangedError`.
        """
        size = page_size or self.config.page_size
        limit = InFlightLimit(self.config.max_concurrency)
        memory = MemoryRelease()

        def fetch(number: int) -> list[bytes]:
            chunks = self._page_chunks(path, list_params(number, size, query, order_by), limit)
            memory.read(sum(map(len, chunks)))
            return chunks

        def decode(number: int, chunks: list[bytes]) -> Page:
            body = b"".join(chunks)
            try:
                return decode_page(body, number=number, size=size, where=f" (GET {path} page {number})")
            except CodatDecodeError:  # a malformed body: fetch it again, with the full retry policy
                return self.page(path, number, size, query, order_by)

        pull = ListPull(path)
        while True:
            try:
                with closing(_ordered_pages(fetch, decode, limit)) as pages:
                    for page in pages:
                        fresh, change = pull.take(page)
                        yield fresh
                        if change:
                            raise ResultSetChanged(change)
                return
            except ResultSetChanged as change:
                pull.restart(change)


def _ordered_pages(
    fetch: Callable[[int], list[bytes]], decode: Callable[[int, list[bytes]], Page], limit: InFlightLimit
) -> Generator[Page]:
    """Fetch page 1, then the planned rest with up to ``limit.maximum`` futures, yielding in order.

    The futures take ``limit``'s slots for their requests, so at most ``limit.size`` are on the wire.

    Bodies are fetched on worker threads but joined and decoded here, on the consuming thread, so
    every page's body and records are allocated by one thread (one malloc arena): memory stays flat.
    """
    first = decode(1, fetch(1))
    yield first
    last = last_page(first)
    if last == 1 or not len(first):
        return
    pending: deque[tuple[int, Future[list[bytes]]]] = deque()
    numbers = iter(range(2, last + 1))
    upcoming = next(numbers, None)
    with ThreadPoolExecutor(max_workers=limit.maximum, thread_name_prefix="codat-page") as pool:

        def top_up() -> None:
            nonlocal upcoming
            while upcoming is not None and len(pending) < limit.maximum:
                pending.append((upcoming, pool.submit(fetch, upcoming)))
                upcoming = next(numbers, None)

        try:
            top_up()
            while pending:
                number, future = pending.popleft()
                page = decode(number, future.result())
                top_up()
                yield page
        finally:
            for _, future in pending:
                future.cancel()
