"""Parse and evaluate Codat's ``query`` and ``orderBy`` parameters for the local sandbox.

Pure standard library; the sandbox server evaluates these over up to a million records, so a
parsed :class:`Query` compiles its tree once into closures.

Grammar (``{ }`` groups, ``&&`` binds tighter than ``||``, whitespace around tokens is ignored)::

    query      := or
    or         := and ("||" and)*
    and        := atom ("&&" atom)*
    atom       := "{" or "}" | comparison
    comparison := field op value
    field      := ident ("." ident)*          ident = [A-Za-z_][A-Za-z0-9_]*
    op         := "!=" | ">=" | "<=" | "=" | "~" | ">" | "<"     (longest match first)
    value      := '"' (char | '\\"' | '\\\\')* '"' | bare

A bare value runs to the next ``&&``, ``||``, ``}`` or the end and is trimmed; a quoted value
may hold any of those, and only ``\\"`` and ``\\\\`` escapes (any other backslash is malformed).
Values arrive URL-decoded. Quoting only delimits: the text is then typed by the field's kind.

Errors, as Codat words them (:class:`QueryError`, ``str(exc)`` is the exact text):

* over :data:`MAX_QUERY_LENGTH` characters: ``Query exceeds the maximum length of 2048 characters.``
* any syntax error (empty query, unbalanced braces, missing operator, dangling ``&&``, empty value,
  groups nested deeper than 100): ``Malformed query.``
* a field not in ``fields`` (arrays, objects and nulls are never in it):
  ``Could not resolve property <field> on <type>``.
* an operator the field's kind does not allow (``~`` is for strings only; ``>``, ``<``, ``>=``, ``<=``
  for numbers and datetimes only) or a value that does not parse as the kind: ``Malformed query.``

Syntax errors win over the others; otherwise the leftmost offending comparison decides.

Values by kind: ``number`` is a finite :class:`~decimal.Decimal` (``12``, ``-1.5``, ``1e3``);
``datetime`` is ``YYYY-MM-DD`` (midnight UTC) or ``YYYY-MM-DDThh:mm[:ss[.fff]]`` with optional ``Z`` or
``±hh:mm`` (naive means UTC); ``boolean`` is ``true``/``false`` in any case; ``string`` is the text.

Evaluation: dotted paths walk nested mappings. A missing, ``None`` or mistyped record value never
matches, not even ``!=``. Strings compare case-insensitively (``casefold``); numbers as exact
decimals (floats via ``Decimal(str(x))``, non-finite never match); datetimes as UTC instants read
by :func:`to_utc` (``0001-01-01T00:00:00`` is :attr:`datetime.min`, so ``>`` any real date excludes
it; parsed strings are memoised, as a sync stamps many records alike); booleans support ``=`` and ``!=``.

``orderBy`` is ``field`` (ascending) or ``-field`` (descending) on an undotted field in ``fields``.
Records with a missing, ``None`` or mistyped value sort first ascending and last descending.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import MINYEAR, UTC, date, datetime
from decimal import Decimal, InvalidOperation
from math import isfinite
from typing import Any, Literal, TypeAlias

__all__ = [
    "MAX_QUERY_LENGTH",
    "And",
    "Bound",
    "Comparison",
    "FieldKind",
    "Fields",
    "Node",
    "Or",
    "OrderBy",
    "Query",
    "QueryError",
    "parse_order_by",
    "parse_query",
    "to_utc",
]

FieldKind = Literal["string", "number", "datetime", "boolean"]
Fields: TypeAlias = Mapping[str, FieldKind]
_Predicate: TypeAlias = Callable[[Mapping[str, Any]], bool]

MAX_QUERY_LENGTH = 2048
"""Longest ``query`` Codat accepts, in characters."""

_MAX_DEPTH = 100
_MALFORMED = "Error parsing query - Malformed query."
_TOO_LONG = f"Error parsing query - Query exceeds the maximum length of {MAX_QUERY_LENGTH} characters."
_ORDER_MALFORMED = "Error parsing orderBy - Malformed orderBy."

_OPS = ("!=", ">=", "<=", "=", "~", ">", "<")
_ALLOWED_OPS: dict[str, frozenset[str]] = {
    "string": frozenset({"=", "!=", "~"}),
    "number": frozenset({"=", "!=", ">", "<", ">=", "<="}),
    "datetime": frozenset({"=", "!=", ">", "<", ">=", "<="}),
    "boolean": frozenset({"=", "!="}),
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "~": lambda value, needle: needle in value,
}
_SPACE = re.compile(r"\s*")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\["\\])*)"')
_ESCAPE = re.compile(r'\\(["\\])')
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_QUERY_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?", re.ASCII
)
_LOOSE_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE | re.ASCII,
)
_UTC = UTC
_MIN_UTC = datetime.min.replace(tzinfo=_UTC)
_MAX_UTC = datetime.max.replace(tzinfo=_UTC)


class QueryError(ValueError):
    """A query or orderBy that Codat would refuse with 400; str(exc) is Codat's exact error text."""


@dataclass(frozen=True)
class Comparison:
    """One ``field<op>value`` test; ``value`` is typed: str, Decimal, aware UTC datetime or bool."""

    field: str
    op: str
    value: object


@dataclass(frozen=True)
class And:
    """All of ``parts`` hold."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one of ``parts`` holds."""

    parts: tuple[Node, ...]


Node: TypeAlias = Comparison | And | Or


@dataclass(frozen=True)
class Bound:
    """One end of a datetime range, as :meth:`Query.cursor_bounds` reports it."""

    value: datetime
    inclusive: bool


@dataclass(frozen=True)
class Query:
    """A parsed query; build it with :func:`parse_query`.

    :param root: The expression tree, compiled once into a predicate on construction.
    """

    root: Node
    _predicate: _Predicate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_predicate", _compile(self.root))

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Return whether ``record`` satisfies the query.

        :param record: A record as the sandbox stores it (nested dicts).
        """
        return self._predicate(record)

    def cursor_bounds(self, field: str) -> tuple[Bound | None, Bound | None, Query | None]:
        """Split off the tightest datetime range on ``field`` that the top-level conjuncts imply.

        Comparisons ``>``, ``>=``, ``<``, ``<=`` and ``=`` on ``field`` with datetime values are folded
        into a lower and an upper bound (``=`` gives both, inclusive); the other conjuncts form the
        residual. A record is in bounds only if its ``field`` reads as a datetime via :func:`to_utc`.
        Then ``matches(r) == in_bounds(r) and (residual is None or residual.matches(r))``.

        :param field: The cursor field, e.g. ``modifiedDate``.
        :return: ``(lower, upper, residual)``; ``(None, None, self)`` for an ``||`` root or no such
            conjunct, and ``residual`` is ``None`` when nothing remains.
        """
        root = self.root
        if isinstance(root, Or):
            return None, None, self
        lower: Bound | None = None
        upper: Bound | None = None
        rest: list[Node] = []
        for part in root.parts if isinstance(root, And) else (root,):
            if not (
                isinstance(part, Comparison)
                and part.field == field
                and part.op in {">", ">=", "<", "<=", "="}
                and isinstance(part.value, datetime)
            ):
                rest.append(part)
                continue
            if part.op in {">", ">=", "="}:
                lower = _tighter(lower, Bound(part.value, part.op != ">"), operator.gt)
            if part.op in {"<", "<=", "="}:
                upper = _tighter(upper, Bound(part.value, part.op != "<"), operator.lt)
        if lower is None and upper is None:
            return None, None, self
        residual = None if not rest else Query(rest[0] if len(rest) == 1 else And(tuple(rest)))
        return lower, upper, residual


@dataclass(frozen=True)
class OrderBy:
    """A parsed ``orderBy``; sort with ``sorted(records, key=o.key, reverse=o.descending)``.

    :param field: Top-level field to sort by.
    :param descending: Whether the order is descending (``-field``).
    :param kind: The field's kind, which decides how values compare.
    """

    field: str
    descending: bool
    kind: FieldKind = "string"

    def key(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        """Return a sort key that totally orders records; missing, None or mistyped values sort first.

        :param record: A record as the sandbox stores it.
        """
        value = _CONVERT[self.kind](record.get(self.field))
        return (0,) if value is None else (1, value)


def parse_query(text: str, fields: Fields, type_name: str) -> Query:
    """Parse a URL-decoded ``query`` parameter.

    :param text: The query text.
    :param fields: Queryable dotted paths of the record type and their kinds.
    :param type_name: The record type's name, as Codat names it in errors (``CommerceOrder``).
    :raises QueryError: If Codat would refuse the query; ``str(exc)`` is its error text.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(_TOO_LONG)
    return Query(_Parser(text, fields, type_name).parse())


def parse_order_by(text: str, fields: Fields, type_name: str) -> OrderBy:
    """Parse an ``orderBy`` parameter: ``field`` ascending or ``-field`` descending.

    :param text: The orderBy text.
    :param fields: Queryable paths of the record type; only undotted ones can be sorted on.
    :param type_name: The record type's name, as Codat names it in errors.
    :raises QueryError: If Codat would refuse the orderBy; ``str(exc)`` is its error text.
    """
    text = text.strip()
    descending = text.startswith("-")
    name = text[1:] if descending else text
    if not _FIELD.fullmatch(name):
        raise QueryError(_ORDER_MALFORMED)
    kind = fields.get(name)
    if kind is None or "." in name:
        raise QueryError(f"Error parsing orderBy - Could not resolve property {name} on {type_name}")
    return OrderBy(name, descending, kind)


def to_utc(value: object) -> datetime | None:
    """Read a record's date value as an aware UTC datetime, or ``None`` if it is not one.

    Accepts ISO strings with ``Z``, an offset or no zone (UTC), any number of fractional digits
    (truncated to microseconds) and bare dates (midnight UTC), plus ``datetime`` and ``date``
    objects. ``0001-01-01T00:00:00`` is :attr:`datetime.min` in UTC.

    :param value: The record's value.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            loose = _parse_loose(value)
            if loose is None:
                return None
            parsed = loose
    elif isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        return None
    zone = parsed.tzinfo
    if zone is _UTC:
        return parsed
    if zone is None:
        return parsed.replace(tzinfo=_UTC)
    try:
        return parsed.astimezone(_UTC)
    except OverflowError:
        return _MIN_UTC if parsed.year == MINYEAR else _MAX_UTC


def _parse_loose(text: str) -> datetime | None:
    """Parse the ISO forms that :meth:`datetime.fromisoformat` refuses (older Pythons, 7+ digits)."""
    match = _LOOSE_DATETIME.fullmatch(text.strip())
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    normal = day + (f"T{clock}" if clock else "")
    if fraction:
        normal += "." + fraction[:6].ljust(6, "0")
    if zone:
        zone = "+00:00" if zone in {"Z", "z"} else zone
        normal += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        return datetime.fromisoformat(normal)
    except ValueError:
        return None


_DATETIME_CACHE: dict[str, datetime | None] = {}
_DATETIME_CACHE_SIZE = 1 << 16
_MISSING = object()


def _record_datetime(value: object) -> datetime | None:
    """Return :func:`to_utc` of ``value``, memoising strings (a sync stamps many records alike)."""
    if type(value) is not str:
        return to_utc(value)
    cached = _DATETIME_CACHE.get(value, _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    parsed = to_utc(value)
    if len(_DATETIME_CACHE) >= _DATETIME_CACHE_SIZE:
        _DATETIME_CACHE.clear()
    _DATETIME_CACHE[value] = parsed
    return parsed


def _record_number(value: object) -> int | Decimal | None:
    """Return a record's numeric value as int or finite Decimal, or ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return Decimal(str(value)) if isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


_CONVERT: dict[str, Callable[[object], Any]] = {
    "string": lambda value: value if type(value) is str else None,
    "number": _record_number,
    "datetime": _record_datetime,
    "boolean": lambda value: value if type(value) is bool else None,
}


class _Parser:
    """Recursive-descent parser over one query string; raises :class:`QueryError`."""

    def __init__(self, text: str, fields: Fields, type_name: str) -> None:
        self.text = text
        self.pos = 0
        self.fields = fields
        self.type_name = type_name
        self.deferred: QueryError | None = None

    def parse(self) -> Node:
        node = self._or(0)
        self._skip_space()
        if self.pos != len(self.text):
            raise QueryError(_MALFORMED)
        if self.deferred is not None:
            raise self.deferred
        return node

    def _or(self, depth: int) -> Node:
        if depth > _MAX_DEPTH:
            raise QueryError(_MALFORMED)
        parts = [self._and(depth)]
        while self._take("||"):
            parts.append(self._and(depth))
        return _join(Or, parts)

    def _and(self, depth: int) -> Node:
        parts = [self._atom(depth)]
        while self._take("&&"):
            parts.append(self._atom(depth))
        return _join(And, parts)

    def _atom(self, depth: int) -> Node:
        if self._take("{"):
            node = self._or(depth + 1)
            if not self._take("}"):
                raise QueryError(_MALFORMED)
            return node
        match = _FIELD.match(self.text, self.pos)
        if match is None:
            raise QueryError(_MALFORMED)
        self.pos = match.end()
        self._skip_space()
        op = next((op for op in _OPS if self.text.startswith(op, self.pos)), None)
        if op is None:
            raise QueryError(_MALFORMED)
        self.pos += len(op)
        return self._comparison(match.group(), op, self._value())

    def _value(self) -> str:
        self._skip_space()
        text, start = self.text, self.pos
        if text.startswith('"', start):
            quoted = _QUOTED.match(text, start)
            if quoted is None:
                raise QueryError(_MALFORMED)
            self.pos = quoted.end()
            value = _ESCAPE.sub(r"\1", quoted.group(1))
        else:
            ends = [i for i in (text.find(stop, start) for stop in ("&&", "||", "}")) if i >= 0]
            self.pos = min(ends, default=len(text))
            value = text[start : self.pos].strip()
        if not value:
            raise QueryError(_MALFORMED)
        return value

    def _comparison(self, name: str, op: str, raw: str) -> Comparison:
        kind = self.fields.get(name)
        value: object = raw
        if kind is None:
            error = f"Error parsing query - Could not resolve property {name} on {self.type_name}"
            self.deferred = self.deferred or QueryError(error)
        elif op not in _ALLOWED_OPS[kind] or (value := _typed(kind, raw)) is None:
            self.deferred = self.deferred or QueryError(_MALFORMED)
        return Comparison(name, op, value)

    def _take(self, token: str) -> bool:
        self._skip_space()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def _skip_space(self) -> None:
        self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]


def _typed(kind: str, raw: str) -> object | None:
    """Type a query value by the field's kind, or return ``None`` if it does not parse."""
    if kind == "string":
        return raw
    if kind == "number":
        return Decimal(raw) if _NUMBER.fullmatch(raw) else None
    if kind == "datetime":
        return to_utc(raw) if _QUERY_DATETIME.fullmatch(raw) else None
    lowered = raw.lower()
    return lowered == "true" if lowered in {"true", "false"} else None


def _join(kind: type[And] | type[Or], parts: Sequence[Node]) -> Node:
    """Combine ``parts`` under ``kind``, splicing nested nodes of the same kind."""
    if len(parts) == 1:
        return parts[0]
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, kind) else (part,))
    return kind(tuple(flat))


def _tighter(current: Bound | None, new: Bound, beyond: Callable[[Any, Any], bool]) -> Bound:
    """Return the tighter of two bounds on the same side; ``beyond`` says which value is tighter."""
    if current is None or beyond(new.value, current.value):
        return new
    if new.value == current.value:
        return Bound(new.value, new.inclusive and current.inclusive)
    return current


def _compile(node: Node) -> _Predicate:
    """Compile a tree into one predicate over records."""
    if isinstance(node, Comparison):
        return _compile_comparison(node)
    preds = tuple(_compile(part) for part in node.parts)
    if len(preds) == 2:
        first, second = preds
        if isinstance(node, And):
            return lambda record: first(record) and second(record)
        return lambda record: first(record) or second(record)
    if isinstance(node, And):
        return lambda record: all(pred(record) for pred in preds)
    return lambda record: any(pred(record) for pred in preds)


def _compile_comparison(node: Comparison) -> _Predicate:
    """Compile one comparison: read the field, then test its value."""
    test = _value_test(node.op, node.value)
    if "." not in node.field:
        key = node.field
        return lambda record: test(record.get(key))
    path = node.field.split(".")

    def dotted(record: Mapping[str, Any]) -> bool:
        current: Any = record
        try:
            for part in path:
                current = current.get(part)
        except AttributeError:  # a list, string or None on the way
            return False
        return test(current)

    return dotted


def _value_test(op: str, target: Any) -> Callable[[object], bool]:
    """Return a test of one record value against ``target``, whose type gives the field's kind."""
    compare = _COMPARE[op]
    if isinstance(target, bool):
        convert = _CONVERT["boolean"]
    elif isinstance(target, str):
        target = target.casefold()
        convert = lambda value: value.casefold() if type(value) is str else None  # noqa: E731
    elif isinstance(target, datetime):
        convert = _record_datetime
    else:
        convert = _record_number
        as_float = float(target)
        if isfinite(as_float) and Decimal(repr(as_float)) == target:
            # Rounding to the shortest repr is monotonic, so for a float x, Decimal(repr(x)) compares
            # with target exactly as x compares with as_float; skip the costly Decimal conversion.
            def number(value: object) -> bool:
                if type(value) is float:
                    return isfinite(value) and compare(value, as_float)
                converted = _record_number(value)
                return converted is not None and compare(converted, target)

            return number

    def test(value: object) -> bool:
        converted = convert(value)
        return converted is not None and compare(converted, target)

    return test
