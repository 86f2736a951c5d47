"""``list_models``: every sandbox record of every resource parses, and ``.raw`` is the record as sent."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_codat.hooks.commerce import CodatCommerceHook
from airflow_provider_codat.models import CodatModel, model_for
from airflow_provider_codat.resources import get_resource, listable_resources
from airflow_provider_codat.sandbox import CodatSandbox

from .conftest import RECORDS

LISTABLE = list(listable_resources())


@pytest.fixture
def hook(sandbox: CodatSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[CodatCommerceHook]:
    monkeypatch.setenv("AIRFLOW_CONN_CODAT_DEFAULT", sandbox.airflow_connection())
    h = CodatCommerceHook()
    yield h
    h.close()


def _decimals(value: Any) -> Iterator[Decimal]:
    if isinstance(value, Decimal):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _decimals(v)
    elif isinstance(value, list):
        for v in value:
            yield from _decimals(v)


@pytest.mark.parametrize("resource", LISTABLE, ids=lambda r: r.name)
def test_every_record_parses_and_keeps_its_raw(
    hook: CodatCommerceHook, sandbox: CodatSandbox, resource: Any
) -> None:
    model = model_for(resource.name)
    assert model.__name__ == resource.model
    for company, connection in sandbox.connections:  # each connection is another platform's quirks
        records = list(hook.list(resource.name, company, connection, page_size=11))
        models = list(hook.list_models(resource.name, company, connection, page_size=11))
        assert len(models) == len(records) == RECORDS
        for parsed, record in zip(models, records, strict=True):
            assert type(parsed) is model and isinstance(parsed, CodatModel)
            assert parsed.raw == record
            assert getattr(parsed, "id", record["id"]) == record["id"]
            assert model.from_raw(record) == parsed
            assert list(_decimals(parsed.raw)) == list(_decimals(record))  # exact numbers, never floats


def test_company_info_parses_and_keeps_its_raw(hook: CodatCommerceHook, sandbox: CodatSandbox) -> None:
    model = model_for("company_info")
    assert model.__name__ == get_resource("company_info").model
    for company, connection in sandbox.connections:
        record = hook.get_company_info(company, connection)
        parsed = model.from_raw(record)
        assert parsed.raw is record
        dumped = parsed.model_dump(by_alias=True, exclude_unset=True)
        assert dumped["companyName"] == record["companyName"]
        assert dumped["accountBalances"][0]["available"] == record["accountBalances"][0]["available"]


def test_list_models_yields_models_lazily(hook: CodatCommerceHook, sandbox: CodatSandbox) -> None:
    company, connection = sandbox.connections[0]
    stream = hook.list_models("orders", company, connection, page_size=5)
    first = next(stream)
    assert type(first) is model_for("orders") and first.raw["id"] == "ord_0"
    stream.close()
