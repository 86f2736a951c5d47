"""Decoding Codat's JSON: exact decimals, typed errors, and each record's text as sent.

A list page is scanned at its top level with the C decoder's ``raw_decode``, so each record is
parsed once and its exact source text is kept beside it: ``jsonl`` output can then be written
byte for byte as Codat sent it, with no float round trip of money.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from airflow_provider_codat.exceptions import CodatDecodeError

__all__ = ["Page", "decode_json", "decode_page"]

_DECODER = json.JSONDecoder(parse_float=Decimal)
_WS = " \t\n\r"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a Codat list.

    :param number: ``pageNumber`` as the request asked for it.
    :param size: The requested ``pageSize`` (the echoed one is not trusted).
    :param total: ``totalResults`` as this page reported it.
    :param records: The records, parsed with exact :class:`~decimal.Decimal` numbers.
    :param texts: The JSON text of each record exactly as Codat sent it.
    :param has_next: Whether ``_links.next`` was present.
    """

    number: int
    size: int
    total: int
    records: list[dict[str, Any]]
    texts: list[str]
    has_next: bool


def decode_json(content: bytes, *, where: str = "") -> Any:
    """Parse a JSON body with exact decimals.

    :raises CodatDecodeError: If the body is not JSON.
    """
    try:
        return _DECODER.decode(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodatDecodeError(f"Codat sent a body that is not valid JSON: {exc}{where}") from None


def decode_page(content: bytes, *, number: int, size: int, where: str = "") -> Page:
    """Parse a paged envelope, keeping every record's source text.

    :raises CodatDecodeError: If the body is not JSON or not a paged envelope.
    """
    try:
        text = content.decode("utf-8")
        envelope, records, texts = _scan_envelope(text)
        total = envelope["totalResults"]
        links = envelope.get("_links") or {}
        if not isinstance(total, int) or isinstance(total, bool) or not isinstance(links, dict):
            raise ValueError("totalResults or _links has the wrong type")
    except (UnicodeDecodeError, ValueError, KeyError, IndexError) as exc:
        raise CodatDecodeError(f"Codat sent a list body that is not a valid page: {exc}{where}") from None
    return Page(number, size, total, records, texts, has_next="next" in links)


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _expect(text: str, i: int, char: str) -> int:
    i = _skip(text, i)
    if text[i] != char:
        raise ValueError(f"expected {char!r} at offset {i}")
    return i + 1


def _scan_envelope(text: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    envelope: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    texts: list[str] = []
    i = _expect(text, 0, "{")
    i = _skip(text, i)
    if text[i] == "}":
        raise ValueError("empty object")
    while True:
        key, i = _DECODER.raw_decode(text, _skip(text, i))
        if not isinstance(key, str):
            raise ValueError(f"an envelope key is not a string at offset {i}")
        i = _skip(text, _expect(text, i, ":"))
        if key == "results":
            i = _scan_results(text, i, records, texts)
            envelope[key] = None
        else:
            envelope[key], i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if text[i] == "}":
            break
        i = _expect(text, i, ",")
    if _skip(text, i + 1) != len(text):
        raise ValueError("trailing data after the envelope")
    if "results" not in envelope:
        raise ValueError("no results")
    return envelope, records, texts


def _scan_results(text: str, i: int, records: list[dict[str, Any]], texts: list[str]) -> int:
    i = _expect(text, i, "[")
    i = _skip(text, i)
    if text[i] == "]":
        return i + 1
    while True:
        start = _skip(text, i)
        record, i = _DECODER.raw_decode(text, start)
        if not isinstance(record, dict):
            raise ValueError("a result is not an object")
        records.append(record)
        texts.append(text[start:i])
        i = _skip(text, i)
        if text[i] == "]":
            return i + 1
        i = _expect(text, i, ",")
