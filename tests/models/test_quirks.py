"""The data quirks of API-NOTES.md, one by one, plus raw access, names and import hygiene."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from pydantic import ValidationError

from airflow_provider_codat import models as m
from airflow_provider_codat.models import CodatModel, model_for, parse_codat_datetime
from airflow_provider_codat.resources import RESOURCES

# --- dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00.000",
        "0001-01-01T00:00:00.0000000Z",
        "0001-01-01T00:00:00+00:00",
        "0001-01-01",
        "",
        "  ",
        None,
    ],
)
def test_sentinel_and_empty_dates_become_none(value: str | None) -> None:
    order = m.Order.model_validate({"closedDate": value})
    assert order.closed_date is None
    assert "closed_date" in order.model_fields_set


def test_naive_date_stays_naive() -> None:
    order = m.Order.model_validate({"createdDate": "2021-03-19T13:18:33"})
    assert order.created_date == datetime(2021, 3, 19, 13, 18, 33)
    assert order.created_date.tzinfo is None
    assert order.model_dump(mode="json", by_alias=True)["createdDate"] == "2021-03-19T13:18:33"


@pytest.mark.parametrize(
    ("value", "offset"),
    [
        ("2022-12-09T02:27:46Z", timedelta(0)),
        ("2021-11-15T01:00:00-05:00", timedelta(hours=-5)),
        ("2021-11-15T01:00:00+05:30", timedelta(hours=5, minutes=30)),
        ("2021-11-15T01:00:00.123+0100", timedelta(hours=1)),
    ],
)
def test_offsets_are_kept(value: str, offset: timedelta) -> None:
    parsed = m.Order.model_validate({"createdDate": value}).created_date
    assert parsed is not None and parsed.utcoffset() == offset
    assert parsed.replace(tzinfo=None, microsecond=0) == datetime.fromisoformat(value[:19])  # wall clock kept


def test_seven_fractional_digits_truncate_to_microseconds() -> None:
    parsed = m.Connection.model_validate({"lastSync": "2022-10-27T10:22:43.6464237Z"}).last_sync
    assert parsed == datetime(2022, 10, 27, 10, 22, 43, 646423, tzinfo=UTC)


def test_short_fraction_and_date_only() -> None:
    assert parse_codat_datetime("2022-12-09T02:27:46.273Z").microsecond == 273000
    assert parse_codat_datetime("2022-10-23") == datetime(2022, 10, 23)
    assert parse_codat_datetime(datetime(2020, 1, 1, 9)) == datetime(2020, 1, 1, 9)
    assert parse_codat_datetime(datetime(1, 1, 1)) is None


def test_one_record_mixes_date_forms() -> None:
    customer = m.Customer.model_validate(
        {
            "createdDate": "2021-01-07T16:17:34",
            "modifiedDate": "2023-04-11T10:33:49Z",
            "sourceModifiedDate": "0001-01-01T00:00:00",
        }
    )
    assert customer.created_date is not None and customer.created_date.tzinfo is None
    assert customer.modified_date is not None and customer.modified_date.tzinfo is UTC
    assert customer.source_modified_date is None


@pytest.mark.parametrize("value", ["yesterday", "2022-13-01", "2022-10-23T25:00:00"])
def test_garbage_dates_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        m.Order.model_validate({"createdDate": value})


# --- amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [5e-7, "5e-7", "5E-7", Decimal("5e-7")])
def test_exponent_notation_is_exact(value: Any) -> None:
    rate = m.TaxComponent.model_validate({"rate": value}).rate
    assert isinstance(rate, Decimal)
    assert rate == Decimal("0.0000005")


def test_negative_amount_is_exact_not_binary_float() -> None:
    amount = m.Transaction.model_validate({"totalAmount": -283.56}).total_amount
    assert amount == Decimal("-283.56")
    assert amount != Decimal(float("-283.56"))  # the binary value of the float must not leak in
    assert str(amount) == "-283.56"


def test_whole_numbers_and_strings_are_decimals() -> None:
    payment = m.Payment.model_validate({"amount": 175})
    assert payment.amount == Decimal(175) and isinstance(payment.amount, Decimal)
    assert m.Payment.model_validate({"amount": "19.99"}).amount == Decimal("19.99")
    assert m.Payment.model_validate({"amount": ""}).amount is None


def test_boolean_is_not_an_amount() -> None:
    with pytest.raises(ValidationError):
        m.Payment.model_validate({"amount": True})


def test_from_json_keeps_digits_a_float_would_lose() -> None:
    text = '{"id": "t1", "totalAmount": 0.1000000000000000055511151231257827, "type": "Payout"}'
    transaction = m.Transaction.from_json(text)
    assert transaction.total_amount == Decimal("0.1000000000000000055511151231257827")
    assert transaction.raw["totalAmount"] == Decimal("0.1000000000000000055511151231257827")


def test_from_json_wants_an_object() -> None:
    with pytest.raises(ValueError, match="expected a JSON object"):
        m.Transaction.from_json("[1, 2]")


# --- enums and strings ---------------------------------------------------------------------------


def test_known_enum_value_becomes_member() -> None:
    transaction = m.Transaction.model_validate({"type": "Payout"})
    assert transaction.type is m.TransactionType.PAYOUT


@pytest.mark.parametrize(
    ("model", "field", "alias", "value"),
    [
        (m.Transaction, "type", "type", "Chargeback"),
        (m.Address, "type", "type", "billing"),
        (m.Dispute, "status", "status", "NeedsResponse"),
        (m.PullOperation, "status", "status", "Paused"),
        (m.DataStatus, "data_type", "dataType", "string"),
    ],
)
def test_unknown_enum_value_is_kept(model: type[CodatModel], field: str, alias: str, value: str) -> None:
    record = model.model_validate({alias: value})
    kept = getattr(record, field)
    assert kept == value and type(kept) is str and not isinstance(kept, Enum)
    assert record.model_dump(mode="json", by_alias=True)[alias] == value


def test_lowercase_currency_and_padded_country_are_kept() -> None:
    customer = m.Customer.model_validate(
        {"defaultCurrency": "gbp", "addresses": [{"type": "billing", "country": "GB ", "line2": ""}]}
    )
    assert customer.default_currency == "gbp"
    assert customer.addresses is not None
    (address,) = customer.addresses
    assert address.country == "GB "
    assert address.line2 == ""
    assert address.type == "billing"
    assert m.Order.model_validate({"country": "US "}).country == "US "


def test_numeric_ids_become_strings() -> None:
    assert m.CompanyInfo.model_validate({"registrationNumber": 10480375}).registration_number == "10480375"


# --- extra fields, names and aliases --------------------------------------------------------------


def test_extra_fields_are_kept_and_dumped() -> None:
    data = {
        "id": "p1",
        "type": "Card",
        "status": "Paid",
        "paymentMethodRef": {"id": "pm", "vendor": "Visa"},
    }
    payment = m.Payment.model_validate(data)
    assert payment.model_extra == {"type": "Card"}
    assert payment.payment_method_ref is not None
    assert payment.payment_method_ref.model_extra == {"vendor": "Visa"}
    assert payment.model_dump(by_alias=True, exclude_unset=True, mode="json") == data


def test_product_extras_from_real_data() -> None:
    product = m.Product.model_validate(
        {"id": "1", "status": "Published", "productCategoryRefs": [{"id": "7"}], "modifiedDate": "2023-01-01"}
    )
    assert product.model_extra == {"status": "Published", "productCategoryRefs": [{"id": "7"}]}
    assert product.modified_date == datetime(2023, 1, 1)


def test_snake_case_names_and_spec_aliases() -> None:
    by_name = m.Customer(customer_name="Fred", email_address="f@example.com")
    by_alias = m.Customer.model_validate({"customerName": "Fred", "emailAddress": "f@example.com"})
    assert by_name == by_alias
    assert by_name.model_dump(by_alias=True, exclude_unset=True) == {
        "customerName": "Fred",
        "emailAddress": "f@example.com",
    }
    page = m.Page[m.Customer].model_validate({"results": [], "_links": {"self": {"href": "/x"}}})
    assert page.links is not None and page.links.self_ is not None and page.links.self_.href == "/x"
    assert page.model_dump(by_alias=True, exclude_unset=True) == {
        "results": [],
        "_links": {"self": {"href": "/x"}},
    }


def test_every_field_is_optional() -> None:
    for model in (m.Order, m.Customer, m.Product, m.Transaction, m.Company, m.Connection, m.PullOperation):
        record = model.model_validate({})
        assert all(value is None for value in record.model_dump().values()), model.__name__


# --- raw ------------------------------------------------------------------------------------------


def test_from_raw_keeps_the_input_by_reference() -> None:
    data: dict[str, Any] = {"id": "o1", "closedDate": "0001-01-01T00:00:00", "orderLineItems": [{"id": "l1"}]}
    order = m.Order.from_raw(data)
    assert order.raw is data
    assert order.closed_date is None and order.raw["closedDate"] == "0001-01-01T00:00:00"
    assert order.order_line_items is not None
    assert order.order_line_items[0].raw is data["orderLineItems"][0]


def test_model_validate_also_keeps_the_input() -> None:
    data = {"id": "c1"}
    assert m.Customer.model_validate(data).raw is data


def test_raw_falls_back_to_alias_dump() -> None:
    built = m.Customer(id="c1", customer_name="Fred")
    assert built.raw == {**built.model_dump(by_alias=True, mode="json"), "customerName": "Fred"}
    constructed = m.Customer.model_construct(id="c2")
    assert constructed.raw["id"] == "c2"
    assert m.Customer.model_validate_json('{"id": "c3"}').raw["id"] == "c3"


def test_equality_ignores_raw() -> None:
    first = m.Order.from_raw({"id": "o1", "closedDate": "0001-01-01T00:00:00"})
    again = m.Order.model_validate(first.model_dump(by_alias=True, exclude_unset=True))
    assert first == again
    assert first != m.Order.from_raw({"id": "o2"})


# --- model_for and import hygiene -----------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
def test_model_for_every_registry_row(resource: Any) -> None:
    for key in (resource.model, resource.name, resource.data_type):
        model = model_for(key)
        assert issubclass(model, CodatModel) and model.__name__ == resource.model


def test_model_for_platform_names_and_unknown() -> None:
    assert model_for("Connection") is m.Connection
    with pytest.raises(ValueError, match="no Codat model or resource named 'Invoice'"):
        model_for("Invoice")


def test_public_names_are_exported() -> None:
    assert set(m.__all__) <= set(dir(m))
    assert "model_for" in m.__all__ and "Order" in m.__all__ and "Page" in m.__all__


def test_import_loads_neither_airflow_nor_httpx() -> None:
    code = (
        "import sys, airflow_provider_codat.models\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('airflow', 'httpx')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
