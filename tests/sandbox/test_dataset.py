"""The dataset layer: timeline, selection and paging agree with brute force over the same records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_codat.resources import RESOURCES, get_resource
from airflow_provider_codat.sandbox.dataset import Dataset, IndexView
from airflow_provider_codat.sandbox.fields import fields_for
from airflow_provider_codat.sandbox.generators import BUILDERS, PLATFORMS, ConnectionData, index_of, record_id
from airflow_provider_codat.sandbox.query import parse_order_by, parse_query, to_utc

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
TRANSACTIONS = get_resource("transactions")


def make_dataset(count: int = 1000, batch: int = 7, resource: str = "transactions") -> Dataset:
    counts = {r.name: 20 for r in RESOURCES} | {resource: count}
    ctx = ConnectionData(7, "co", "conn", "Acme", PLATFORMS[1], counts, ANCHOR)
    return Dataset(get_resource(resource), ctx, base_count=count, history=timedelta(days=3), batch_size=batch)


def brute_force(ds: Dataset, query_text: str | None, order_text: str | None = None) -> list[str]:
    fields = fields_for(ds.resource)
    query = parse_query(query_text, fields, "Transaction") if query_text else None
    records = [ds.record(i) for i in range(len(ds))]
    kept = [r for r in records if query is None or query.matches(r)]
    if order_text:
        order = parse_order_by(order_text, fields, "Transaction")
        kept.sort(key=order.key)
        if order.descending:
            kept.reverse()
    return [r["id"] for r in kept]


def served(ds: Dataset, query_text: str | None, order_text: str | None = None) -> list[str]:
    fields = fields_for(ds.resource)
    query = parse_query(query_text, fields, "Transaction") if query_text else None
    order = parse_order_by(order_text, fields, "Transaction") if order_text else None
    return [ds.record(i)["id"] for i in ds.select(query, order)]


def test_every_registry_row_has_a_builder() -> None:
    assert set(BUILDERS) == {r.name for r in RESOURCES}


@pytest.mark.parametrize("resource", [r.name for r in RESOURCES if r.listable])
def test_ids_round_trip_and_are_unique(resource: str) -> None:
    ids = [record_id(resource, i, 500) for i in range(500)]
    assert len(set(ids)) == 500
    assert [index_of(resource, rid, 500) for rid in ids] == list(range(500))
    assert index_of(resource, ids[3] + "x", 500) is None


def test_ids_carry_the_quirks_codat_has() -> None:
    ids = {record_id(r.name, i) for r in RESOURCES if r.listable for i in range(40)}
    assert any(":" in i and " " in i for i in ids)
    assert any('"' in i for i in ids)


def test_modified_dates_rise_in_shared_batches_within_the_history() -> None:
    ds = make_dataset(100, batch=10)
    times = [ds.time_of(i) for i in range(100)]
    assert times == sorted(times)
    assert len(set(times)) == 10
    assert ANCHOR - timedelta(days=3) <= datetime.fromtimestamp(times[0], UTC)
    assert datetime.fromtimestamp(times[-1], UTC) < ANCHOR


def test_records_are_deterministic() -> None:
    assert make_dataset().record(123) == make_dataset().record(123)


@pytest.mark.parametrize("order", [None, "modifiedDate", "-modifiedDate", "totalAmount", "-id", "currency"])
def test_unfiltered_selection_equals_brute_force(order: str | None) -> None:
    ds = make_dataset(300)
    assert served(ds, None, order) == brute_force(ds, None, order)


_OPS = st.sampled_from([">", ">=", "<", "<=", "="])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_OPS, st.integers(-5000, 3 * 86400 + 5000)), min_size=1, max_size=3),
    st.sampled_from([None, "type=Payout", "totalAmount<0", "currency~gb||type=Refund"]),
    st.sampled_from([None, "modifiedDate", "-modifiedDate", "totalAmount"]),
    st.integers(0, 3),
    st.integers(0, 2),
)
def test_modified_date_ranges_equal_brute_force(
    bounds: list[tuple[str, int]], residual: str | None, order: str | None, bumps: int, arrivals: int
) -> None:
    ds = make_dataset(200, batch=9)
    start = ANCHOR - timedelta(days=3)
    if bumps:
        ds.bump(int((start + timedelta(days=1, seconds=5)).timestamp()), bumps, salt=bumps)
    if arrivals:
        ds.append(int(ANCHOR.timestamp()) + 60, arrivals)
    clauses = [f"modifiedDate{op}{(start + timedelta(seconds=s)):%Y-%m-%dT%H:%M:%SZ}" for op, s in bounds]
    if residual:
        clauses.append("{" + residual + "}")
    query = "&&".join(clauses)
    assert served(ds, query, order) == brute_force(ds, query, order)


def test_bumped_records_leave_and_join_windows() -> None:
    ds = make_dataset(100, batch=10)
    window_end = datetime.fromtimestamp(ds.time_of(99), UTC) + timedelta(seconds=1)
    query = f"modifiedDate<{window_end:%Y-%m-%dT%H:%M:%SZ}"
    before = served(ds, query)
    bumped = ds.bump(int(ANCHOR.timestamp()) + 10, 3, salt=1)
    after = served(ds, query)
    assert len(after) == len(before) - len(bumped)
    assert set(before) - set(after) == {ds.record(i)["id"] for i in bumped}
    later = served(ds, f"modifiedDate>={ANCHOR:%Y-%m-%dT%H:%M:%SZ}")
    assert sorted(later) == sorted(ds.record(i)["id"] for i in bumped)


def test_arrivals_are_payouts_stamped_when_they_arrive() -> None:
    ds = make_dataset(50)
    when = int(ANCHOR.timestamp()) + 3600
    ids = ds.append(when, 2)
    records = [ds.find(i) for i in ids]
    assert all(r is not None and r["type"] == "Payout" for r in records)
    assert all(
        r is not None and to_utc(r["modifiedDate"]) == datetime.fromtimestamp(when, UTC) for r in records
    )
    assert len(ds) == 52


def test_index_view_slices_runs_in_both_directions() -> None:
    view = IndexView([(0, 3), (10, 12), (20, 25)])
    assert list(view) == [0, 1, 2, 10, 11, 20, 21, 22, 23, 24]
    assert view.slice(2, 4) == [2, 10, 11, 20]
    reverse = IndexView([(0, 3), (10, 12)], reverse=True)
    assert list(reverse) == [11, 10, 2, 1, 0]
    assert reverse.slice(1, 3) == [10, 2, 1]
    assert view.slice(100, 5) == []


def test_a_million_records_cost_no_memory_until_served() -> None:
    ds = make_dataset(1_000_000, batch=100)
    view = ds.select(None, None)
    assert len(view) == 1_000_000
    page = view.slice(999_990, 5000)
    assert page == list(range(999_990, 1_000_000))
