"""The vectorised column builders give exactly what converting one value at a time gives.

No timings here: only that the fast path and the per-value path write identical parquet, on odd
values of every kind, on random ones, and on every example in Codat's Commerce spec.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_codat.client._decode import Page, decode_page
from airflow_provider_codat.models import CodatModel, model_for
from airflow_provider_codat.output._arrow import arrow_schema, compact_json, to_record_batch
from airflow_provider_codat.output._text import RecordText, read_texts
from airflow_provider_codat.resources import RESOURCES
from tests.models.test_spec_examples import examples_200

TRANSACTION = model_for("transactions")
SCHEMA = arrow_schema(TRANSACTION)

DATES: list[Any] = [
    "2026-01-01T12:00:00",
    "2026-01-01T12:00:00Z",
    "2026-01-01T12:00:00.1234567Z",
    "2026-01-01T12:00:00.123456789+05:30",
    "2026-01-01T12:00:00.1234567891234Z",
    "2026-01-01T12:00:00-05:30",
    "2026-01-01T12:00:00-00:00",
    "2026-01-01t12:00:00z",
    "2026-01-01 12:00:00",
    "2026-01-01",
    "2026-01-01T12:00",
    "2026-01-01T12:00:00+0530",
    "2026-01-01T12:00:00+05",
    "2026-01-01T12:00:00,5Z",
    "2026-01-01T12:00:00+00:99",
    "2026-01-01T12:00:00+23:59",
    "2026-01-01T12:00:00+24:00",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00.0000001",
    "0001-01-01T00:00:00.000001",
    "0001-01-01T01:00:00+05:00",
    "0001-01-01T05:00:00+05:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.9999999Z",
    "0000-01-01T00:00:00",
    "2026-02-30T00:00:00",
    "2024-02-29T00:00:00",
    "2026-01-01T24:00:00",
    "2026-01-01T23:59:60",
    " 2026-01-01T12:00:00Z ",
    "",
    "   ",
    "junk",
    "\uff12\uff10\uff12\uff16-01-01T00:00:00",
    "1969-12-31T23:59:59.999999Z",
    5,
    True,
    Decimal("1"),
    {"a": 1},
    [1],
]
AMOUNTS: list[Any] = [
    Decimal("1.5"),
    2,
    True,
    Decimal("NaN"),
    Decimal("-Infinity"),
    Decimal("1.1234567890125"),
    Decimal("1.1234567890135"),
    Decimal("1.500000000000000"),
    Decimal("1E+30"),
    Decimal("1E+2"),
    Decimal("-0.0"),
    Decimal("5E-7"),
    Decimal("99999999999999999999999999.999999999999"),
    Decimal("99999999999999999999999999.9999999999995"),
    Decimal("1E+26"),
    10**26,
    -(10**26) + 1,
    10**30,
    -(2**63),
    "1.5",
    " 2.50 ",
    "",
    "n/a",
    1.5,
    {"x": 1},
]
STRINGS: list[Any] = ["a", "é", "", "GB ", 5, 2**70, Decimal("5.10"), True, {"a": 1}, ["x"]]
JSONS: list[Any] = [{"a": Decimal("1.50")}, {"n": 2**70}, "s", 1, [Decimal("5E-7")], {}, True, Decimal("NaN")]
PLAIN = {
    "createdDate": "2026-01-01T12:00:00Z",
    "totalAmount": Decimal("1.5"),
    "id": "x",
    "transactionSourceRef": {"id": "p"},
}
ODD = {"createdDate": DATES, "totalAmount": AMOUNTS, "id": STRINGS, "transactionSourceRef": JSONS}


def parquet_bytes(batch: pa.RecordBatch) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_batches([batch]), sink, compression="zstd")
    return sink.getvalue()


def assert_same(
    records: list[dict[str, Any]], schema: pa.Schema = SCHEMA, texts: list[Any] | None = None
) -> None:
    """Column at a time, from the records' text (alone or in a page body), and one value at a time
    all give the same parquet."""
    slow = to_record_batch(records, schema, per_value=True)
    if texts is None:
        texts = [compact_json(record).encode() for record in records]
    body = b'{"results":[' + b",".join(texts) + b'],"totalResults":%d}' % len(texts)
    fasts = (
        to_record_batch(records, schema),
        to_record_batch(records, schema, texts=texts),
        to_record_batch(records, schema, body=body),
    )
    for fast in fasts:
        for name in schema.names:  # a readable failure first
            assert fast.column(name).to_pylist() == slow.column(name).to_pylist(), name
        assert fast.equals(slow, check_metadata=True)
        assert parquet_bytes(fast) == parquet_bytes(slow)


@pytest.mark.parametrize("column", sorted(ODD))
def test_each_odd_value_alone_among_plain_ones(column: str) -> None:
    for value in ODD[column]:
        assert_same([dict(PLAIN), {**PLAIN, column: value}, {column: None}, dict(PLAIN)])


def test_odd_values_of_every_column_mixed_in_one_batch() -> None:
    records = []
    for i in range(600):
        record: dict[str, Any] = {
            name: values[(i * (k + 3)) % len(values)] for k, (name, values) in enumerate(ODD.items())
        }
        if i % 5 == 0:
            record["unknownField"] = Decimal("1.0")
        if i % 7 == 0:
            del record["id"]
        records.append(record)
    assert_same(records)


def test_empty_and_all_null_batches() -> None:
    assert_same([])
    assert_same([{}, {"id": None, "createdDate": None}])


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
DATE_TEXT = st.from_regex(
    r"\A\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?\Z", fullmatch=True
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.text(max_size=6) | VALUES,
                "totalAmount": st.integers(0, 14).flatmap(
                    lambda places: st.decimals(places=places, allow_nan=False, allow_infinity=False)
                )
                | VALUES,
                "createdDate": DATE_TEXT | VALUES,
                "modifiedDate": DATE_TEXT,
                "transactionSourceRef": VALUES,
                "extra": VALUES,
            },
        ),
        max_size=12,
    )
)
def test_random_records(records: list[dict[str, Any]]) -> None:
    assert_same(records)


def spec_page(spec: dict[str, Any], operation_ids: list[str]) -> Page:
    """The records of some operations' examples as one page, decoded as the client decodes Codat's."""
    records = []
    for operation_id in operation_ids:
        for value in examples_200(spec, operation_id).values():
            records.extend(value["results"] if operation_id.startswith("list") else [value])
    body = json.dumps({"results": records, "totalResults": len(records)}, default=str)
    return decode_page(body.encode(), number=1, size=max(1, len(records)))


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_every_spec_example(commerce_spec: dict[str, Any], resource: Any) -> None:
    model: type[CodatModel] = model_for(resource.model)
    schema = arrow_schema(model)
    page = spec_page(commerce_spec, [op for op in (resource.list_operation, resource.get_operation) if op])
    assert page.records, f"{resource.name} has no examples"
    for record, text in zip(page.records, page.raw_texts, strict=True):
        assert_same([record], schema, [text])
    assert_same(page.records, schema, page.raw_texts)


class Unread(Sequence[dict[str, Any]]):
    """Records that fail the test if anything reads one: the text path must not need them."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: Any) -> Any:
        raise AssertionError("a record was read")


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_a_page_of_known_fields_is_built_from_its_text_alone(
    commerce_spec: dict[str, Any], resource: Any
) -> None:
    """With no field the model does not know, no record is decoded; the batch is the reference's."""
    schema = arrow_schema(model_for(resource.model))
    page = spec_page(commerce_spec, [op for op in (resource.list_operation, resource.get_operation) if op])
    records = [{k: v for k, v in r.items() if k in schema.names} for r in page.records] * 3
    texts = [compact_json(record).encode() for record in records]
    plan = [(f.name, f.metadata[b"codat.kind"].decode()) for f in schema if f.name != "_extra"]
    if (
        read_texts(RecordText(texts), plan, len(texts)) is None
    ):  # a value the JSON reader refuses: the records are needed
        assert resource.name not in {"transactions", "orders", "products", "tax_components"}
        return
    body = b'{"results":[' + b",".join(texts) + b'],"totalResults":0,"_links":{}}'
    slow = to_record_batch(records, schema, per_value=True)
    for fast in (
        to_record_batch(Unread(len(records)), schema, texts=texts),
        to_record_batch(Unread(len(records)), schema, body=body),
    ):
        assert fast.equals(slow, check_metadata=True)


NESTED_TEXTS = [
    '{"id":"p","type":"Payment"}',
    '{ "id" : "p" ,\n "type":"Payment"}',
    '{"id":"p","id":"q"}',
    '{"s":"q\\"uote","e":"caf\\u00e9 \u00e9","slash":"a\\/b"}',
    "[1E+2,5e-7,-0,0.0000001,0.000001,-0.0,0.10,0.0000000,0.000000,100]",
    "null",
    '"plain"',
    "12",
    '{"n":123456789012345678901234567890,"m":-1234567890123456789012345678.9}',
    '{"lines":[{"k":1,"v":[true,false,null]},{"k":2,"v":[]}],"empty":{}}',
]


@pytest.mark.parametrize("nested", NESTED_TEXTS)
def test_nested_values_read_from_their_text(nested: str) -> None:
    """A nested value's text is kept only where it is what the writer would write; else rewritten."""
    texts = [f'{{"id":"{i}","transactionSourceRef":{nested}}}'.encode() for i in range(3)]
    texts.append(b'{"id":"x","transactionSourceRef":{"id":"p"}}')
    records = [json.loads(text, parse_float=Decimal) for text in texts]
    assert_same(records, texts=texts)
