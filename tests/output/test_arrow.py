"""The Arrow mapping: a schema from the model alone, exact values, UTC dates, JSON for nested data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from pydantic import Field

from airflow_provider_codat.models import CodatDateTime, CodatDecimal, CodatModel, model_for
from airflow_provider_codat.output._arrow import EXTRA_COLUMN, arrow_schema, compact_json, to_record_batch
from airflow_provider_codat.resources import listable_resources
from tests.output.conftest import QUIRK_RECORD_TEXTS, exact, page_of

ORDER = model_for("orders")


def rows(texts: list[str], model: type[CodatModel] = ORDER) -> list[dict[str, Any]]:
    schema = arrow_schema(model)
    batch = to_record_batch(page_of(texts).records, schema)
    assert batch.schema.equals(schema, check_metadata=True)
    return list(batch.to_pylist())


def test_columns_are_the_model_fields_by_alias_then_extra() -> None:
    schema = arrow_schema(ORDER)
    aliases = [info.alias for info in ORDER.model_fields.values()]
    assert schema.names == [*aliases, EXTRA_COLUMN]
    assert schema.field("id").type == pa.string()
    assert schema.field("currency").type == pa.string()
    assert schema.field("totalAmount").type == pa.decimal128(38, 12)
    assert schema.field("modifiedDate").type == pa.timestamp("us", tz="UTC")
    for nested in ("orderLineItems", "payments", "customerRef", "supplementalData"):
        assert schema.field(nested).type == pa.string()
        assert schema.field(nested).metadata == {b"codat.kind": b"json"}
    assert schema.metadata == {b"codat.model": b"Order"}


def test_bools_open_enums_and_maps() -> None:
    product = arrow_schema(model_for("products"))
    assert product.field("isGiftCard").type == pa.bool_()
    assert product.field("variants").metadata == {b"codat.kind": b"json"}
    methods = arrow_schema(model_for("payment_methods"))
    assert methods.field("status").type == pa.string()
    assert arrow_schema(model_for("CompanyInfo")).field("sourceUrls").metadata == {b"codat.kind": b"json"}


def test_ints_and_unrecognised_annotations() -> None:
    class Odd(CodatModel):
        count: int | None = Field(default=None, alias="count")
        mixed: int | str | None = Field(default=None, alias="mixed")
        anything: Any = Field(default=None, alias="anything")
        when: CodatDateTime = Field(default=None, alias="when")
        amount: CodatDecimal = Field(default=None, alias="amount")

    schema = arrow_schema(Odd)
    assert [schema.field(n).type for n in ("count", "mixed", "anything")] == [
        pa.int64(),
        pa.string(),
        pa.string(),
    ]
    assert schema.field("mixed").metadata == {b"codat.kind": b"json"}
    got = rows(['{"count": 3, "mixed": 1, "anything": {"a": 1.50}}', '{"count": 2.0}', '{"count": 2.5}'], Odd)
    assert [r["count"] for r in got] == [3, 2, None]
    assert got[0]["mixed"] == "1" and got[0]["anything"] == '{"a":1.50}'
    assert got[2][EXTRA_COLUMN] == '{"count":2.5}'


@pytest.mark.parametrize("resource", [r.name for r in listable_resources()])
def test_schema_is_derived_once_from_the_model(resource: str) -> None:
    model = model_for(resource)
    assert arrow_schema(model).equals(arrow_schema(model), check_metadata=True)
    empty = to_record_batch([], arrow_schema(model))
    assert empty.num_rows == 0 and empty.schema.equals(arrow_schema(model), check_metadata=True)


def test_amounts_are_exact_decimals() -> None:
    full, bare, odd = rows(QUIRK_RECORD_TEXTS)
    assert full["totalAmount"] == Decimal("-283.56")
    assert full["totalGratuity"] == Decimal("5E-7")
    assert full["totalRefund"] == Decimal("-283.56")
    assert full["totalTaxAmount"] == Decimal("100")
    assert bare["totalAmount"] is None
    # More than 12 decimal places: rounded half-even to 12.
    assert odd["totalDiscount"] == Decimal("1.000000000002")
    assert odd["totalGratuity"] == Decimal("1.000000000000")


def test_dates_are_utc() -> None:
    full, _, odd = rows(QUIRK_RECORD_TEXTS)
    assert full["createdDate"] == datetime(2024, 3, 1, 4, 30, tzinfo=UTC)  # +05:30 converted
    assert full["modifiedDate"] == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # Z
    assert full["closedDate"] == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # naive: taken as UTC
    assert full["sourceModifiedDate"] is None  # the 0001-01-01 sentinel
    assert odd["closedDate"] is None


def test_nested_values_are_compact_json_with_exact_numbers() -> None:
    full = rows(QUIRK_RECORD_TEXTS)[0]
    source = exact(QUIRK_RECORD_TEXTS[0])
    assert full["orderLineItems"] == (
        '[{"id":"li 1","quantity":2,"unitPrice":19.990,'
        '"taxes":[{"taxComponentRef":{"id":"tax:20","name":"VAT"},"rate":0.2}]}]'
    )
    assert exact(full["orderLineItems"]) == source["orderLineItems"]
    assert exact(full["payments"]) == [
        {"id": "pay 1", "amount": Decimal("-283.56"), "status": "paid", "type": "card"}
    ]
    assert json.loads(full["customerRef"]) == {"id": "cus 1", "name": 'Ada é "Lovelace"'}


def test_strings_ids_and_enums_are_kept_as_sent() -> None:
    full, bare, odd = rows(QUIRK_RECORD_TEXTS)
    assert full["id"] == "ord:1 Stripe processing fees"
    assert bare["id"] == "ord 2"
    assert odd["id"] == "12345"  # a numeric id, coerced to a string as the models do
    assert full["currency"] == "gbp"
    assert odd["country"] == "GB " and odd["orderNumber"] == ""
    methods = rows(
        ['{"id": "pm 1", "status": "billing"}', '{"id": "pm 2", "status": "Active"}'],
        model_for("payment_methods"),
    )
    assert [m["status"] for m in methods] == ["billing", "Active"]


def test_unknown_fields_and_misfits_go_to_extra() -> None:
    full, bare, odd = rows(QUIRK_RECORD_TEXTS)
    assert full[EXTRA_COLUMN] == '{"channel":"web"}'
    assert bare[EXTRA_COLUMN] is None
    assert exact(odd[EXTRA_COLUMN]) == {
        "totalAmount": "n/a",
        "closedDate": "yesterday",
        "extraList": [1, Decimal("2.50")],
    }
    assert odd["totalAmount"] is None
    product = rows(['{"id": "p", "isGiftCard": "no", "variants": []}'], model_for("products"))[0]
    assert product["isGiftCard"] is None and product[EXTRA_COLUMN] == '{"isGiftCard":"no"}'
    assert product["variants"] == "[]"


def test_amounts_too_large_for_the_column_go_to_extra() -> None:
    big = "1" + "0" * 26
    got = rows(
        [f'{{"id": "x", "totalAmount": {big}, "totalRefund": 99999999999999999999999999.9999999999999}}']
    )[0]
    assert got["totalAmount"] is None
    assert got["totalRefund"] is None  # rounds up to 10**26
    edge = rows(['{"id": "x", "totalAmount": 99999999999999999999999999.999999999999}'])[0]
    assert edge["totalAmount"] == Decimal("99999999999999999999999999.999999999999")
    assert (
        got[EXTRA_COLUMN] == f'{{"totalAmount":{big},"totalRefund":99999999999999999999999999.9999999999999}}'
    )


def test_compact_json() -> None:
    assert compact_json({"a": [Decimal("5E-7"), Decimal("-283.560"), 1, True, None, "é"]}) == (
        '{"a":[5E-7,-283.560,1,true,null,"é"]}'
    )
    assert compact_json({"n": 2**70, "d": Decimal("0.10")}) == '{"n":1180591620717411303424,"d":0.10}'
