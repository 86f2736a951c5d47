"""Tests for :mod:`airflow_provider_codat.sandbox.query`: Codat's query language and orderBy."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_codat.sandbox.query import (
    MAX_QUERY_LENGTH,
    And,
    Bound,
    Comparison,
    Fields,
    Or,
    OrderBy,
    Query,
    QueryError,
    parse_order_by,
    parse_query,
    to_utc,
)

TYPE = "CommerceOrder"
FIELDS: Fields = {
    "id": "string",
    "totalAmount": "number",
    "modifiedDate": "datetime",
    "isDeleted": "boolean",
    "customerRef.id": "string",
}
MALFORMED = "Error parsing query - Malformed query."
TOO_LONG = "Error parsing query - Query exceeds the maximum length of 2048 characters."


def unresolved(name: str) -> str:
    return f"Error parsing query - Could not resolve property {name} on {TYPE}"


def parse(text: str) -> Query:
    return parse_query(text, FIELDS, TYPE)


def matches(text: str, record: Mapping[str, Any]) -> bool:
    return parse(text).matches(record)


def utc(year: int, month: int, day: int, *clock: int) -> datetime:
    """Build an aware UTC datetime; ``clock`` is hour, minute, second, microsecond."""
    hours, minutes, seconds, micros = (*clock, 0, 0, 0, 0)[:4]
    return datetime(year, month, day, tzinfo=UTC) + timedelta(
        hours=hours, minutes=minutes, seconds=seconds, microseconds=micros
    )


# --- operators by kind ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("id=acme", "ACME", True),
        ("id=acme", "acme ltd", False),
        ("id!=acme", "Acme", False),
        ("id!=acme", "other", True),
        ("id~CME", "the acme co", True),
        ("id~xyz", "the acme co", False),
        ("id=strasse", "STRASSE", True),
        ("id=STRASSE", "straße", True),  # casefold, not lower
        ("id=1", 1, False),  # mistyped record value
    ],
)
def test_string_operators_are_case_insensitive(text: str, value: object, expected: bool) -> None:
    assert matches(text, {"id": value}) is expected


@pytest.mark.parametrize("text", ["id=acme", "id!=acme", "id~a", "totalAmount!=1", "isDeleted!=true"])
@pytest.mark.parametrize("record", [{}, {"id": None, "totalAmount": None, "isDeleted": None}])
def test_missing_or_null_never_matches_even_not_equal(text: str, record: dict[str, Any]) -> None:
    assert not matches(text, record)


@pytest.mark.parametrize(
    ("op", "expected"), [("=", [2]), ("!=", [1, 3]), (">", [3]), ("<", [1]), (">=", [2, 3]), ("<=", [1, 2])]
)
@pytest.mark.parametrize("form", [int, float, Decimal, str])
def test_number_operators_over_record_forms(op: str, expected: list[int], form: Callable[[Any], Any]) -> None:
    values = {1: Decimal("0.1"), 2: Decimal("0.2"), 3: Decimal("10")}
    hits = [
        n
        for n, value in values.items()
        if matches(f"totalAmount{op}0.2", {"totalAmount": form(value) if form is not int else value})
    ]
    assert hits == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), "nan", "n/a", True, [1]])
def test_non_numbers_never_match(value: object) -> None:
    assert not matches("totalAmount!=1", {"totalAmount": value})
    assert not matches("totalAmount<1e9", {"totalAmount": value})


def test_float_record_values_compare_by_their_decimal_text() -> None:
    assert matches("totalAmount=0.3", {"totalAmount": 0.3})
    assert matches("totalAmount=300.0e-3", {"totalAmount": "0.3"})
    assert matches("totalAmount=1.10", {"totalAmount": 1.1})
    assert matches("totalAmount=0", {"totalAmount": -0.0})
    # values no float holds exactly still compare as decimals
    assert matches("totalAmount<0.30000000000000001", {"totalAmount": 0.3})
    assert not matches("totalAmount=0.30000000000000001", {"totalAmount": 0.3})
    assert matches("totalAmount<1e400", {"totalAmount": 1e300})
    assert matches("totalAmount>1e23", {"totalAmount": 10**23 + 1})
    assert not matches("totalAmount>1e23", {"totalAmount": 99999999999999991611392})


@pytest.mark.parametrize(
    ("op", "expected"), [("=", [2]), ("!=", [1, 3]), (">", [3]), ("<", [1]), (">=", [2, 3]), ("<=", [1, 2])]
)
def test_datetime_operators(op: str, expected: list[int]) -> None:
    records = {
        1: "2022-08-22T23:59:59.9999999Z",
        2: "2022-08-23T02:00:00+02:00",
        3: "2022-08-23T00:00:00.001",
    }
    hits = [n for n, v in records.items() if matches(f"modifiedDate{op}2022-08-23", {"modifiedDate": v})]
    assert hits == expected


@pytest.mark.parametrize(
    "value",
    [
        "2022-08-23",
        "2022-08-23T00:00:00Z",
        "2022-08-23T00:00:00",
        "2022-08-23T01:30:00+01:30",
        "2022-08-22T20:00:00.000-04:00",
        "2022-08-23T00:00:00.0000000Z",
        "2022-08-23T00:00Z",
    ],
)
def test_datetime_query_value_forms(value: str) -> None:
    query = parse(f"modifiedDate={value}")
    assert query.root == Comparison("modifiedDate", "=", utc(2022, 8, 23))
    assert query.matches({"modifiedDate": "2022-08-23T00:00:00Z"})


def test_sentinel_date_is_before_every_real_date() -> None:
    record = {"modifiedDate": "0001-01-01T00:00:00"}
    assert not matches("modifiedDate>2000-01-01", record)
    assert matches("modifiedDate<2000-01-01", record)
    assert matches("modifiedDate=0001-01-01", record)


@pytest.mark.parametrize("value", ["yesterday", "2022-02-30T00:00:00Z", "", 20220823, None])
def test_unparsable_record_dates_never_match(value: object) -> None:
    assert not matches("modifiedDate!=2022-08-23", {"modifiedDate": value})
    assert not matches("modifiedDate<9999-01-01", {"modifiedDate": value})


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("isDeleted=true", True, True),
        ("isDeleted=TRUE", False, False),
        ("isDeleted=False", False, True),
        ("isDeleted!=false", True, True),
        ("isDeleted!=false", False, False),
        ("isDeleted=true", "true", False),
        ("isDeleted=false", 0, False),
    ],
)
def test_boolean_equality(text: str, value: object, expected: bool) -> None:
    assert matches(text, {"isDeleted": value}) is expected


# --- structure -----------------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (Comparison("id", "=", x) for x in "abc")
    assert parse("id=a || id=b && id=c").root == Or((a, And((b, c))))
    assert parse("id=a && id=b || id=c").root == Or((And((a, b)), c))
    assert parse("{id=a || id=b} && id=c").root == And((Or((a, b)), c))


def test_grouping_changes_the_result() -> None:
    record = {"id": "a", "totalAmount": 5}
    assert matches("id=a || id=b && totalAmount>10", record)
    assert not matches("{id=a || id=b} && totalAmount>10", record)
    assert matches("{{id=z || {totalAmount=5 && {id=a}}}}", record)


def test_whitespace_around_tokens_is_ignored() -> None:
    spaced = parse("  { id = a  ||\tid~ b c }&&  totalAmount >= 2  ")
    assert spaced == parse("{id=a||id~b c}&&totalAmount>=2")


def test_same_operator_groups_are_flattened() -> None:
    assert parse("{id=a && id=b} && {id=c}").root == And(tuple(Comparison("id", "=", x) for x in "abc"))


def test_dotted_fields_walk_nested_records() -> None:
    assert matches("customerRef.id=61", {"customerRef": {"id": "61"}})
    for record in ({"customerRef": {"id": "62"}}, {"customerRef": None}, {"customerRef": ["61"]}, {}):
        assert not matches("customerRef.id=61", record)
    assert not matches("customerRef.id!=62", {"customerRef": "61"})


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('id="a && b"', "a && b"),
        ('id = "x || y}" ', "x || y}"),
        (r'id="say \"hi\""', 'say "hi"'),
        (r'id="back\\slash"', "back\\slash"),
        ("id=  bare words  & more ", "bare words  & more"),
        ('id=a"b', 'a"b'),
        ('totalAmount="12.50"', Decimal("12.50")),
    ],
)
def test_values_quoted_and_bare(text: str, value: object) -> None:
    root = parse(text).root
    assert isinstance(root, Comparison)
    assert root.value == value


def test_quoted_value_with_separators_matches() -> None:
    assert matches('id="a && b" && totalAmount=1', {"id": "A && B", "totalAmount": 1})


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        *("", "   ", "id", "id=", 'id=""', "id=1 &&", "&& id=1", "id=1 ||", "{id=1", "id=1}", "{}"),
        "{id=1}}",
        *("1id=1", ".id=1", "id.=1", "id 1", "id=1 && && id=2", 'id="abc', r'id="a\nb"', 'id="a" b'),
        *("totalAmount~1", "modifiedDate~2022", "isDeleted~true", "id>a", "id<=a", "isDeleted>true"),
        *("totalAmount=abc", "totalAmount==1", "totalAmount=NaN", "totalAmount=inf", "totalAmount=1_000"),
        *("modifiedDate>yesterday", "modifiedDate>2022-13-01", "modifiedDate>2022-08-23 12:00:00"),
        *("modifiedDate>20220823", "modifiedDate>2022-08-23T12:00:00+0100", "isDeleted=yes", "isDeleted=1"),
        *("{" * 101 + "id=1" + "}" * 101, "unknown=1 &&", "unknown=1 || {"),
    ],
)
def test_malformed_queries(text: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    assert str(info.value) == MALFORMED
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("unknown=1", "unknown"),
        ("id=1 || customerRef=61", "customerRef"),
        ("customerRef.name=x", "customerRef.name"),
        ("unknown=1 && totalAmount=abc", "unknown"),
        ("lines.id=1", "lines.id"),
    ],
)
def test_unknown_property(text: str, name: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(text)
    assert str(info.value) == unresolved(name)


def test_leftmost_semantic_error_wins() -> None:
    with pytest.raises(QueryError) as info:
        parse("totalAmount=abc && unknown=1")
    assert str(info.value) == MALFORMED


def test_nesting_within_the_limit_parses() -> None:
    assert parse("{" * 100 + "id=1" + "}" * 100).root == Comparison("id", "=", "1")


def test_length_limit() -> None:
    def padded(length: int) -> str:
        return 'id="' + "a" * (length - 5) + '"'

    assert len(padded(MAX_QUERY_LENGTH)) == 2048
    assert parse(padded(2048)).matches({"id": "a" * 2043})
    for text in (padded(2049), "{" * 2049):
        with pytest.raises(QueryError) as info:
            parse(text)
        assert str(info.value) == TOO_LONG


# --- to_utc --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-08-23T12:00:00Z", utc(2022, 8, 23, 12)),
        ("2022-08-23T12:00:00", utc(2022, 8, 23, 12)),
        ("2022-08-23T14:30:00+02:30", utc(2022, 8, 23, 12)),
        ("2022-08-23T07:00:00-05:00", utc(2022, 8, 23, 12)),
        ("2022-08-23T12:00:00.1234567Z", utc(2022, 8, 23, 12, 0, 0, 123456)),
        ("2022-08-23T12:00:00.1234569+00:00", utc(2022, 8, 23, 12, 0, 0, 123456)),
        ("2022-08-23T12:00:00.5", utc(2022, 8, 23, 12, 0, 0, 500000)),
        ("2022-08-23t12:00:00z", utc(2022, 8, 23, 12)),
        ("2022-08-23", utc(2022, 8, 23)),
        ("0001-01-01T00:00:00", datetime.min.replace(tzinfo=UTC)),
        ("0001-01-01T00:00:00+01:00", datetime.min.replace(tzinfo=UTC)),
        (datetime(2022, 8, 23, 12), utc(2022, 8, 23, 12)),
        (datetime(2022, 8, 23, 14, tzinfo=timezone(timedelta(hours=2))), utc(2022, 8, 23, 12)),
        (date(2022, 8, 23), utc(2022, 8, 23)),
        ("not a date", None),
        ("2022-02-30", None),
        (1661256000, None),
        (None, None),
    ],
)
def test_to_utc(value: object, expected: datetime | None) -> None:
    result = to_utc(value)
    assert result == expected
    if result is not None:
        assert result.utcoffset() == timedelta(0)


# --- orderBy -------------------------------------------------------------------------------------


def test_parse_order_by() -> None:
    assert parse_order_by("modifiedDate", FIELDS, TYPE) == OrderBy("modifiedDate", False, "datetime")
    assert parse_order_by("-totalAmount", FIELDS, TYPE) == OrderBy("totalAmount", True, "number")


@pytest.mark.parametrize(("text", "name"), [("unknown", "unknown"), ("-customerRef.id", "customerRef.id")])
def test_order_by_unknown_property(text: str, name: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_order_by(text, FIELDS, TYPE)
    assert str(info.value) == f"Error parsing orderBy - Could not resolve property {name} on {TYPE}"


@pytest.mark.parametrize("text", ["", "  ", "-", "--id", "+id", "id,totalAmount", "id desc"])
def test_order_by_malformed(text: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_order_by(text, FIELDS, TYPE)
    assert str(info.value) == "Error parsing orderBy - Malformed orderBy."


def test_order_by_key_orders_mixed_forms_and_presence() -> None:
    records: list[dict[str, Any]] = [
        {"n": 1, "totalAmount": "10"},
        {"n": 2},
        {"n": 3, "totalAmount": 2.5},
        {"n": 4, "totalAmount": None},
        {"n": 5, "totalAmount": Decimal("-1")},
        {"n": 6, "totalAmount": 3},
    ]
    ascending = parse_order_by("totalAmount", FIELDS, TYPE)
    descending = parse_order_by("-totalAmount", FIELDS, TYPE)
    assert [r["n"] for r in sorted(records, key=ascending.key)] == [2, 4, 5, 3, 6, 1]
    assert [r["n"] for r in sorted(records, key=descending.key, reverse=True)] == [1, 6, 3, 5, 2, 4]


def test_order_by_dates_and_strings() -> None:
    dates = ["2022-08-23T12:00:00+02:00", "0001-01-01T00:00:00", "2022-08-23T11:00:00.0000001Z", "junk"]
    order = parse_order_by("modifiedDate", FIELDS, TYPE)
    ordered = sorted(dates, key=lambda d: order.key({"modifiedDate": d}))
    assert ordered == [dates[3], dates[1], dates[0], dates[2]]
    ids = parse_order_by("id", FIELDS, TYPE)
    assert sorted(["b", "B", "a"], key=lambda s: ids.key({"id": s})) == ["B", "a", "b"]


# --- cursor_bounds -------------------------------------------------------------------------------

A, B = utc(2022, 8, 1), utc(2022, 9, 1)


@pytest.mark.parametrize(
    ("text", "lower", "upper", "has_residual"),
    [
        ("modifiedDate>=2022-08-01", Bound(A, True), None, False),
        ("modifiedDate>2022-08-01 && modifiedDate<2022-09-01", Bound(A, False), Bound(B, False), False),
        ("modifiedDate=2022-08-01", Bound(A, True), Bound(A, True), False),
        ("modifiedDate>=2022-08-01 && modifiedDate>2022-08-01", Bound(A, False), None, False),
        ("modifiedDate>2022-08-01 && modifiedDate>=2022-09-01", Bound(B, True), None, False),
        ("modifiedDate<=2022-09-01 && modifiedDate<2022-08-01", None, Bound(A, False), False),
        ("id=x && modifiedDate<=2022-09-01 && modifiedDate!=2022-08-01", None, Bound(B, True), True),
        ("{modifiedDate>=2022-08-01 && id=x} && totalAmount>1", Bound(A, True), None, True),
    ],
)
def test_cursor_bounds(text: str, lower: Bound | None, upper: Bound | None, has_residual: bool) -> None:
    got_lower, got_upper, residual = parse(text).cursor_bounds("modifiedDate")
    assert (got_lower, got_upper) == (lower, upper)
    assert (residual is not None) is has_residual
    if residual is not None:
        parts = residual.root.parts if isinstance(residual.root, And) else (residual.root,)
        left = [p.op for p in parts if isinstance(p, Comparison) and p.field == "modifiedDate"]
        assert left in ([], ["!="])


@pytest.mark.parametrize("text", ["modifiedDate>=2022-08-01 || id=x", "id=x && totalAmount>1", "id=x"])
def test_cursor_bounds_without_range(text: str) -> None:
    query = parse(text)
    assert query.cursor_bounds("modifiedDate") == (None, None, query)


# --- property tests: a reference evaluator built beside the query text ---------------------------

Truth = dict[str, Any]
Ref = Callable[[Truth], bool]
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}
STRINGS = ["acme", "ACME Ltd", "Acme && Sons", "b||c", "x}y", 'q"uote', "back\\slash", "Acme & Co", " pad "]
NEEDLES = [*STRINGS, "acme", "ltd", "&&", "c", "ACME", "}", '"']
INSTANTS = [
    utc(2022, 8, 23),
    utc(2022, 8, 23, 12),
    utc(2022, 8, 23, 12, 0, 0, 500000),
    utc(2022, 8, 22, 23, 59, 59, 999999),
    utc(2021, 1, 1),
    utc(2023, 3, 4, 5, 6, 7, 123456),
]
AMOUNTS = ["0", "1", "1.5", "-2", "100", "0.1", "0.3", "1E+3"]
# the last two are no float's shortest repr, so float records take the exact-decimal path
QUERY_AMOUNTS = [*AMOUNTS, "+1", ".5", "1.", "1e2", "-0.10", "0.30000000000000001", "0.29999999999999999"]
SPACE = st.sampled_from(["", " ", "  ", "\t"])


@dataclass(frozen=True)
class Expr:
    text: str
    ref: Ref
    compound: bool = False


def _render_instant(draw: st.DrawFn, instant: datetime, *, record: bool) -> str:
    forms = ["Z", "naive", "offset"]
    if instant.hour == instant.minute == instant.second == instant.microsecond == 0:
        forms.append("date")
    if record and instant.microsecond:
        forms.append("seven")
    form = draw(st.sampled_from(forms))
    if form == "date":
        return instant.date().isoformat()
    if form == "naive":
        return instant.replace(tzinfo=None).isoformat()
    if form == "offset":
        return instant.astimezone(timezone(timedelta(hours=-3, minutes=-30))).isoformat()
    if form == "seven":
        return f"{instant:%Y-%m-%dT%H:%M:%S.%f}{draw(st.integers(0, 9))}Z"
    return instant.isoformat().replace("+00:00", "Z")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def leaves(draw: st.DrawFn, fields: tuple[str, ...] = tuple(FIELDS)) -> Expr:
    name = draw(st.sampled_from(fields))
    kind = FIELDS[name]
    if kind == "string":
        op = draw(st.sampled_from(["=", "!=", "~"]))
        needle = draw(st.sampled_from(NEEDLES))
        unsafe = any(s in needle for s in ("&&", "||", "}")) or needle != needle.strip() or needle[0] == '"'
        text = _quote(needle) if unsafe or draw(st.booleans()) else needle
        folded = needle.casefold()
        if op == "~":
            compare: Callable[[Any], bool] = lambda v: folded in v.casefold()  # noqa: E731
        else:
            compare = lambda v: OPS[op](v.casefold(), folded)  # noqa: E731
    elif kind == "boolean":
        op = draw(st.sampled_from(["=", "!="]))
        text = draw(st.sampled_from(["true", "TRUE", "false", "False"]))
        compare = lambda v: OPS[op](v, text.lower() == "true")  # noqa: E731
    else:
        op = draw(st.sampled_from(list(OPS)))
        if kind == "number":
            text = draw(st.sampled_from(QUERY_AMOUNTS))
            target: Any = Decimal(text)
        else:
            target = draw(st.sampled_from(INSTANTS))
            text = _render_instant(draw, target, record=False)
        compare = lambda v: OPS[op](v, target)  # noqa: E731
    source = f"{name}{draw(SPACE)}{op}{draw(SPACE)}{text}"
    if draw(st.integers(0, 4)) == 0:
        source = "{" + draw(SPACE) + source + draw(SPACE) + "}"
    return Expr(source, lambda truth: truth.get(name) is not None and compare(truth[name]))


@st.composite
def chains(draw: st.DrawFn, children: st.SearchStrategy[Expr]) -> Expr:
    parts = draw(st.lists(children, min_size=2, max_size=4))
    ops = draw(st.lists(st.sampled_from(["&&", "||"]), min_size=len(parts) - 1, max_size=len(parts) - 1))
    texts = [f"{{{draw(SPACE)}{p.text}{draw(SPACE)}}}" if p.compound else p.text for p in parts]
    joined = (f"{draw(SPACE)}{op}{draw(SPACE)}{t}" for op, t in zip(ops, texts[1:], strict=True))
    text = texts[0] + "".join(joined)
    groups: list[list[Ref]] = [[parts[0].ref]]  # split on ||: any group whose members all hold
    for op, part in zip(ops, parts[1:], strict=True):
        if op == "||":
            groups.append([])
        groups[-1].append(part.ref)
    return Expr(text, lambda truth: any(all(ref(truth) for ref in group) for group in groups), compound=True)


queries = st.recursive(leaves(), chains, max_leaves=8)


@st.composite
def records(draw: st.DrawFn) -> tuple[dict[str, Any], Truth]:
    record: dict[str, Any] = {}
    truth: Truth = {}
    absent = st.sampled_from(["missing", "none"])

    def put(name: str, raw: object, true: object) -> None:
        record[name] = raw
        truth[name] = true

    if draw(st.integers(0, 5)):
        value = draw(st.sampled_from(STRINGS))
        put("id", value, value)
    elif draw(absent) == "none":
        put("id", None, None)
    amount = Decimal(draw(st.sampled_from(AMOUNTS)))
    form = draw(st.sampled_from(["int", "float", "decimal", "str", "junk", "nan", "none", "missing"]))
    if form != "missing":
        raw = {"float": float(amount), "decimal": amount, "str": str(amount), "junk": "n/a"}.get(form)
        raw = int(amount) if form == "int" and amount == int(amount) else raw
        raw = float("nan") if form == "nan" else raw
        put("totalAmount", raw, None if form in {"junk", "nan", "none"} or raw is None else amount)
    form = draw(st.sampled_from(["date", "date", "date", "sentinel", "junk", "none", "missing"]))
    if form == "date":
        instant = draw(st.sampled_from(INSTANTS))
        put("modifiedDate", _render_instant(draw, instant, record=True), instant)
    elif form != "missing":
        put(
            "modifiedDate",
            {"sentinel": "0001-01-01T00:00:00", "junk": "not-a-date"}.get(form),
            datetime.min.replace(tzinfo=UTC) if form == "sentinel" else None,
        )
    flag = draw(st.sampled_from([True, False, None, "true", "missing"]))
    if flag != "missing":
        put("isDeleted", flag, flag if isinstance(flag, bool) else None)
    ref = draw(st.sampled_from(["dict", "none", "empty", "list", "missing"]))
    if ref == "dict":
        value = draw(st.sampled_from(STRINGS))
        record["customerRef"] = {"id": value, "name": "n"}
        truth["customerRef.id"] = value
    elif ref != "missing":
        record["customerRef"] = {"none": None, "empty": {}, "list": [{"id": "acme"}]}[ref]
    return record, truth


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=queries, rows=st.lists(records(), min_size=1, max_size=12))
def test_matches_agrees_with_reference(expr: Expr, rows: list[tuple[dict[str, Any], Truth]]) -> None:
    query = parse(expr.text)
    for record, truth in rows:
        assert query.matches(record) == expr.ref(truth), (expr.text, record)


def _in_bounds(value: object, lower: Bound | None, upper: Bound | None) -> bool:
    instant = to_utc(value)
    if instant is None:
        return False
    above = lower is None or instant > lower.value or (lower.inclusive and instant == lower.value)
    below = upper is None or instant < upper.value or (upper.inclusive and instant == upper.value)
    return above and below


@st.composite
def cursor_queries(draw: st.DrawFn) -> str:
    dated = leaves(fields=("modifiedDate",))
    parts = draw(st.lists(st.one_of(dated, dated, leaves(), queries), min_size=1, max_size=5))
    texts = ["{" + p.text + "}" if p.compound else p.text for p in parts]
    joiner = draw(st.sampled_from([" && ", "&&", " && ", " || "]))
    return joiner.join(texts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=cursor_queries(), rows=st.lists(records(), min_size=1, max_size=12))
def test_cursor_bounds_split_preserves_matches(text: str, rows: list[tuple[dict[str, Any], Truth]]) -> None:
    query = parse(text)
    lower, upper, residual = query.cursor_bounds("modifiedDate")
    if lower is None and upper is None:
        assert residual is query
        return
    assert isinstance(query.root, (And, Comparison))
    for record, _ in rows:
        split = _in_bounds(record.get("modifiedDate"), lower, upper) and (
            residual is None or residual.matches(record)
        )
        assert query.matches(record) == split, (text, record)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='idtoalAmunfD.=!<>~&|{}" \\-0123456789TZ:x', max_size=60))
def test_arbitrary_text_parses_or_raises_query_error(text: str) -> None:
    try:
        query = parse(text)
    except QueryError as exc:
        unknown = re.fullmatch(unresolved(r"([\w.]+)"), str(exc))
        assert str(exc) == MALFORMED or (unknown is not None and unknown.group(1) not in FIELDS)
    else:
        query.matches({"id": "x", "totalAmount": 1, "modifiedDate": "2022-08-23", "isDeleted": True})
