"""The pull's memory of yielded ids, and the page checks that read a moving result set."""

from __future__ import annotations

import pytest

from airflow_provider_codat.client import Page
from airflow_provider_codat.client._paging import MAX_RESTARTS, ListPull, ResultSetChanged
from airflow_provider_codat.client._seen import SeenIds
from airflow_provider_codat.exceptions import CodatDataChangedError


def records(*ids: object) -> list[dict[str, object]]:
    return [{"id": i} for i in ids]


def page(number: int, ids: list[str], *, size: int = 3, total: int = 9, has_next: bool = True) -> Page:
    return Page(number, size, total, records(*ids), has_next)


def test_short_similar_ids_never_collide() -> None:
    """200,000 ids that differ in a digit or two (where adler32 is weak) are all told apart."""
    seen = SeenIds()
    batch = [f"txn_{i}" for i in range(200_000)]
    fresh, repeated = seen.sift(batch, 0)
    assert len(fresh) == 200_000 and not repeated and len(seen) == 200_000
    again, repeated = seen.sift(batch, 1)
    assert again == [] and not repeated


def test_an_id_met_in_an_earlier_pass_is_skipped_quietly_but_twice_in_one_pass_is_a_repeat() -> None:
    seen = SeenIds()
    assert seen.sift(["a", "b"], 0) == ([0, 1], False)
    assert seen.sift(["b", "c"], 1) == ([1], False)  # b: from pass 0, skipped
    assert seen.sift(["b"], 1) == ([], True)  # b again in pass 1: the set moved
    assert seen.sift(["a", "a:Stripe processing fees"], 1) == ([1], False)


def test_the_table_grows_without_forgetting() -> None:
    seen = SeenIds()
    for start in range(0, 5000, 100):
        seen.sift([f"id {i}" for i in range(start, start + 100)], 0)
    assert len(seen) == 5000
    assert seen.sift([f"id {i}" for i in range(5000)], 1) == ([], False)


def test_records_without_an_id_always_count_as_new() -> None:
    seen = SeenIds()
    assert seen.sift([None, None, None], 0) == ([0, 1, 2], False)


def test_a_short_page_before_the_last_is_a_change_even_with_the_same_total_and_a_next_link() -> None:
    pull = ListPull("/p")
    assert pull.take(page(1, ["a", "b", "c"]))[1] is None
    fresh, change = pull.take(page(2, ["d", "e"]))
    assert [r["id"] for r in fresh.records] == ["d", "e"]  # what came is still yielded
    assert change is not None and "page 2 of 3 ended early with 2 records" in change


def test_a_short_last_page_is_a_change() -> None:
    pull = ListPull("/p")
    pull.take(page(1, ["a", "b", "c"], total=8))
    pull.take(page(2, ["d", "e", "f"], total=8))
    _, change = pull.take(page(3, ["g"], total=8, has_next=False))
    assert change is not None and "last page" in change


def test_a_repeat_is_a_change_and_is_not_yielded_again() -> None:
    pull = ListPull("/p")
    pull.take(page(1, ["a", "b", "c"]))
    fresh, change = pull.take(page(2, ["c", "d", "e"]))
    assert [r["id"] for r in fresh.records] == ["d", "e"]
    assert change is not None and "already met" in change


def test_restarts_are_bounded() -> None:
    pull = ListPull("/companies/x/connections/y/data/commerce-orders")
    for _ in range(MAX_RESTARTS):
        pull.restart(ResultSetChanged("moved"))
    with pytest.raises(CodatDataChangedError, match="commerce-orders kept changing over 3 restarts"):
        pull.restart(ResultSetChanged("moved"))
