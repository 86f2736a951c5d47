"""A pull narrows its window when Codat refuses requests for the company's concurrency, then widens it."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from pytest_mock import MockerFixture

from airflow_provider_codat.client._throttle import HALVE_EVERY_S, InFlightLimit
from airflow_provider_codat.sandbox import CodatSandbox

from .conftest import config_for, fast_retry, list_path, server_ids
from .test_paging import MODES, assert_complete, page_through

RECORDS = 400
SIZE = 10


@pytest.fixture(scope="module")
def crowded(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    """A company that takes 3 requests at once (others hold the rest of Codat's 10)."""
    return codat_sandboxes(companies=1, connections=1, records=3, record_counts={"orders": RECORDS})


@pytest.mark.parametrize("mode", MODES)
def test_a_pull_settles_on_what_the_company_allows(crowded: CodatSandbox, mode: str) -> None:
    """With 10 in flight against room for 3, a fixed window had nearly half its requests refused."""
    path = list_path(crowded, "commerce-orders")
    expected = server_ids(crowded, path)
    crowded.set_faults(concurrency_limit=3, latency_ms=30)
    try:
        config = config_for(crowded, max_concurrency=10, retry=fast_retry(max_attempts=20, max_total=60))
        run = page_through(mode, config, path, page_size=SIZE)
    finally:
        crowded.reset_faults()
    assert_complete(run, expected, SIZE)
    pages = math.ceil(RECORDS / SIZE)
    refused = len(run.wire.requests) - pages
    assert refused <= pages // 2, f"{refused} requests refused for {pages} pages"  # fixed window: 34-38


def test_the_window_halves_once_per_crowding_and_widens_again(mocker: MockerFixture) -> None:
    clock = mocker.patch("airflow_provider_codat.client._throttle.time.monotonic")
    clock.return_value = 100.0
    limit = InFlightLimit(10)
    limit.throttled()
    limit.throttled()  # the requests already out meet the same crowding: one halving
    assert limit.size == 5
    clock.return_value += HALVE_EVERY_S
    limit.throttled()
    assert limit.size == 2
    for _ in range(2):
        limit.succeeded()
    assert limit.size == 2, "no widening within a second of a halving"
    clock.return_value += HALVE_EVERY_S
    for _ in range(2 + 3 + 4):
        limit.succeeded()
    assert limit.size == 5
    for _ in range(100):
        limit.succeeded()
    assert limit.size == 10, "never wider than max_concurrency"
