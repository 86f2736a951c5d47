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

Each field carries its mapping in the field metadata key ``codat.kind`` (``string``, ``bool``,
``int``, ``decimal``, ``timestamp``, ``json`` or ``extra``), which readers may use to know which
string columns hold JSON.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from airflow_provider_codat.models._base import parse_codat_datetime, to_decimal

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["EXTRA_COLUMN", "KIND_KEY", "arrow_schema", "compact_json", "to_record_batch"]

EXTRA_COLUMN = "_extra"
"""Name of the column holding unknown fields and values that did not fit their column."""

KIND_KEY = b"codat.kind"
"""Field metadata key naming how a column was mapped from the model."""

_PRECISION, _SCALE = 38, 12
_QUANTUM = Decimal(1).scaleb(-_SCALE)
_LIMIT = Decimal(10) ** (_PRECISION - _SCALE)
_CONTEXT = Context(prec=_PRECISION + 2, rounding=ROUND_HALF_EVEN)
_INT64 = 2**63

_TYPES: dict[str, Any] = {
    "string": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "decimal": pa.decimal128(_PRECISION, _SCALE),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
}


class _Misfit(ValueError):
    """A value that does not fit its column; it goes to ``_extra``."""


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


def to_record_batch(records: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Convert raw Codat records (as decoded, with exact decimals) to a batch of ``schema``.

    A value that does not fit its column is null there and kept, as sent, in ``_extra``; so is
    every field the schema does not know. No record is ever refused.

    :param records: Records keyed by Codat's field names, numbers as :class:`~decimal.Decimal`.
    :param schema: A schema made by :func:`arrow_schema`.
    """
    plan = [(f.name, _CONVERTERS[_field_kind(f)]) for f in schema if f.name != EXTRA_COLUMN]
    known = {name for name, _ in plan}
    columns: list[list[Any]] = [[] for _ in plan]
    extras: list[str | None] = []
    for record in records:
        extra = {key: value for key, value in record.items() if key not in known}
        for (name, convert), column in zip(plan, columns, strict=True):
            value = record.get(name)
            if value is None:
                column.append(None)
                continue
            try:
                column.append(convert(value))
            except (ValueError, TypeError, ArithmeticError):
                column.append(None)
                extra[name] = value
        extras.append(compact_json(extra) if extra else None)
    arrays = [
        pa.array(column, type=schema.field(name).type)
        for (name, _), column in zip(plan, columns, strict=True)
    ]
    if EXTRA_COLUMN in schema.names:
        arrays.append(pa.array(extras, type=pa.string()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def compact_json(value: Any) -> str:
    """Serialise ``value`` as compact JSON, writing each :class:`~decimal.Decimal` as its exact text.

    :param value: A value as decoded from JSON (dicts, lists, str, int, Decimal, bool, None).
    """
    try:
        return orjson.dumps(value, default=_fragment).decode()
    except orjson.JSONEncodeError:  # an integer past 64 bits: orjson cannot, the slow path can
        return _slow_json(value)


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"not JSON: {type(value).__name__}")


def _slow_json(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{_slow_json(str(k))}:{_slow_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_slow_json(v) for v in value) + "]"
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    return orjson.dumps(value).decode()


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


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)  # ids sometimes arrive as numbers; the models coerce them the same way
    raise _Misfit


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _Misfit


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Misfit
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int) and -_INT64 <= value < _INT64:
        return value
    raise _Misfit


def _to_decimal(value: Any) -> Decimal | None:
    amount = to_decimal(value)
    if amount is None:
        return None
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount.copy_abs() >= _LIMIT:
        raise _Misfit
    quantized = amount.quantize(_QUANTUM, context=_CONTEXT)
    if quantized.copy_abs() >= _LIMIT:  # rounding carried it past 26 integer digits
        raise _Misfit
    return quantized


def _to_timestamp(value: Any) -> datetime | None:
    parsed = parse_codat_datetime(value)
    if parsed is None:
        return None
    if not isinstance(parsed, datetime):
        raise _Misfit
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": _to_string,
    "bool": _to_bool,
    "int": _to_int,
    "decimal": _to_decimal,
    "timestamp": _to_timestamp,
    "json": compact_json,
}
