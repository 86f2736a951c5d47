"""Records for XCom: JSON-native dicts, and a size cap that fails early."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_codat.client._decode import Page
from airflow_provider_codat.exceptions import CodatError
from airflow_provider_codat.output import OutputTooLargeError, collect_for_xcom
from tests.output.conftest import QUIRK_RECORD_TEXTS, numbered_pages, page_of


def native(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and native(v) for k, v in value.items())
    if isinstance(value, list):
        return all(native(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_records_are_json_native_dicts() -> None:
    records = collect_for_xcom([page_of(QUIRK_RECORD_TEXTS)])
    assert records == [json.loads(text) for text in QUIRK_RECORD_TEXTS]
    assert native(records)
    first = records[0]
    assert first["totalAmount"] == -283.56 and type(first["totalAmount"]) is float
    assert first["totalGratuity"] == 5e-7
    assert first["payments"][0]["amount"] == -283.56
    assert first["orderLineItems"][0]["quantity"] == 2 and type(first["orderLineItems"][0]["quantity"]) is int
    assert records[2]["id"] == 12345
    assert not any(isinstance(v, Decimal) for v in first.values())


def test_records_of_every_page_in_order() -> None:
    pages = numbered_pages([3, 0, 2])
    records = collect_for_xcom(pages)
    assert [r["id"] for r in records] == [f"r:{i} x" for i in range(5)]


def test_a_filtered_page_gives_only_its_records() -> None:
    page = page_of(QUIRK_RECORD_TEXTS).only([0, 2])
    assert [r["id"] for r in collect_for_xcom([page])] == ["ord:1 Stripe processing fees", 12345]


def test_limit_is_inclusive() -> None:
    pages = numbered_pages([2, 2])
    size = 2 + sum(len(text.encode()) + 1 for page in pages for text in page.texts)
    assert len(collect_for_xcom(pages, max_bytes=size)) == 4
    with pytest.raises(OutputTooLargeError):
        collect_for_xcom(pages, max_bytes=size - 1)


def test_raises_as_soon_as_the_limit_is_passed() -> None:
    consumed: list[int] = []

    def pages() -> Iterator[Page]:
        for page in numbered_pages([100] * 50):
            consumed.append(page.number)
            yield page

    with pytest.raises(OutputTooLargeError, match=r"output=") as info:
        collect_for_xcom(pages(), max_bytes=5_000)
    assert consumed == [1, 2]  # a page is ~3 kB: the third page is never fetched
    assert isinstance(info.value, ValueError) and isinstance(info.value, CodatError)
    assert not info.value.retryable
    assert "5000 bytes" in str(info.value)


def test_empty() -> None:
    assert collect_for_xcom([]) == []
    assert collect_for_xcom([page_of([])]) == []


def test_max_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        collect_for_xcom([], max_bytes=0)
