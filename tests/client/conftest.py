"""A sandbox for the client tests, fast retry settings, and transports that watch the wire."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from typing import Any

# Airflow writes into $AIRFLOW_HOME when first imported (the models round trip goes through the hook).
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="codat-airflow-home-"))

import httpx
import pytest

from airflow_provider_codat.client import ClientConfig, RetryPolicy
from airflow_provider_codat.sandbox import FAST_RETRIES, CodatSandbox

RECORDS = 30


@pytest.fixture(scope="package")
def sandbox(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    """Two companies with two commerce connections each, 30 records of every resource."""
    return codat_sandboxes(companies=2, connections=2, records=RECORDS)


def fast_retry(**overrides: Any) -> RetryPolicy:
    """A retry policy with waits of milliseconds, so fault tests stay fast."""
    return RetryPolicy(**{**FAST_RETRIES, **overrides})


def config_for(sb: CodatSandbox, *, retry: RetryPolicy | None = None, **settings: Any) -> ClientConfig:
    """Client settings pointing at ``sb`` with :func:`fast_retry` unless told otherwise."""
    return ClientConfig(api_key=sb.api_key, base_url=sb.url, retry=retry or fast_retry(), **settings)


def list_path(sb: CodatSandbox, resource_path: str, which: int = 0) -> str:
    company, connection = sb.connections[which]
    return f"/companies/{company}/connections/{connection}/data/{resource_path}"


def server_ids(sb: CodatSandbox, path: str, **params: Any) -> list[str]:
    """Every id of a list in server order, read in one request with plain httpx."""
    response = httpx.get(
        sb.url + path, params={"pageSize": 5000, **params}, headers={"Authorization": sb.auth_header}
    )
    response.raise_for_status()
    body = response.json()
    assert body["totalResults"] == len(body["results"]), "the reference read must fit one page"
    return [r["id"] for r in body["results"]]


class _Watch:
    """Shared bookkeeping of the watching transports: requests seen and the most in flight at once."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def enter(self, request: httpx.Request) -> None:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def pages(self) -> list[int]:
        """The ``page`` parameter of every request, in the order they were sent."""
        return [int(r.url.params["page"]) for r in self.requests if "page" in r.url.params]


class WatchingTransport(httpx.BaseTransport, _Watch):
    """A real loopback transport that records each request and counts requests in flight."""

    def __init__(self) -> None:
        _Watch.__init__(self)
        self._inner = httpx.HTTPTransport(limits=httpx.Limits(max_connections=20))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.enter(request)
        try:
            response = self._inner.handle_request(request)
            response.read()
            return response
        finally:
            self.leave()

    def close(self) -> None:
        self._inner.close()


class AsyncWatchingTransport(httpx.AsyncBaseTransport, _Watch):
    """The async twin of :class:`WatchingTransport`."""

    def __init__(self) -> None:
        _Watch.__init__(self)
        self._inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=20))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.enter(request)
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.leave()

    async def aclose(self) -> None:
        await self._inner.aclose()
