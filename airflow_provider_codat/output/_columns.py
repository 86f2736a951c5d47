"""Arrow columns from raw Codat values: one vectorised pass per column, per value only where needed.

Each column kind (see :mod:`~airflow_provider_codat.output._arrow`) has two builders that give
the same array and the same misfits (values that do not fit the column, kept in ``_extra``):

* :func:`column` builds the array in C: pyarrow converts the column's Python list at once, and
  date-times are parsed by ``pyarrow.compute`` (a strict ISO 8601 pattern, then arithmetic on
  the parts). A column whose values are not all of the expected Python types, or a date-time in
  any form but the plain ones (``2026-01-01T12:00:00``, with up to 9 fractional digits and ``Z`` or
  ``+hh:mm``), goes to the per-value converters, for that column or that value only.
* :func:`column_per_value` converts every value with the per-value converters: the reference,
  and what the tests compare the vectorised path against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

import msgspec
import orjson
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from airflow_provider_codat.models._base import parse_codat_datetime, to_decimal

__all__ = [
    "PRECISION",
    "SCALE",
    "Misfits",
    "column",
    "column_per_value",
    "compact_json",
    "timestamps_from_text",
    "timestamps_from_texts",
]

PRECISION, SCALE = 38, 12
_QUANTUM = Decimal(1).scaleb(-SCALE)
_LIMIT = Decimal(10) ** (PRECISION - SCALE)
_CONTEXT = Context(prec=PRECISION + 2, rounding=ROUND_HALF_EVEN)
_INT64 = 2**63
_NONE = type(None)

Misfits = dict[int, Any]
"""Row position -> the value as sent, for values that do not fit their column."""


class _Misfit(ValueError):
    """A value that does not fit its column; it goes to ``_extra``."""


# --- compact JSON -----------------------------------------------------------------------------------


_ENCODER = msgspec.json.Encoder(decimal_format="number")  # a Decimal as its exact text, str(value)


def compact_json(value: Any) -> str:
    """Serialise ``value`` as compact JSON, writing each :class:`~decimal.Decimal` as its exact text.

    :param value: A value as decoded from JSON (dicts, lists, str, int, Decimal, bool, None).
    """
    try:
        return _ENCODER.encode(value).decode()
    except (msgspec.EncodeError, TypeError, ValueError, OverflowError):
        return _compact_json_slowly(value)


def _compact_json_slowly(value: Any) -> str:
    """:func:`compact_json` for what msgspec refuses (a non-finite Decimal is written as its text)."""
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


# --- per value --------------------------------------------------------------------------------------


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


def _convert(kind: str, values: Sequence[Any], positions: Sequence[int]) -> tuple[list[Any], Misfits]:
    """Convert ``values[i]`` for each ``i`` in ``positions``; a misfit becomes None."""
    convert = _CONVERTERS[kind]
    converted: list[Any] = []
    misfits: Misfits = {}
    for i in positions:
        value = values[i]
        if value is None:
            converted.append(None)
            continue
        try:
            converted.append(convert(value))
        except (ValueError, TypeError, ArithmeticError):
            converted.append(None)
            misfits[i] = value
    return converted, misfits


def column_per_value(kind: str, values: Sequence[Any], type_: pa.DataType) -> tuple[pa.Array, Misfits]:
    """Build a column of ``kind`` converting one value at a time (the reference path)."""
    converted, misfits = _convert(kind, values, range(len(values)))
    return pa.array(converted, type=type_), misfits


# --- vectorised -------------------------------------------------------------------------------------

# The Python types each kind converts in C; a column holding any other goes per value.
_FAST_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str, _NONE}),
    "bool": frozenset({bool, _NONE}),
    "int": frozenset({int, _NONE}),
    "decimal": frozenset({Decimal, int, _NONE}),
}


def column(kind: str, values: Sequence[Any], type_: pa.DataType) -> tuple[pa.Array, Misfits]:
    """Build a column of ``kind`` in C where the values allow it; same result as :func:`column_per_value`."""
    types = set(map(type, values))
    try:
        if kind == "timestamp" and types <= {str, _NONE}:
            return _timestamps(values, type_)
        if kind == "json":
            return _json(values), {}
        if types <= _FAST_TYPES.get(kind, frozenset()):
            return pa.array(values, type=type_), {}
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, msgspec.EncodeError, ValueError, TypeError):
        pass  # an integer past 64 bits, a decimal past the column's precision, an impossible date
    return column_per_value(kind, values, type_)


def _json(values: Sequence[Any]) -> pa.Array:
    encoded = pa.array(list(map(_ENCODER.encode, values)), type=pa.binary()).cast(pa.string())
    return pc.if_else(pc.equal(encoded, "null"), pa.scalar(None, pa.string()), encoded)


# A plain Codat date-time; every other form the per-value parser reads goes per value.
_PLAIN = (
    r"^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
)
_EPOCH = "1970-01-01T00:00:00"
_MIN_US = -62135596800 * 10**6  # 0001-01-01T00:00:00 in microseconds since the epoch: the sentinel
_MAX_US = 253402300799999999  # 9999-12-31T23:59:59.999999
_DAY_NS, _DAY_US, _MINUTE_NS = 86400 * 10**9, 86400 * 10**6, 60 * 10**9
_NULL_INT = pa.scalar(None, pa.int64())


def timestamps_from_texts(
    columns: dict[str, pa.Array], type_: pa.DataType
) -> dict[str, tuple[pa.Array, Misfits]]:
    """Parse string columns of date-times of the same length together, in one pass of kernels."""
    if not columns:
        return {}
    rows = len(next(iter(columns.values())))
    try:
        parsed, misfits = timestamps_from_text(pa.concat_arrays(list(columns.values())), type_)
    except pa.ArrowInvalid:  # an impossible date such as 2026-02-30: the column that holds it goes per value
        return {name: _timestamps_alone(text, type_) for name, text in columns.items()}
    return {
        name: (
            parsed.slice(k * rows, rows),
            {i - k * rows: value for i, value in misfits.items() if k * rows <= i < (k + 1) * rows},
        )
        for k, name in enumerate(columns)
    }


def _timestamps_alone(text: pa.Array, type_: pa.DataType) -> tuple[pa.Array, Misfits]:
    try:
        return timestamps_from_text(text, type_)
    except pa.ArrowInvalid:
        return column_per_value("timestamp", text.to_pylist(), type_)


def _timestamps(values: Sequence[Any], type_: pa.DataType) -> tuple[pa.Array, Misfits]:
    """Parse a column of strings and nulls; values in other forms go to the per-value parser."""
    return timestamps_from_text(pa.array(values, type=pa.string()), type_)


def timestamps_from_text(text: pa.Array, type_: pa.DataType) -> tuple[pa.Array, Misfits]:
    """Parse a string array of date-times; rows in other forms than the plain ones go per value.

    A plain value is split at its 19th character: the date and time of day are cast as a naive
    timestamp, and the rest (fraction and offset) is cast on the epoch's date in nanoseconds, which
    gives the fraction less the offset. Offsets are whole minutes and a fraction is under a
    second, so the fraction is what remains of that modulo a minute; digits past the sixth are
    truncated, as the parser does.
    """
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN), False)
    safe = pc.if_else(plain, text, _EPOCH)  # every row casts; only the plain ones are kept
    base = pc.cast(pc.cast(pc.utf8_slice_codeunits(safe, 0, 19), pa.timestamp("us")), pa.int64())
    tail = pc.utf8_slice_codeunits(safe, 19, 40)
    offset = pc.or_(pc.match_substring(tail, "+"), pc.match_substring(tail, "-"))
    aware = pc.or_(pc.ends_with(tail, "Z"), offset)
    zoned = pc.binary_join_element_wise(_EPOCH, tail, pc.if_else(aware, "", "Z"), "")
    # The fraction less the offset, moved up a day so that integer division floors.
    shifted = pc.add(pc.cast(pc.cast(zoned, pa.timestamp("ns", tz="UTC")), pa.int64()), _DAY_NS)
    utc = pc.add(base, pc.subtract(pc.divide(shifted, 1000), _DAY_US))
    fraction = pc.subtract(shifted, pc.multiply(pc.divide(shifted, _MINUTE_NS), _MINUTE_NS))
    local = pc.add(base, pc.divide(fraction, 1000))
    # The sentinel, in any offset, is null; out of datetime's range (year 0, or past either end once
    # shifted to UTC), the per-value parser decides.
    sentinel = pc.equal(local, _MIN_US)
    outside = pc.and_(
        pc.invert(sentinel),
        pc.or_(pc.less(local, _MIN_US), pc.or_(pc.less(utc, _MIN_US), pc.greater(utc, _MAX_US))),
    )
    fast = pc.and_(plain, pc.invert(outside))
    result = pc.cast(pc.if_else(pc.and_(fast, pc.invert(sentinel)), utc, _NULL_INT), type_)
    slow = pc.and_(pc.is_valid(text), pc.invert(fast))
    positions = pc.indices_nonzero(slow).to_pylist()
    if not positions:
        return result, {}
    values = text.filter(slow).to_pylist()
    converted, misfits = _convert("timestamp", values, range(len(values)))
    replaced = pc.replace_with_mask(result, slow, pa.array(converted, type=type_))
    return replaced, {positions[j]: value for j, value in misfits.items()}
