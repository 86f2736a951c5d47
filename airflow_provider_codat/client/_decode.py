"""Decoding Codat's JSON: exact decimals, typed errors, and each record's text as sent.

A page is checked in one call of msgspec's C decoder, which validates the whole body (JSON
syntax and UTF-8) and the envelope's shape (``results`` a list of objects, ``totalResults`` an
integer) but keeps only each record's ``id``: exact paging needs no more. The records themselves
(:attr:`Page.records`) are decoded on first use, in one more call, with every JSON float handed
to :class:`~decimal.Decimal` as the text Codat sent (``float_hook``), so numbers stay exact. A
writer that needs only the records' text (``jsonl``, most of ``parquet``) never pays for them.
The cyclic garbage collector is paused for each decode call: a decoded JSON tree holds no
cycles, and a collection part-way through a page would scan the whole heap (large in an Airflow
worker) again and again for nothing.

Each record's source text is only needed for lossless output, so :attr:`Page.raw_texts` is
computed on first use by a second C pass that keeps each element of ``results`` as the bytes
Codat sent (:class:`msgspec.Raw`): ``jsonl`` output is then written byte for byte as sent, with
no float round trip of money.

Whatever msgspec refuses (a lone surrogate escape, ``NaN``, a malformed body) goes through the
standard library's decoder instead, which either accepts it as before or raises the same
:class:`~airflow_provider_codat.exceptions.CodatDecodeError` as before; so the fast path changes
no outcome, only its cost.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

import msgspec

from airflow_provider_codat.exceptions import CodatDecodeError

__all__ = ["Page", "decode_json", "decode_page", "decode_quietly"]

_DECODER = json.JSONDecoder(parse_float=Decimal)
_SCANNER = json.JSONDecoder()  # finds where each record ends; its values are discarded
_WS = " \t\n\r"

_T = TypeVar("_T")


class _Id(msgspec.Struct, gc=False):
    """A record as paging sees it: its id, as the full decode would give it."""

    id: Any = None


class _Envelope(msgspec.Struct, gc=False):
    """The parts of a paged envelope that are checked as they are parsed."""

    results: list[_Id]
    total: int = msgspec.field(name="totalResults")
    links: Any = msgspec.field(default=None, name="_links")


class _Records(msgspec.Struct):
    results: list[dict[str, Any]]


class _RawEnvelope(msgspec.Struct):
    results: list[msgspec.Raw]


_FAST_JSON = msgspec.json.Decoder(float_hook=Decimal)
_FAST_PAGE = msgspec.json.Decoder(_Envelope, float_hook=Decimal)
_FAST_RECORDS = msgspec.json.Decoder(_Records, float_hook=Decimal)
_FAST_TEXTS = msgspec.json.Decoder(_RawEnvelope)


@contextmanager
def _no_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector, if it runs, for one decode call."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Refused:
    """What :func:`_fast` returns when msgspec refuses a body."""


_REFUSED = _Refused()


def _fast(decode: Callable[[bytes], _T], content: bytes) -> _T | _Refused:
    """Decode ``content`` with msgspec, or return ``_REFUSED`` (the slow path then decides)."""
    try:
        return decode_quietly(decode, content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _REFUSED


def decode_quietly(decode: Callable[[bytes], _T], content: bytes) -> _T:
    """Return ``decode(content)`` with the cyclic garbage collector paused for the call."""
    with _no_collection():
        return decode(content)


def _is_utf8(content: bytes) -> bool:
    """Whether ``content`` is valid UTF-8 (the id-only parse does not look inside skipped strings)."""
    if content.isascii():
        return True
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Page:
    """One page of a Codat list.

    :param number: ``pageNumber`` as the request asked for it.
    :param size: The requested ``pageSize`` (the echoed one is not trusted).
    :param total: ``totalResults`` as this page reported it.
    :param records: The records, parsed with exact :class:`~decimal.Decimal` numbers; None to
        decode them from ``body`` on first use (then ``ids`` must be given).
    :param has_next: Whether ``_links.next`` was present.
    :param body: The response body, kept for :attr:`raw_texts` (and :attr:`records`, if not given).
    :param positions: Which of the body's records the page holds (None: all of them).
    :param ids: Each record's ``id`` (None where it has none), if ``records`` is not given.
    """

    def __init__(
        self,
        number: int,
        size: int,
        total: int,
        records: list[dict[str, Any]] | None,
        has_next: bool,
        *,
        body: bytes = b"",
        positions: tuple[int, ...] | None = None,
        ids: list[Any] | None = None,
    ) -> None:
        if records is None and ids is None:
            raise ValueError("Page needs its records or its ids")
        self.number, self.size, self.total, self.has_next = number, size, total, has_next
        self.body, self.positions = body, positions
        if records is not None:
            self.__dict__["records"] = records
        self._ids = ids

    def __repr__(self) -> str:
        return (
            f"Page(number={self.number}, size={self.size}, total={self.total}, "
            f"records={len(self)}, has_next={self.has_next})"
        )

    def __len__(self) -> int:
        """The number of records on the page (without decoding them)."""
        return len(self._ids) if self._ids is not None else len(self.records)

    @property
    def ids(self) -> list[Any]:
        """Each record's ``id`` as decoded, or None where it has none."""
        if self._ids is not None:
            return self._ids
        return [record.get("id") for record in self.records]

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        """The records, parsed with exact :class:`~decimal.Decimal` numbers (decoded on first use)."""
        parsed = _fast(_FAST_RECORDS.decode, self.body)
        records = parsed.results if not isinstance(parsed, _Refused) else _slow_page(self.body, "")[0]
        return records if self.positions is None else [records[i] for i in self.positions]

    @cached_property
    def raw_texts(self) -> list[bytes | msgspec.Raw]:
        """The UTF-8 JSON text of each record exactly as Codat sent it (bytes-like objects)."""
        if not self.body:
            return []
        raw = _fast(_FAST_TEXTS.decode, self.body)
        texts: list[bytes | msgspec.Raw]
        if not isinstance(raw, _Refused):
            texts = list(raw.results)
        else:
            texts = [text.encode() for text in _scan_envelope(self.body.decode("utf-8"))]
        return texts if self.positions is None else [texts[i] for i in self.positions]

    @cached_property
    def texts(self) -> list[str]:
        """The JSON text of each record exactly as Codat sent it."""
        return [bytes(text).decode() for text in self.raw_texts]

    def only(self, positions: list[int]) -> Page:
        """Return this page holding only the records at ``positions`` (of :attr:`records`)."""
        absolute = positions if self.positions is None else [self.positions[i] for i in positions]
        decoded = self.__dict__.get("records")
        return Page(
            self.number,
            self.size,
            self.total,
            None if decoded is None else [decoded[i] for i in positions],
            self.has_next,
            body=self.body,
            positions=tuple(absolute),
            ids=None if self._ids is None else [self._ids[i] for i in positions],
        )


def decode_json(content: bytes, *, where: str = "") -> Any:
    """Parse a JSON body with exact decimals.

    :raises CodatDecodeError: If the body is not JSON.
    """
    parsed = _fast(_FAST_JSON.decode, content)
    if not isinstance(parsed, _Refused):
        return parsed
    try:
        return _DECODER.decode(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodatDecodeError(f"Codat sent a body that is not valid JSON: {exc}{where}") from None


def decode_page(content: bytes, *, number: int, size: int, where: str = "") -> Page:
    """Check a paged envelope and read its records' ids; the records are decoded on first use.

    :raises CodatDecodeError: If the body is not JSON or not a paged envelope.
    """
    envelope = _fast(_FAST_PAGE.decode, content)
    if not isinstance(envelope, _Refused) and isinstance(envelope.links, dict | None) and _is_utf8(content):
        ids = [record.id for record in envelope.results]
        has_next = "next" in (envelope.links or {})
        return Page(number, size, envelope.total, None, has_next, body=content, ids=ids)
    records, total, links = _slow_page(content, where)
    return Page(number, size, total, records, has_next="next" in links, body=content)


def _slow_page(content: bytes, where: str) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """Parse and check an envelope with the standard library (what msgspec refused)."""
    try:
        envelope = _DECODER.decode(content.decode("utf-8"))
        if not isinstance(envelope, dict):
            raise ValueError("the body is not an object")
        records, total = envelope["results"], envelope["totalResults"]
        links = envelope.get("_links") or {}
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError("results is not a list of objects")
        if not isinstance(total, int) or isinstance(total, bool) or not isinstance(links, dict):
            raise ValueError("totalResults or _links has the wrong type")
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise CodatDecodeError(f"Codat sent a list body that is not a valid page: {exc}{where}") from None
    return records, total, links


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _expect(text: str, i: int, char: str) -> int:
    i = _skip(text, i)
    if text[i] != char:
        raise ValueError(f"expected {char!r} at offset {i}")
    return i + 1


def _scan_envelope(text: str) -> list[str]:
    """Return the source text of each element of the envelope's ``results``."""
    texts: list[str] = []
    i = _expect(text, 0, "{")
    while True:
        key, i = _DECODER.raw_decode(text, _skip(text, i))
        i = _skip(text, _expect(text, i, ":"))
        if key == "results":
            return _scan_results(text, i, texts)
        _, i = _DECODER.raw_decode(text, i)
        i = _expect(text, i, ",")


def _scan_results(text: str, i: int, texts: list[str]) -> list[str]:
    i = _skip(text, _expect(text, i, "["))
    if text[i] == "]":
        return texts
    while True:
        start = _skip(text, i)
        _, i = _SCANNER.raw_decode(text, start)
        texts.append(text[start:i])
        i = _skip(text, i)
        if text[i] == "]":
            return texts
        i = _expect(text, i, ",")
