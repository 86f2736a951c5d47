"""Arrow schema of a Codat model, and record batches of raw records built against it.

The schema comes from the model alone, never from data, so every file of a resource has the same
columns in the same order, whichever fields its records happen to carry:

* one column per top-level model field, named by its Codat alias, in the model's field order;
* ``str`` and open-enum fields become ``string`` (an unknown or lowercase enum value is kept as sent);
* ``bool`` becomes ``bool`` and ``int`` becomes ``int64``;
* :data:`~airflow_provider_codat.models.CodatDecimal` becomes ``decimal128(38, 12)``: every amount is
  quantized to 12 decimal places, and the rare value with more than 12 (Codat sends 2 to 4) is
  rounded half-even to 12;
* :data:`~airflow_provider_codat.models.CodatDateTime` becomes ``timestamp("us", tz="UTC")``: an
  aware value is converted to UTC, a naive (business-local) value is taken as if it were UTC, and
  the ``0001-01-01T00:00:00`` sentinel is null; the offset and the sentinel as sent stay in ``jsonl``;
* nested objects, lists and maps become ``string`` holding compact JSON with exact numbers;
* a last ``_extra`` string column holds, as a compact JSON object, every field the model does not
  know plus any value that does not fit its column (a ``totalAmount`` of ``"n/a"``, say), so no
  value is ever lost; it is null when there are none.

Columns are built a page at a time, in C where the values allow it (see
:mod:`~airflow_provider_codat.output._columns`), from the records' text when it is at hand; the
result is the same as converting one value at a time, which remains the path for the rare values
the vectorised one does not take.

Each field carries its mapping in the field metadata key ``codat.kind`` (``string``, ``bool``,
``int``, ``decimal``, ``timestamp``, ``json`` or ``extra``), which readers may use to know which
string columns hold JSON.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa  # type: ignore[import-untyped]

from airflow_provider_codat.output._columns import (
    PRECISION,
    SCALE,
    column,
    column_per_value,
    compact_json,
    timestamps_from_texts,
)
from airflow_provider_codat.output._text import RecordText, json_from_raw, read_texts, values_from_text

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["EXTRA_COLUMN", "KIND_KEY", "arrow_schema", "compact_json", "to_record_batch"]

EXTRA_COLUMN = "_extra"
"""Name of the column holding unknown fields and values that did not fit their column."""

KIND_KEY = b"codat.kind"
"""Field metadata key naming how a column was mapped from the model."""

_TYPES: dict[str, Any] = {
    "string": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "decimal": pa.decimal128(PRECISION, SCALE),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
}


def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    """Return the Arrow schema of ``model``'s records (see the module docstring for the mapping).

    :param model: A pydantic model class, such as ``model_for("orders")``.
    """
    fields = []
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation)
        fields.append(pa.field(info.alias or name, _TYPES[kind], metadata={KIND_KEY: kind.encode()}))
    fields.append(pa.field(EXTRA_COLUMN, pa.string(), metadata={KIND_KEY: b"extra"}))
    return pa.schema(fields, metadata={b"codat.model": model.__name__.encode()})


def to_record_batch(
    records: Sequence[Mapping[str, Any]],
    schema: pa.Schema,
    *,
    texts: Sequence[Any] | None = None,
    body: bytes | None = None,
    per_value: bool = False,
) -> pa.RecordBatch:
    """Convert raw Codat records (as decoded, with exact decimals) to a batch of ``schema``.

    A value that does not fit its column is null there and kept, as sent, in ``_extra``; so is
    every field the schema does not know. No record is ever refused.

    :param records: Records keyed by Codat's field names, numbers as :class:`~decimal.Decimal`. It
        may decode them lazily: given their text, most pages never read a record.
    :param schema: A schema made by :func:`arrow_schema`.
    :param texts: Each record's JSON text as sent (bytes-like), if at hand: the columns are then
        read from it, scalars by pyarrow's JSON reader (off the GIL) and nested values by msgspec.
    :param body: Instead of ``texts``, a page's body whose ``results`` are exactly ``records``.
    :param per_value: Convert one value at a time instead of a column at a time (same result,
        slower; for tests).
    """
    plan = [(f.name, _field_kind(f), f.type) for f in schema if f.name != EXTRA_COLUMN]
    read, nested = ({}, None) if per_value else _from_text(texts, body, plan, len(records))
    extras: list[dict[str, Any] | None]
    if nested is not None:
        extras = [None] * len(records)
    else:
        extras = _unknown_fields(records, {name for name, _, _ in plan})
    dates = timestamps_from_texts(
        {name: read[name] for name, kind, _ in plan if kind == "timestamp" and name in read},
        _TYPES["timestamp"],
    )
    arrays = []
    for name, kind, type_ in plan:
        if name in dates:
            array, misfits = dates[name]
        elif name in read:
            array, misfits = read[name], {}
        elif nested is not None and kind == "json":
            array, misfits = json_from_raw(nested[name]), {}
        else:
            values = nested[name] if nested is not None else [record.get(name) for record in records]
            array, misfits = (column_per_value if per_value else column)(kind, values, type_)
        arrays.append(array)
        for i, value in misfits.items():
            extra = extras[i]
            if extra is None:
                extra = extras[i] = {}
            extra[name] = value
    if EXTRA_COLUMN in schema.names:
        if any(extras):
            extra_texts = [None if extra is None else compact_json(extra) for extra in extras]
            arrays.append(pa.array(extra_texts, type=pa.string()))
        else:
            arrays.append(pa.nulls(len(records), pa.string()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _from_text(
    texts: Sequence[Any] | None, body: bytes | None, plan: list[tuple[str, str, Any]], count: int
) -> tuple[dict[str, pa.Array], dict[str, list[Any]] | None]:
    """The columns the JSON reader reads from the records' text, and the other fields' values
    decoded from it (nested ones as their text); None for those when a record holds a field the
    schema does not know, or msgspec refuses the text: the records are needed then."""
    if texts is None and body is None:
        return {}, None
    source = RecordText(texts, body)
    found = read_texts(source, [(name, kind) for name, kind, _ in plan], count)
    if found is None:
        return {}, None
    read, unknown = found
    if unknown:
        return read, None
    left = [name for name, _, _ in plan if name not in read]
    nested = frozenset(name for name, kind, _ in plan if kind == "json")
    return read, values_from_text(source, left, raw=nested)


def _unknown_fields(records: Sequence[Mapping[str, Any]], known: set[str]) -> list[dict[str, Any] | None]:
    """Each record's fields the schema does not know (None for none), in the record's order."""
    extras: list[dict[str, Any] | None] = [None] * len(records)
    if known.issuperset(set().union(*records)):  # one pass in C over every page's keys
        return extras
    for i, record in enumerate(records):
        if not known.issuperset(record):
            extras[i] = {key: value for key, value in record.items() if key not in known}
    return extras


def _kind(annotation: Any) -> str:
    """Map a field annotation to a column kind; anything unrecognised is JSON, which loses nothing."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        kinds = {_kind(arg) for arg in typing.get_args(annotation) if arg is not type(None)}
        return kinds.pop() if len(kinds) == 1 else "json"
    if not isinstance(annotation, type):
        return "json"
    for base, kind in _BY_TYPE:
        if issubclass(annotation, base):
            return kind
    return "json"


# Order matters: a bool is an int, and an open enum's members are StrEnum, so str.
_BY_TYPE: tuple[tuple[type, str], ...] = (
    (bool, "bool"),
    (str, "string"),
    (int, "int"),
    (Decimal, "decimal"),
    (datetime, "timestamp"),
)


def _field_kind(field: pa.Field) -> str:
    metadata = field.metadata or {}
    kind = metadata.get(KIND_KEY)
    if kind is not None:
        return str(kind.decode())
    return next((k for k, t in _TYPES.items() if t == field.type), "json")
