"""Paging over loopback, sync and async: exact sets in server order, bounded concurrency, faults survived."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from airflow_provider_codat.client import AsyncCodatClient, ClientConfig, CodatClient, Page, RetryPolicy
from airflow_provider_codat.client._paging import MAX_RESTARTS
from airflow_provider_codat.exceptions import CodatDataChangedError, CodatError, CodatRateLimitError
from airflow_provider_codat.resources import listable_resources
from airflow_provider_codat.sandbox import CodatSandbox

from .conftest import (
    RECORDS,
    AsyncWatchingTransport,
    WatchingTransport,
    config_for,
    fast_retry,
    list_path,
    server_ids,
)

LISTABLE = list(listable_resources())
MODES = ["sync", "async"]


@dataclass
class Run:
    """What one paging run yielded, what went over the wire, and how it ended."""

    wire: WatchingTransport | AsyncWatchingTransport
    pages: list[Page] = field(default_factory=list)
    error: BaseException | None = None
    elapsed: float = 0.0

    @property
    def ids(self) -> list[str]:
        return [r["id"] for p in self.pages for r in p.records]

    @property
    def requested_pages(self) -> list[int]:
        return self.wire.pages()


def page_through(
    mode: str, config: ClientConfig, path: str, *, between: Callable[[Page], None] | None = None, **kw: Any
) -> Run:
    """Page ``path`` with the sync or async client, recording pages, requests and any error."""
    started = time.monotonic()
    if mode == "sync":
        wire = WatchingTransport()
        run = Run(wire)
        with CodatClient(config, transport=wire) as client:
            try:
                for page in client.pages(path, **kw):
                    run.pages.append(page)
                    if between:
                        between(page)
            except CodatError as exc:
                run.error = exc
    else:
        awire = AsyncWatchingTransport()
        run = Run(awire)

        async def main() -> None:
            async with AsyncCodatClient(config, transport=awire) as client:
                try:
                    async for page in client.pages(path, **kw):
                        run.pages.append(page)
                        if between:
                            between(page)
                except CodatError as exc:
                    run.error = exc

        asyncio.run(main())
    run.elapsed = time.monotonic() - started
    return run


def assert_complete(run: Run, expected_ids: list[str], size: int) -> None:
    """Exactly the expected ids, in server order, no duplicates, pages numbered 1..n."""
    assert run.error is None, run.error
    assert run.ids == expected_ids
    assert len(set(run.ids)) == len(run.ids)
    last = max(1, math.ceil(len(expected_ids) / size))
    assert [p.number for p in run.pages] == list(range(1, last + 1))
    assert all(p.total == len(expected_ids) and p.size == size for p in run.pages)


# --- exact sets, server order, page plan ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [1, 7, 30, 5000])
@pytest.mark.parametrize("resource", LISTABLE, ids=lambda r: r.name)
def test_every_resource_pages_to_exactly_total_results(
    sandbox: CodatSandbox, resource: Any, size: int, mode: str
) -> None:
    path = list_path(sandbox, resource.path, which=1)
    expected = server_ids(sandbox, path)
    assert len(expected) == RECORDS
    run = page_through(mode, config_for(sandbox, max_concurrency=4), path, page_size=size)
    assert_complete(run, expected, size)
    assert sorted(run.requested_pages) == list(range(1, math.ceil(RECORDS / size) + 1))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("query", "order_by"),
    [
        (None, "-modifiedDate"),
        (None, "modifiedDate"),
        ("totalAmount>100", None),
        ("totalAmount>100", "-totalAmount"),
        ("currency!=zzz||totalAmount<0", "id"),
    ],
)
def test_records_come_in_server_order(
    sandbox: CodatSandbox, mode: str, query: str | None, order_by: str | None
) -> None:
    path = list_path(sandbox, "commerce-transactions")
    params = {k: v for k, v in (("query", query), ("orderBy", order_by)) if v}
    expected = server_ids(sandbox, path, **params)
    assert len(expected) > 0
    run = page_through(
        mode, config_for(sandbox, max_concurrency=5), path, page_size=4, query=query, order_by=order_by
    )
    assert_complete(run, expected, 4)
    assert all(r.url.params.get("query") == query for r in run.wire.requests)
    assert all(r.url.params.get("orderBy") == order_by for r in run.wire.requests)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("size", "pages"), [(10, 3), (29, 2), (30, 1), (31, 1), (1, 30)])
def test_the_client_never_asks_past_the_last_page(
    sandbox: CodatSandbox, mode: str, size: int, pages: int
) -> None:
    path = list_path(sandbox, "commerce-orders")
    run = page_through(mode, config_for(sandbox, max_concurrency=10), path, page_size=size)
    assert run.error is None and len(run.ids) == RECORDS
    assert sorted(run.requested_pages) == list(range(1, pages + 1))


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_result_is_one_request(sandbox: CodatSandbox, mode: str) -> None:
    path = list_path(sandbox, "commerce-orders")
    run = page_through(mode, config_for(sandbox), path, page_size=5, query="totalAmount<-1000000")
    assert run.error is None and run.requested_pages == [1]
    assert [(p.number, p.total, p.records) for p in run.pages] == [(1, 0, [])]


@pytest.mark.parametrize("mode", MODES)
def test_page_size_defaults_to_the_config(sandbox: CodatSandbox, mode: str) -> None:
    path = list_path(sandbox, "commerce-products")
    run = page_through(mode, config_for(sandbox, page_size=8), path)
    assert_complete(run, server_ids(sandbox, path), 8)
    assert {r.url.params["pageSize"] for r in run.wire.requests} == {"8"}


@pytest.fixture(scope="module")
def big(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    return codat_sandboxes(companies=1, connections=1, records=3, record_counts={"transactions": 12000})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [1000, 5000])
def test_twelve_thousand_transactions(big: CodatSandbox, mode: str, size: int) -> None:
    path = list_path(big, "commerce-transactions")
    expected = [rid for page in (1, 2, 3) for rid in server_page_ids(big, path, page)]
    assert len(expected) == 12000
    run = page_through(mode, config_for(big), path, page_size=size)
    assert_complete(run, expected, size)
    assert sorted(run.requested_pages) == list(range(1, math.ceil(12000 / size) + 1))


def server_page_ids(sb: CodatSandbox, path: str, page: int) -> list[str]:
    response = httpx.get(
        sb.url + path, params={"page": page, "pageSize": 5000}, headers={"Authorization": sb.auth_header}
    )
    return [r["id"] for r in response.json()["results"]]


# --- concurrency ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("limit", [1, 3, 10])
def test_concurrency_never_exceeds_max_concurrency(sandbox: CodatSandbox, mode: str, limit: int) -> None:
    path = list_path(sandbox, "commerce-payments")
    expected = server_ids(sandbox, path)
    sandbox.set_faults(concurrency_limit=limit, latency_ms=25)
    config = config_for(sandbox, max_concurrency=limit, retry=fast_retry(max_attempts=1))
    run = page_through(mode, config, path, page_size=2)
    assert_complete(run, expected, 2)  # a single 429 from the sandbox would have failed the run
    assert run.wire.max_in_flight <= limit and (limit == 1 or run.wire.max_in_flight > 1)
    assert len(run.wire.requests) == RECORDS // 2


# --- faults --------------------------------------------------------------------------------------------

FAULTS: dict[str, dict[str, Any]] = {
    "rate-limit-seconds": {"rate_limit": {"every": 3}, "retry_after_seconds": 0},
    "rate-limit-http-date": {
        "rate_limit": {"every": 3},
        "retry_after_seconds": 0,
        "retry_after_form": "http-date",
    },
    "server-error-burst": {"server_error": {"burst": 3}, "server_error_status": 503},
    "server-error-every": {"server_error": {"every": 4}, "server_error_status": 500},
    "drop-connection": {"drop_connection": {"every": 3}},
    "malformed-json": {"malformed_json": {"every": 3}},
    "all-at-once": {
        "rate_limit": {"every": 11},
        "retry_after_seconds": 0,
        "server_error": {"every": 7},
        "drop_connection": {"every": 9},
        "malformed_json": {"every": 8},
    },
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_fault_is_survived_with_the_exact_set(sandbox: CodatSandbox, mode: str, fault: str) -> None:
    path = list_path(sandbox, "commerce-orders", which=2)
    expected = server_ids(sandbox, path)
    sandbox.set_faults(**FAULTS[fault])
    # Up to 12 attempts: with 4 pages in flight, one page can hit several faults in a row.
    config = config_for(sandbox, max_concurrency=4, retry=fast_retry(max_attempts=12))
    run = page_through(mode, config, path, page_size=3)
    assert_complete(run, expected, 3)
    assert len(run.wire.requests) > RECORDS // 3  # some requests did fail


@pytest.mark.parametrize("mode", MODES)
def test_a_rate_limit_retry_after_is_slept_while_paging(sandbox: CodatSandbox, mode: str) -> None:
    path = list_path(sandbox, "commerce-customers", which=3)
    expected = server_ids(sandbox, path)
    sandbox.set_faults(rate_limit={"burst": 1}, retry_after_seconds=1)
    run = page_through(mode, config_for(sandbox), path, page_size=10)
    assert_complete(run, expected, 10)
    assert run.elapsed >= 0.95 and len(run.wire.requests) == 4


@pytest.mark.parametrize("mode", MODES)
def test_exhausted_daily_quota_raises_at_once_without_sleeping(sandbox: CodatSandbox, mode: str) -> None:
    sandbox.set_faults(quota_exhausted=True)
    path = list_path(sandbox, "commerce-orders")
    config = config_for(sandbox, retry=RetryPolicy(initial_wait=0.5, max_wait=1))
    run = page_through(mode, config, path, page_size=10)
    assert isinstance(run.error, CodatRateLimitError)
    assert run.elapsed < 2 and run.pages == []
    assert len(run.wire.requests) == 1
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert run.error.retry_at is not None
    assert abs((run.error.retry_at - midnight).total_seconds()) < 5


# --- data changing while paged -------------------------------------------------------------------------

ANCHOR = datetime(2024, 6, 1, tzinfo=UTC)
WINDOW = "modifiedDate<2024-06-01T00:00:00Z"


@pytest.fixture
def fresh(codat_sandbox_factory: Callable[..., CodatSandbox]) -> CodatSandbox:
    """A sandbox of its own: its list-request counter (which drives ``mutate_every``) starts at 0."""
    return codat_sandbox_factory(companies=1, connections=1, records=30, anchor=ANCHOR)


@pytest.mark.parametrize("mode", MODES)
def test_records_bumped_out_of_the_window_while_paging(fresh: CodatSandbox, mode: str) -> None:
    path = list_path(fresh, "commerce-customers")
    before = server_ids(fresh, path, query=WINDOW)
    assert len(before) == 30
    # The 6th list request (the last page of the first pass) bumps 8 records to "now": out of the window.
    fresh.set_faults(mutate_every=6, mutate_records=8)
    run = page_through(mode, config_for(fresh, max_concurrency=1), path, page_size=5, query=WINDOW)
    fresh.reset_faults()
    after = server_ids(fresh, path, query=WINDOW)
    bumped = set(before) - set(after)
    yielded_first = set(before[:25])  # pages 1-5 of the first pass, yielded before the change was seen
    assert 5 <= len(bumped) <= 8 and bumped & yielded_first and bumped - yielded_first
    assert run.error is None
    assert len(run.ids) == len(set(run.ids))
    assert set(run.ids) == set(after) | (bumped & yielded_first)
    assert set(after) <= set(run.ids)
    assert run.requested_pages == [1, 2, 3, 4, 5, 6, *range(1, math.ceil(len(after) / 5) + 1)]


@pytest.mark.parametrize("mode", MODES)
def test_a_result_set_that_keeps_changing_ends_in_codat_data_changed_error(
    fresh: CodatSandbox, mode: str
) -> None:
    fresh.set_faults(mutate_every=2, mutate_records=1)
    path = list_path(fresh, "commerce-orders")
    run = page_through(mode, config_for(fresh, max_concurrency=1), path, page_size=5, query=WINDOW)
    assert isinstance(run.error, CodatDataChangedError) and run.error.retryable
    assert path in str(run.error)
    assert run.requested_pages == [1, 2] * (MAX_RESTARTS + 1)
    assert len(run.ids) == len(set(run.ids))  # a restart never yields a record twice


@pytest.mark.parametrize("mode", MODES)
def test_new_records_arriving_while_paging_are_picked_up(fresh: CodatSandbox, mode: str) -> None:
    _, connection = fresh.connections[0]
    path = list_path(fresh, "commerce-transactions")
    added: list[str] = []

    def add_payout_once(page: Page) -> None:
        if page.number == 2 and not added:
            added.extend(fresh.add_payouts(connection, 2))

    run = page_through(mode, config_for(fresh, max_concurrency=1), path, page_size=5, between=add_payout_once)
    assert run.error is None
    assert len(added) == 2
    assert run.ids == server_ids(fresh, path) and len(run.ids) == 32
    assert run.ids[-2:] == added
