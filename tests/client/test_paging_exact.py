"""One pull is exact while the data changes under it: every record once, whatever the order and pace.

The sandbox's ``mutate_*`` faults move records' ``modifiedDate`` to now while a list is paged,
which re-sorts them under any ``modifiedDate`` ordering. Bumps change no record's membership, so
the truth after the pull is the list's whole id set, and a pull yields it exactly once, or
(only when changes outlast every restart) raises ``CodatDataChangedError``, never having
yielded a record twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_codat.client import Page
from airflow_provider_codat.client._paging import MAX_RESTARTS
from airflow_provider_codat.exceptions import CodatDataChangedError
from airflow_provider_codat.sandbox import CodatSandbox
from airflow_provider_codat.sandbox.config import FaultConfig

from .conftest import config_for, list_path, server_ids
from .test_paging import MODES, page_through

RECORDS = 300
ORDERINGS = [None, "modifiedDate", "-modifiedDate", "totalAmount", "-createdDate"]


@pytest.fixture(scope="module")
def moving(codat_sandboxes: Callable[..., CodatSandbox]) -> CodatSandbox:
    """300 transactions whose modifiedDates the tests keep moving (membership never changes)."""
    return codat_sandboxes(
        companies=1,
        connections=1,
        records=3,
        record_counts={"transactions": RECORDS},
        faults=FaultConfig(daily_quota=10**9),  # hundreds of pulls a run
    )


def assert_exact_or_gave_up(sb: CodatSandbox, run: object, path: str, query: str | None, limit: int) -> None:
    """Every id once; giving up is allowed only when more changes came than restarts absorb."""
    ids = run.ids  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)), "a record was yielded twice"
    expected = set(server_ids(sb, path, **({"query": query} if query else {})))
    error = run.error  # type: ignore[attr-defined]
    if error is None:
        assert set(ids) == expected, f"lost {len(expected - set(ids))} records"
    else:
        assert isinstance(error, CodatDataChangedError), error
        assert limit > MAX_RESTARTS, "each restart absorbs at least one change: this pull had to finish"


@pytest.mark.parametrize("mode", MODES)
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    pull=st.fixed_dictionaries(
        {
            "order_by": st.sampled_from(
                [None, "modifiedDate", "-modifiedDate", "totalAmount", "-createdDate"]
            ),
            "query": st.sampled_from([None, "totalAmount>0", "type!=Payout"]),
            "page_size": st.sampled_from([9, 25, 60, 299]),
        }
    ),
    concurrency=st.integers(1, 10),
    faults=st.fixed_dictionaries(
        {
            "mutate_every": st.integers(1, 6),
            "mutate_records": st.integers(1, 60),
            "mutate_limit": st.integers(1, 6),
        }
    ),
)
def test_a_pull_yields_every_record_once_while_records_move(
    moving: CodatSandbox, mode: str, pull: dict[str, Any], concurrency: int, faults: dict[str, int]
) -> None:
    path = list_path(moving, "commerce-transactions")
    moving.set_faults(**faults)
    try:
        run = page_through(mode, config_for(moving, max_concurrency=concurrency), path, **pull)
    finally:
        moving.set_faults(mutate_every=0)
    assert_exact_or_gave_up(moving, run, path, pull["query"], faults["mutate_limit"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order_by", ["modifiedDate", "-modifiedDate"])
def test_the_reported_loss_ordering_by_modified_date(moving: CodatSandbox, mode: str, order_by: str) -> None:
    """The reported case, scaled down: 40 records bumped every 3rd request, 6 times, 10 in flight."""
    path = list_path(moving, "commerce-transactions")
    moving.set_faults(mutate_every=3, mutate_records=40, mutate_limit=3)
    try:
        run = page_through(mode, config_for(moving), path, page_size=10, order_by=order_by)
    finally:
        moving.set_faults(mutate_every=0)
    assert run.error is None
    assert sorted(run.ids) == sorted(server_ids(moving, path))
    restarts = run.requested_pages.count(1) - 1
    assert 1 <= restarts <= MAX_RESTARTS  # the moves were seen, and paging went back to page 1
    assert len(run.requested_pages) <= (restarts + 1) * math.ceil(RECORDS / 10)


@pytest.mark.parametrize("mode", MODES)
def test_a_page_one_record_short_is_a_change_not_a_silent_loss(moving: CodatSandbox, mode: str) -> None:
    """Page 2 comes back one short, with the same totalResults and a next link: paging starts over."""
    path = list_path(moving, "commerce-transactions")

    def shorten_the_next_page(page: Page) -> None:
        if page.number == 1 and not shortened:
            moving.set_faults(short_page={"burst": 1})
            shortened.append(page.number)

    shortened: list[int] = []
    run = page_through(
        mode, config_for(moving, max_concurrency=1), path, page_size=30, between=shorten_the_next_page
    )
    assert run.error is None
    assert len(run.ids) == len(set(run.ids)) == RECORDS
    assert run.requested_pages[:3] == [1, 2, 1]  # the short page 2 sent paging back to page 1
