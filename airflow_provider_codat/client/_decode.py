"""Decoding Codat's JSON: exact decimals, typed errors, and each record's text as sent.

A page is parsed in one call of the C decoder, with numbers as exact Decimals. Each record's
source text is only needed for lossless output, so :attr:`Page.texts` is computed on first use
by scanning the kept body with the decoder's ``raw_decode``: ``jsonl`` output is then written
byte for byte as Codat sent it, with no float round trip of money.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import Any

from airflow_provider_codat.exceptions import CodatDecodeError

__all__ = ["Page", "decode_json", "decode_page"]

_DECODER = json.JSONDecoder(parse_float=Decimal)
_SCANNER = json.JSONDecoder()  # finds where each record ends; its values are discarded
_WS = " \t\n\r"


@dataclass(frozen=True, eq=False)
class Page:
    """One page of a Codat list.

    :param number: ``pageNumber`` as the request asked for it.
    :param size: The requested ``pageSize`` (the echoed one is not trusted).
    :param total: ``totalResults`` as this page reported it.
    :param records: The records, parsed with exact :class:`~decimal.Decimal` numbers.
    :param has_next: Whether ``_links.next`` was present.
    :param body: The response body, kept for :attr:`texts`.
    :param positions: Which of the body's records ``records`` holds (None: all of them).
    """

    number: int
    size: int
    total: int
    records: list[dict[str, Any]]
    has_next: bool
    body: bytes = field(default=b"", repr=False)
    positions: tuple[int, ...] | None = field(default=None, repr=False)

    @cached_property
    def texts(self) -> list[str]:
        """The JSON text of each record exactly as Codat sent it."""
        if not self.body:
            return []
        texts = _scan_envelope(self.body.decode("utf-8"))
        return texts if self.positions is None else [texts[i] for i in self.positions]

    def only(self, positions: list[int]) -> Page:
        """Return this page holding only the records at ``positions`` (of :attr:`records`)."""
        absolute = positions if self.positions is None else [self.positions[i] for i in positions]
        return replace(self, records=[self.records[i] for i in positions], positions=tuple(absolute))


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
    return Page(number, size, total, records, has_next="next" in links, body=content)


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
