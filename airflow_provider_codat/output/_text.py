"""Columns read straight from the records' JSON text, so that a page's records need not be built.

* :func:`read_texts`: pyarrow's JSON reader (C++, without the GIL) reads every scalar column; it
  reads exactly what the per-value converters would, or refuses the page. It also infers the
  rest of each record, which shows any field the schema does not know and refuses a key repeated
  at any depth.
* :func:`values_from_text`: msgspec keeps each nested value as the text Codat sent
  (:class:`msgspec.Raw`) and decodes any other field the reader left, as the records decode it.
* :func:`json_from_raw`: a nested value's text is its compact JSON as it stands when the writer
  would write it back unchanged (see ``_COMPACT``); only the others are decoded and written.
"""

from __future__ import annotations

import functools
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from operator import attrgetter
from typing import Any

import msgspec
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.json as pj  # type: ignore[import-untyped]

from airflow_provider_codat.client._decode import decode_quietly
from airflow_provider_codat.output._columns import PRECISION, SCALE, compact_json

__all__ = ["RecordText", "json_from_raw", "read_texts", "values_from_text"]

# Kinds pyarrow's JSON reader may read from the records' text: it reads exactly what the per-value
# converters would, or refuses (a number in a string column, a string or fraction in an integer one,
# a repeated key at any depth, nested values whose types clash between records, more decimal places
# than the scale), and then the page goes the other way. Date-times are read as strings.
_FROM_TEXT = {
    "string": pa.string(),
    "decimal": pa.decimal128(PRECISION, SCALE),
    "timestamp": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
}


@dataclass(frozen=True)
class RecordText:
    """The JSON text of a run of records as Codat sent it.

    :param texts: Each record's text (bytes-like objects); or None, and ``body`` holds them.
    :param body: A page's body whose ``results`` are exactly the records (read in place: no copy).
    """

    texts: Sequence[Any] | None = None
    body: bytes | None = None


def read_texts(
    source: RecordText, plan: Sequence[tuple[str, str]], count: int
) -> tuple[dict[str, pa.Array], list[str]] | None:
    """Read the columns of ``plan`` (name, kind) that the JSON reader can, from the records' text.

    Returns the arrays by name (strings for date-times) and the names of the fields outside the
    plan that some record holds; or None when the reader refuses the page, or its records are
    not ``count``. Runs in C++ without the GIL.
    """
    fields = pa.struct([(name, _FROM_TEXT[kind]) for name, kind in plan if kind in _FROM_TEXT])
    if source.body is not None:
        data, schema = source.body, pa.schema([("results", pa.list_(fields))])
    else:
        data, schema = b"\n".join(source.texts or ()), pa.schema(list(fields))
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    try:
        table = pj.read_json(
            pa.BufferReader(data),
            read_options=pj.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=options,
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if source.body is not None:
        records = table.column("results").combine_chunks().flatten()
        columns = {field.name: array for field, array in zip(records.type, records.flatten(), strict=True)}
    else:
        records = table
        columns = {name: table.column(name).combine_chunks() for name in table.column_names}
    if len(records) != count:
        return None
    arrays = {field.name: columns[field.name] for field in fields}
    for name, kind in plan:  # the reader does not check a decimal's precision (26 integer digits at most)
        if kind == "decimal":
            try:
                arrays[name].validate(full=True)
            except pa.ArrowInvalid:
                del arrays[name]  # the per-value converters say which values do not fit
    known = {name for name, _ in plan}
    return arrays, [name for name in columns if name not in known]


_NULL = msgspec.Raw(b"null")


@functools.lru_cache(maxsize=64)
def _fields_decoder(fields: tuple[tuple[str, bool], ...], *, body: bool) -> msgspec.json.Decoder[Any]:
    """A decoder of records keeping only ``fields`` (name, whether kept as its text).

    It decodes a list of records, or with ``body`` a page body, keeping its ``results``.
    """
    rename = {f"f{i}": name for i, (name, _) in enumerate(fields)}
    types = [
        (f"f{i}", msgspec.Raw, _NULL) if raw else (f"f{i}", Any, None) for i, (_, raw) in enumerate(fields)
    ]
    row = msgspec.defstruct("_Fields", types, rename=rename, gc=False)
    if body:
        page = msgspec.defstruct("_Page", [("results", list[row])])  # type: ignore[valid-type]
        return msgspec.json.Decoder(page, float_hook=Decimal)
    return msgspec.json.Decoder(list[row], float_hook=Decimal)  # type: ignore[valid-type]


def values_from_text(
    source: RecordText, names: Sequence[str], *, raw: frozenset[str] = frozenset()
) -> dict[str, list[Any]] | None:
    """Each record's value of each of ``names``, decoded from the records' text.

    A name in ``raw`` gets each value's text as sent (``null`` if absent); any other, the value the
    record holds (None if absent), exact decimals included: the same decoder decodes them.
    Returns None if msgspec refuses the text.
    """
    if not names:
        return {}
    fields = tuple((name, name in raw) for name in names)
    try:
        if source.body is not None:
            page = decode_quietly(_fields_decoder(fields, body=True).decode, source.body)
            rows = page.results
        else:
            data = b"[" + b",".join(source.texts or ()) + b"]"
            rows = decode_quietly(_fields_decoder(fields, body=False).decode, data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return {name: list(map(attrgetter(f"f{i}"), rows)) for i, name in enumerate(names)}


# JSON text that msgspec's encoder writes back byte for byte once decoded with exact decimals: no
# whitespace, strings without escapes, numbers as ``str(Decimal)`` writes them (no exponent, at
# most five zeros after "0.", no "-0"). A repeated key would still differ; read_texts refuses those.
_COMPACT = (
    r'^(?:"[^"\\]*"|[{}\[\],:]|true|false|null'
    r"|(?:-?(?:[1-9][0-9]*(?:\.[0-9]+)?|0\.0{0,5}[1-9][0-9]*|0\.0{1,6})|0)(?:[,}\]]|$))*$"
)
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def json_from_raw(raws: Sequence[msgspec.Raw]) -> pa.Array:
    """The ``json`` column of nested values given as their text, free of repeated keys.

    Null for ``null``; the text itself where it is already what :func:`compact_json` would write;
    else the compact JSON of the value it holds.
    """
    offsets = array("i", accumulate(map(len, raws), initial=0))
    text = pa.StringArray.from_buffers(len(raws), pa.py_buffer(offsets), pa.py_buffer(b"".join(raws)))
    text.validate(full=True)  # UTF-8, as the body was checked to be
    loose = pc.invert(pc.match_substring_regex(text, _COMPACT))
    positions = pc.indices_nonzero(loose).to_pylist()
    if positions:
        rewritten = [compact_json(_DECODER.decode(raws[i])) for i in positions]
        text = pc.replace_with_mask(text, loose, pa.array(rewritten, type=pa.string()))
    return pc.if_else(pc.equal(text, "null"), pa.scalar(None, pa.string()), text)
