"""Codat's published specs against our models: every property is there, every example parses losslessly."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, get_args, get_origin

import pytest

from airflow_provider_codat import models as m
from airflow_provider_codat.models import CodatModel, Page, model_for
from airflow_provider_codat.resources import RESOURCES, Resource

Spec = dict[str, Any]
_DATETIME_REF = "#/components/schemas/DateTime"

# Top-level schemas of each spec and the model that stands for them. Nested definitions are reached
# from these by walking spec and model side by side.
COMMERCE_SCHEMAS: dict[str, type[CodatModel]] = {
    "Address": m.Address,
    "CompanyInfo": m.CompanyInfo,
    "Customer": m.Customer,
    "Customers": Page[m.Customer],
    "Dispute": m.Dispute,
    "Disputes": Page[m.Dispute],
    "ErrorMessage": m.ErrorMessage,
    "Location": m.Location,
    "Locations": Page[m.Location],
    "Order": m.Order,
    "Orders": Page[m.Order],
    "Payment": m.Payment,
    "Payments": Page[m.Payment],
    "PaymentMethod": m.PaymentMethod,
    "PaymentMethods": Page[m.PaymentMethod],
    "PaymentMethodRef": m.PaymentMethodRef,
    "PhoneNumber": m.PhoneNumber,
    "Product": m.Product,
    "Products": Page[m.Product],
    "ProductCategory": m.ProductCategory,
    "ProductCategories": Page[m.ProductCategory],
    "RecordRef": m.RecordRef,
    "SupplementalData": m.SupplementalData,
    "TaxComponent": m.TaxComponent,
    "TaxComponents": Page[m.TaxComponent],
    "Transaction": m.Transaction,
    "Transactions": Page[m.Transaction],
}
# Mixins and scalars: their properties are checked through every record that includes them.
COMMERCE_MIXINS = {"CreatedDate", "DateTime", "ModifiedDates", "PagingInfo"}

PLATFORM_SCHEMAS: dict[str, type[CodatModel]] = {
    "Companies": m.Companies,
    "Company": m.Company,
    "Connection": m.Connection,
    "Connections": m.Connections,
    "DataStatus": m.DataStatus,
    "ErrorMessage": m.ErrorMessage,
    "PullOperation": m.PullOperation,
    "PullOperations": m.PullOperations,
}

# Fields typed on purpose although the spec's schema lacks them (see the models' docstrings).
ADDITIONS: dict[type[CodatModel], set[str]] = {
    m.Product: {"createdDate", "modifiedDate", "sourceModifiedDate"},
    m.TaxComponentAllocation: {"taxAmount"},
}

PLATFORM_OPERATIONS: dict[str, type[CodatModel]] = {
    "list-companies": m.Companies,
    "create-company": m.Company,
    "get-company": m.Company,
    "list-connections": m.Connections,
    "create-connection": m.Connection,
    "get-connection": m.Connection,
    "list-pull-operations": m.PullOperations,
}


# --- reading the spec ---------------------------------------------------------------------------


def resolve(spec: Spec, ref: str) -> Any:
    """Follow a local JSON pointer such as ``#/components/schemas/Order/allOf/0``."""
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        key = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def flatten(spec: Spec, node: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Merge ``$ref`` and ``allOf`` into one schema; also return every ``$ref`` passed through."""
    merged: dict[str, Any] = {}
    refs: set[str] = set()
    if "$ref" in node:
        refs.add(node["$ref"])
        target, target_refs = flatten(spec, resolve(spec, node["$ref"]))
        refs |= target_refs
        _merge(merged, target)
    for part in node.get("allOf", []):
        sub, sub_refs = flatten(spec, part)
        refs |= sub_refs
        _merge(merged, sub)
    _merge(merged, {k: v for k, v in node.items() if k not in ("$ref", "allOf")})
    return merged, refs


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if key == "properties":
            into.setdefault("properties", {}).update(value)
        else:
            into[key] = value


def operation(spec: Spec, operation_id: str) -> dict[str, Any]:
    """Return the operation object whose ``operationId`` is ``operation_id``."""
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise AssertionError(f"operation {operation_id} not in spec")


def examples_200(spec: Spec, operation_id: str) -> dict[str, Any]:
    """Return the named ``application/json`` examples of an operation's 200 response."""
    media = operation(spec, operation_id)["responses"]["200"]["content"]["application/json"]
    return {name: ex["value"] for name, ex in media.get("examples", {}).items()}


def component_examples(spec: Spec, name: str) -> Iterator[Any]:
    """Yield the records of a schema's own ``example``/``examples``, unwrapping ``{"customers": [...]}``."""
    schema = spec["components"]["schemas"][name]
    props = flatten(spec, schema)[0].get("properties", {})
    found = list(schema.get("examples", [])) + ([schema["example"]] if "example" in schema else [])
    for example in found:
        if isinstance(example, dict) and len(example) == 1 and not set(example) & set(props):
            (wrapped,) = example.values()
            if isinstance(wrapped, list):
                yield from wrapped
                continue
        yield example


# --- walking spec and model together ---------------------------------------------------------------


def leaves(annotation: Any) -> set[Any]:
    """Every type inside an annotation, through unions, ``list``, ``dict`` and ``Annotated``."""
    if get_origin(annotation) is Annotated:
        return leaves(get_args(annotation)[0])
    args = get_args(annotation)
    if not args:
        return {annotation}
    return set().union(*(leaves(arg) for arg in args)) | {get_origin(annotation)}


def nested_model(annotation: Any) -> type[CodatModel]:
    (model,) = [t for t in leaves(annotation) if isinstance(t, type) and issubclass(t, CodatModel)]
    return model


def aliases(model: type[CodatModel]) -> dict[str, str]:
    """Map each field's spec name (alias) to its attribute name."""
    return {(field.alias or name): name for name, field in model.model_fields.items()}


def check_schema(
    spec: Spec, schema: Mapping[str, Any], model: type[CodatModel], where: str, seen: set[str]
) -> list[str]:
    """Compare one (flattened) schema with one model; return the problems found, recursing."""
    merged, refs = flatten(spec, schema)
    seen |= refs
    props: dict[str, Any] = merged.get("properties", {})
    known = aliases(model)
    problems = [f"{where}.{p}: missing on {model.__name__}" for p in props if p not in known]
    if not issubclass(model, Page):
        extra = set(known) - set(props) - ADDITIONS.get(model, set())
        problems += [f"{where}: {model.__name__} has {a!r}, which the spec lacks" for a in sorted(extra)]
    for prop, sub in props.items():
        if prop in known:
            annotation = model.model_fields[known[prop]].annotation
            problems += check_property(spec, sub, annotation, f"{where}.{prop}", seen)
    return problems


def check_property(
    spec: Spec, schema: Mapping[str, Any], annotation: Any, where: str, seen: set[str]
) -> list[str]:
    merged, refs = flatten(spec, schema)
    seen |= refs
    types = leaves(annotation)
    if _DATETIME_REF in refs:
        return [] if datetime in types else [f"{where}: DateTime but typed {annotation}"]
    if merged.get("format") == "decimal":
        return [] if Decimal in types else [f"{where}: decimal but typed {annotation}"]
    if "enum" in merged:
        enums = [t for t in types if isinstance(t, type) and issubclass(t, Enum)]
        if len(enums) != 1 or {e.value for e in enums[0]} != set(merged["enum"]) or str not in types:
            return [f"{where}: enum {merged['enum']} but typed {annotation}"]
        return []
    if merged.get("type") == "array":
        schema = merged["items"]
        merged, item_refs = flatten(spec, schema)
        seen |= item_refs
    if merged.get("properties"):
        return check_schema(spec, schema, nested_model(annotation), where, seen)
    return []


def spec_definitions(spec: Spec) -> set[str]:
    """Pointers of every object definition nested in a schema (``Order/definitions/serviceCharge``)."""
    found = set()
    for name, schema in spec["components"]["schemas"].items():
        for key, definition in schema.get("definitions", {}).items():
            if flatten(spec, definition)[0].get("properties"):
                found.add(f"#/components/schemas/{name}/definitions/{key}")
    return found


# --- every property of the spec is present ------------------------------------------------------


def test_every_commerce_schema_has_a_model(commerce_spec: Spec) -> None:
    assert set(commerce_spec["components"]["schemas"]) == set(COMMERCE_SCHEMAS) | COMMERCE_MIXINS


@pytest.mark.parametrize("name", sorted(COMMERCE_SCHEMAS))
def test_commerce_schema_properties_are_model_aliases(commerce_spec: Spec, name: str) -> None:
    schema = commerce_spec["components"]["schemas"][name]
    assert check_schema(commerce_spec, schema, COMMERCE_SCHEMAS[name], name, set()) == []


@pytest.mark.parametrize("name", sorted(PLATFORM_SCHEMAS))
def test_platform_schema_properties_are_model_aliases(platform_spec: Spec, name: str) -> None:
    schema = platform_spec["components"]["schemas"][name]
    assert check_schema(platform_spec, schema, PLATFORM_SCHEMAS[name], name, set()) == []


def test_every_nested_commerce_definition_is_reached(commerce_spec: Spec) -> None:
    seen: set[str] = set()
    for name, model in COMMERCE_SCHEMAS.items():
        check_schema(commerce_spec, commerce_spec["components"]["schemas"][name], model, name, seen)
    assert spec_definitions(commerce_spec) - seen == set()


def test_data_statuses_keys_are_the_data_types(platform_spec: Spec) -> None:
    keys = set(platform_spec["components"]["schemas"]["DataStatuses"]["properties"])
    assert keys == {d.value for d in m.DataType}


# --- every example parses, losslessly -------------------------------------------------------------


def assert_lossless(model: CodatModel, data: Mapping[str, Any], where: str) -> None:
    """The model keeps ``data`` by reference, keeps its unknown keys, and dumps back every key."""
    assert model.raw is data, where
    assert_extras_kept(model, data, where)
    assert_same_keys(model.model_dump(by_alias=True, exclude_unset=True), data, where)


def assert_extras_kept(model: CodatModel, data: Mapping[str, Any], where: str) -> None:
    known = aliases(type(model))
    extra = model.model_extra or {}
    for key, value in data.items():
        if key not in known:
            assert key in extra and extra[key] == value, f"{where}.{key}: unknown field lost"
            continue
        attr = getattr(model, known[key])
        if isinstance(attr, CodatModel):
            assert attr.raw is value, f"{where}.{key}: nested raw is not the input"
            assert_extras_kept(attr, value, f"{where}.{key}")
        elif isinstance(attr, list):
            for i, (item, item_data) in enumerate(zip(attr, value, strict=True)):
                if isinstance(item, CodatModel):
                    assert_extras_kept(item, item_data, f"{where}.{key}[{i}]")


def assert_same_keys(dumped: Any, data: Any, where: str) -> None:
    if isinstance(data, Mapping):
        assert isinstance(dumped, Mapping), where
        assert set(dumped) == set(data), f"{where}: keys differ"
        for key in data:
            assert_same_keys(dumped[key], data[key], f"{where}.{key}")
    elif isinstance(data, list):
        assert isinstance(dumped, list) and len(dumped) == len(data), where
        for i, (d, x) in enumerate(zip(dumped, data, strict=True)):
            assert_same_keys(d, x, f"{where}[{i}]")


def _operations() -> Iterator[Any]:
    for resource in RESOURCES:
        if resource.list_operation:
            yield pytest.param(resource, resource.list_operation, id=resource.list_operation)
        yield pytest.param(resource, resource.get_operation, id=resource.get_operation)


def test_registry_covers_every_commerce_operation_with_examples(commerce_spec: Spec) -> None:
    with_examples = {
        op["operationId"]
        for item in commerce_spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "200" in op.get("responses", {})
    }
    registry = {r.list_operation for r in RESOURCES if r.list_operation} | {
        r.get_operation for r in RESOURCES
    }
    assert with_examples == registry


@pytest.mark.parametrize(("resource", "operation_id"), list(_operations()))
def test_commerce_examples_parse_losslessly(
    commerce_spec: Spec, resource: Resource, operation_id: str
) -> None:
    model = model_for(resource.model)
    examples = examples_200(commerce_spec, operation_id)
    assert examples, f"{operation_id} has no examples"
    for name, value in examples.items():
        where = f"{operation_id}[{name}]"
        if operation_id == resource.list_operation:
            page = Page[model].from_raw(value)  # type: ignore[valid-type]
            assert_lossless(page, value, where)
            assert len(page.results) == len(value["results"]) > 0
            records = list(zip(page.results, value["results"], strict=True))
        else:
            records = [(model.from_raw(value), value)]
        for i, (record, data) in enumerate(records):
            assert isinstance(record, model)
            assert_lossless(model.from_raw(data), data, f"{where}[{i}]")


@pytest.mark.parametrize("name", sorted(n for n in COMMERCE_SCHEMAS if not n.endswith("s")))
def test_commerce_schema_examples_parse_losslessly(commerce_spec: Spec, name: str) -> None:
    model = COMMERCE_SCHEMAS[name]
    for i, record in enumerate(component_examples(commerce_spec, name)):
        assert_lossless(model.from_raw(record), record, f"{name}.examples[{i}]")


@pytest.mark.parametrize("operation_id", sorted(PLATFORM_OPERATIONS))
def test_platform_examples_parse_losslessly(platform_spec: Spec, operation_id: str) -> None:
    model = PLATFORM_OPERATIONS[operation_id]
    examples = examples_200(platform_spec, operation_id)
    assert examples, f"{operation_id} has no examples"
    for name, value in examples.items():
        assert_lossless(model.from_raw(value), value, f"{operation_id}[{name}]")


@pytest.mark.parametrize("name", ["Company", "Connection", "DataStatus", "PullOperation"])
def test_platform_schema_examples_parse_losslessly(platform_spec: Spec, name: str) -> None:
    records = list(component_examples(platform_spec, name))
    assert records
    for i, record in enumerate(records):
        assert_lossless(PLATFORM_SCHEMAS[name].from_raw(record), record, f"{name}.examples[{i}]")


def test_data_status_example_parses(platform_spec: Spec) -> None:
    (value,) = examples_200(platform_spec, "get-company-data-status").values()
    statuses = m.DataStatuses.model_validate(value)
    assert set(statuses.root) == set(value)
    orders = statuses.get("commerce-orders")
    assert orders is not None and orders.current_status is m.PullOperationStatus.COMPLETE
    for key, status in value.items():
        assert_lossless(m.DataStatus.from_raw(status), status, f"dataStatus.{key}")


def _error_examples(spec: Spec) -> Iterator[tuple[str, Any]]:
    responses = [(f"components.{k}", r) for k, r in spec["components"].get("responses", {}).items()]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict):
                responses += [(f"{method} {path} {code}", r) for code, r in op.get("responses", {}).items()]
    for where, response in responses:
        media = response.get("content", {}).get("application/json", {})
        if media.get("schema", {}).get("$ref", "").endswith("/ErrorMessage"):
            for name, example in media.get("examples", {}).items():
                yield f"{where}[{name}]", example["value"]


@pytest.mark.parametrize("spec_fixture", ["commerce_spec", "platform_spec"])
def test_error_examples_parse_losslessly(request: pytest.FixtureRequest, spec_fixture: str) -> None:
    found = list(_error_examples(request.getfixturevalue(spec_fixture)))
    assert found
    for where, value in found:
        error = m.ErrorMessage.from_raw(value)
        assert_lossless(error, value, where)
        assert isinstance(error.status_code, int) and error.error


def test_undocumented_example_fields_land_in_model_extra(commerce_spec: Spec) -> None:
    extras: set[tuple[str, str]] = set()
    for resource in RESOURCES:
        model = model_for(resource.model)
        for value in examples_200(commerce_spec, resource.get_operation).values():
            record = model.from_raw(value)
            extras |= {(model.__name__, key) for key in record.model_extra or {}}
            for variant in getattr(record, "variants", None) or []:
                extras |= {("ProductVariant", key) for key in variant.model_extra or {}}
    expected = {
        ("Payment", "type"),
        ("Product", "status"),
        ("Product", "productCategoryRefs"),
        ("ProductVariant", "quantity"),
    }
    assert expected <= extras
