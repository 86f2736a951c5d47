"""``decode_page`` and ``decode_json``: exact record texts, exact decimals, typed failures."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_codat.client._decode import Page, decode_json, decode_page
from airflow_provider_codat.exceptions import CodatDecodeError, CodatTransportError

# --- helpers ----------------------------------------------------------------------------------------

WS = st.text(alphabet=" \t\r\n", max_size=3)


def envelope_text(
    texts: list[str],
    *,
    total: int | None = None,
    has_next: bool = True,
    ws: list[str] | None = None,
    order: list[str] | None = None,
) -> str:
    """Hand-build a page around record texts, with chosen whitespace and key order."""
    gaps = iter(ws or [])

    def gap() -> str:
        return next(gaps, "")

    links = {"self": {"href": "/x"}, "current": {"href": "/x?page=1&pageSize=2"}}
    if has_next:
        links["next"] = {"href": "/x?page=2&pageSize=2"}
    members = {
        "results": "[" + gap() + ("," + gap()).join(t + gap() for t in texts) + "]",
        "pageNumber": "1",
        "pageSize": "2",
        "totalResults": str(len(texts) if total is None else total),
        "_links": json.dumps(links),
    }
    keys = order or list(members)
    body = ("," + gap()).join(f'{gap()}"{k}"{gap()}:{gap()}{members[k]}{gap()}' for k in keys)
    return "{" + gap() + body + gap() + "}"


# --- exact texts and exact numbers ------------------------------------------------------------------


def test_record_texts_are_byte_identical_slices_of_the_body() -> None:
    texts = [
        '{"id":"a","totalAmount":5e-7}',
        '{ "id" : "b:Stripe processing fees",\n  "totalAmount" : -283.56 , "n": [1, 2.50, {"x": null}] }',
        '{"id":"c \\"deluxe\\"","name":"caf\\u00e9 \u00e9","nested":{"deep":[[],{}]}}',
    ]
    body = envelope_text(texts, ws=[" ", "\n", "\t", "  ", "\r\n"] * 10)
    page = decode_page(body.encode(), number=1, size=2)
    assert page.texts == texts
    for text in page.texts:
        assert text in body
    assert [r["id"] for r in page.records] == ["a", "b:Stripe processing fees", 'c "deluxe"']


def test_numbers_are_exact_decimals_never_floats() -> None:
    texts = ['{"id":"1","a":5e-7,"b":-283.56,"c":0.1,"d":100,"e":1E+2,"f":-0.0}']
    page = decode_page(envelope_text(texts).encode(), number=1, size=2)
    record = page.records[0]
    assert record["a"] == Decimal("5e-7") and isinstance(record["a"], Decimal)
    assert record["b"] == Decimal("-283.56") and str(record["b"]) == "-283.56"
    assert record["c"] == Decimal("0.1") and record["c"] != 0.1
    assert record["d"] == 100 and isinstance(record["d"], int)
    assert record["e"] == Decimal("100") and isinstance(record["e"], Decimal)
    assert isinstance(record["f"], Decimal)
    assert decode_json(b'{"x": 5e-7, "y": [-283.56]}') == {"x": Decimal("5e-7"), "y": [Decimal("-283.56")]}


@pytest.mark.parametrize(
    "order",
    [
        ["results", "pageNumber", "pageSize", "totalResults", "_links"],
        ["_links", "totalResults", "pageSize", "pageNumber", "results"],
        ["pageNumber", "results", "_links", "pageSize", "totalResults"],
    ],
)
def test_envelope_key_order_does_not_matter(order: list[str]) -> None:
    texts = ['{"id":"x"}', '{"id":"y"}']
    page = decode_page(envelope_text(texts, total=57, order=order).encode(), number=3, size=2)
    assert (page.number, page.size, page.total, page.texts, page.has_next) == (3, 2, 57, texts, True)


def test_page_reports_its_request_and_not_the_echoed_page_size() -> None:
    page = decode_page(envelope_text(['{"id":"x"}'], has_next=False).encode(), number=7, size=13)
    assert (page.number, page.size, page.has_next) == (7, 13, False)


def test_empty_results_and_missing_or_null_links() -> None:
    page = decode_page(b'{"results": [ ], "totalResults": 0}', number=1, size=5)
    assert (page.records, page.texts, page.total, page.has_next) == ([], [], 0, False)
    page = decode_page(b'{"results":[],"totalResults":0,"_links":null}', number=1, size=5)
    assert page.has_next is False


# --- property: whatever the formatting, texts and records round-trip ------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
RECORDS = st.lists(
    st.builds(
        lambda record_id, extra: {**extra, "id": record_id},
        st.text(min_size=1, max_size=20),
        st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5),
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(
    records=RECORDS,
    indent=st.sampled_from([None, 0, 1, 2, 4, "\t"]),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : "), (",\n", ":\t")]),
    ensure_ascii=st.booleans(),
    sort_keys=st.booleans(),
    total_extra=st.integers(min_value=0, max_value=10**6),
    trailing=WS,
)
def test_any_formatting_round_trips(  # noqa: PLR0917
    records: list[dict[str, Any]],
    indent: int | str | None,
    separators: tuple[str, str],
    ensure_ascii: bool,
    sort_keys: bool,
    total_extra: int,
    trailing: str,
) -> None:
    envelope = {
        "results": records,
        "pageNumber": 1,
        "pageSize": 100,
        "totalResults": len(records) + total_extra,
        "_links": {"self": {"href": "/p"}},
    }
    body = (
        json.dumps(
            envelope,
            indent=indent,
            separators=separators,
            ensure_ascii=ensure_ascii,
            sort_keys=sort_keys,
        )
        + trailing
    )
    page = decode_page(body.encode(), number=1, size=100)
    expected = json.loads(json.dumps(records), parse_float=Decimal)
    assert page.records == expected
    assert page.total == len(records) + total_extra
    assert len(page.texts) == len(records)
    position = 0
    for text, record in zip(page.texts, expected, strict=True):
        assert json.loads(text, parse_float=Decimal) == record
        found = body.find(text, position)  # each text is a slice of the body, in order, not overlapping
        assert found >= position
        position = found + len(text)
        assert text == text.strip()


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(
        st.dictionaries(st.text(max_size=5), JSON_SCALARS, max_size=3).map(json.dumps), max_size=5
    ),
    ws=st.lists(WS, min_size=40, max_size=40),
    seed=st.integers(0, 1000),
)
def test_hand_built_envelopes_give_exact_texts(texts: list[str], ws: list[str], seed: int) -> None:
    order = ["results", "pageNumber", "pageSize", "totalResults", "_links"]
    random.Random(seed).shuffle(order)
    body = envelope_text(texts, ws=ws, order=order)
    assert decode_page(body.encode(), number=1, size=2).texts == texts


# --- failures are typed ------------------------------------------------------------------------------

VALID = envelope_text(['{"id":"a","amount":5e-7}', '{"id":"b","tags":["x",{"y":1}]}']).encode()


def test_every_truncation_raises_codat_decode_error() -> None:
    assert decode_page(VALID, number=1, size=2).total == 2
    for cut in range(len(VALID)):
        with pytest.raises(CodatDecodeError):
            decode_page(VALID[:cut], number=1, size=2)
            pytest.fail(f"a body cut at byte {cut} decoded")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"<html>Bad gateway</html>",
        b"null",
        b"[]",
        b'"results"',
        b"{}",
        b'{"results": {}}',
        b'{"results": [1, 2], "totalResults": 2}',
        b'{"results": [[]], "totalResults": 1}',
        b'{"results": [], "pageNumber": 1}',
        b'{"totalResults": 3}',
        b'{"results": [], "totalResults": "3"}',
        b'{"results": [], "totalResults": 3.0}',
        b'{"results": [], "totalResults": true}',
        b'{"results": [], "totalResults": null}',
        b'{"results": [], "totalResults": 0, "_links": [{"next": 1}]}',
        b'{"results": [], "totalResults": 0, "_links": "next"}',
        b'{"results": [], "totalResults": 0} {"results": []}',
        b'{"results": [], "totalResults": 0}]',
        b'{"results": [{"id": 1} {"id": 2}], "totalResults": 2}',
        b'{"results": [{"id": 1},], "totalResults": 1}',
        b'{"results": [], "totalResults": 0,}',
        b'{"results" [], "totalResults": 0}',
        b'{[]: 1, "results": [], "totalResults": 0}',
        b'{{"a": 1}: 1, "results": [], "totalResults": 0}',
        b'{1: 2, "results": [], "totalResults": 0}',
        b'{"results": [], "totalResults": 0, "x": NaN-}',
        b'\xff\xfe{"results": []}',
        '{"results": [{"id": "caf\u00e9"}], "totalResults": 1}'.encode("latin-1"),
    ],
)
def test_non_envelopes_raise_codat_decode_error(body: bytes) -> None:
    with pytest.raises(CodatDecodeError) as caught:
        decode_page(body, number=1, size=2, where=" (GET /x page 1)")
    assert isinstance(caught.value, CodatTransportError) and caught.value.retryable
    assert "(GET /x page 1)" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60) | st.text(alphabet='{}[]":,0123456789.e-tnrul \n"abresultsotalR', max_size=60))
def test_arbitrary_bytes_give_a_page_or_a_codat_decode_error(data: bytes | str) -> None:
    body = data.encode() if isinstance(data, str) else data
    try:
        page = decode_page(body, number=1, size=2)
    except CodatDecodeError:
        return
    assert len(page.records) == len(page.texts)


@pytest.mark.parametrize("body", [b"", b"{", b"nope", b"\xff", b'{"a": 1} x'])
def test_decode_json_raises_codat_decode_error(body: bytes) -> None:
    with pytest.raises(CodatDecodeError, match="not valid JSON"):
        decode_json(body, where=" (GET /companies)")


# --- msgspec's fast path and the standard library's agree --------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"id":"nan","amount":NaN}',  # not JSON, but the standard library reads it, as before
        '{"id":"lone \\ud800 surrogate"}',
        '{"id":"big","n":123456789012345678901234567890,"x":-0.0,"e":1E+2}',
    ],
)
def test_what_msgspec_refuses_decodes_as_before(text: str) -> None:
    body = envelope_text([text]).encode()
    page = decode_page(body, number=1, size=2)
    expected = json.loads(text, parse_float=Decimal)
    assert str(page.records) == str([expected])  # str: NaN != NaN
    assert page.texts == [text]
    assert str(decode_json(text.encode())) == str(expected)


def test_only_keeps_the_texts_of_the_kept_records() -> None:
    texts = ['{"id":"a"}', '{"id":"b"}', '{"id":"c"}']
    page = decode_page(envelope_text(texts).encode(), number=1, size=3).only([0, 2])
    assert page.texts == [texts[0], texts[2]]
    assert [bytes(t) for t in page.raw_texts] == [texts[0].encode(), texts[2].encode()]


# --- records decoded on first use --------------------------------------------------------------------


def test_records_are_decoded_on_first_use_and_ids_without_them() -> None:
    texts = ['{"id":"a","n":1.50}', '{"n":2}', '{"id":7,"x":{"id":"nested"}}', '{"id":null}']
    page = decode_page(envelope_text(texts).encode(), number=1, size=4)
    assert "records" not in vars(page)  # paging reads the ids and the length only
    assert page.ids == ["a", None, 7, None] and len(page) == 4
    assert page.records == [json.loads(t, parse_float=Decimal) for t in texts]
    kept = page.only([0, 2])
    assert kept.ids == ["a", 7] and kept.records == [page.records[0], page.records[2]]


def test_only_before_the_records_are_decoded() -> None:
    texts = ['{"id":"a"}', '{"id":"b","v":0.10}', '{"id":"c"}']
    kept = decode_page(envelope_text(texts).encode(), number=1, size=3).only([1])
    assert kept.ids == ["b"] and len(kept) == 1
    assert kept.records == [{"id": "b", "v": Decimal("0.10")}]
    assert kept.texts == [texts[1]]


def test_invalid_utf8_in_a_string_paging_skips_is_still_refused() -> None:
    body = b'{"results": [{"id": "a", "name": "caf\xe9"}], "totalResults": 1}'
    with pytest.raises(CodatDecodeError):
        decode_page(body, number=1, size=1)


def test_a_page_needs_its_records_or_its_ids() -> None:
    with pytest.raises(ValueError, match="records or its ids"):
        Page(1, 1, 0, None, False)
