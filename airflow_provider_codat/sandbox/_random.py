"""Stateless, seedable pseudo-randomness: every value is a pure function of its inputs.

The sandbox derives each record from ``(seed, connection, resource, index)`` instead of holding
records in memory, so a million-record dataset costs no memory until a page is served. Python's
``hash()`` is salted per process, so strings are hashed with CRC32 to stay stable across runs.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["chance", "mix", "pick", "scramble", "stable_hash", "uuid_for"]

_MASK = (1 << 64) - 1
_T = TypeVar("_T")


def stable_hash(text: str) -> int:
    """Hash ``text`` the same way in every process."""
    return zlib.crc32(text.encode("utf-8"))


def mix(*parts: int) -> int:
    """Fold integers into one well-mixed 64-bit value (splitmix64 finaliser per part)."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = (h ^ (part & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK
        h ^= h >> 31
    return h


def scramble(h: int) -> int:
    """One cheap mixing round: spread any integer's bits over 64 (for derived, not seed, values)."""
    h = ((h ^ (h >> 31)) * 0xBF58476D1CE4E5B9) & _MASK
    return h ^ (h >> 29)


def chance(h: int, probability: float) -> bool:
    """Return True for a fraction ``probability`` of integers ``h`` (scrambled first)."""
    return (scramble(h) >> 11) < probability * (1 << 53)


def pick(h: int, options: Sequence[_T]) -> _T:
    """Choose one of ``options`` by hash."""
    return options[h % len(options)]


def uuid_for(*parts: int) -> str:
    """Return a deterministic version-4-shaped UUID string for ``parts``."""
    value = (mix(*parts, 1) << 64) | mix(*parts, 2)
    return str(uuid.UUID(int=value, version=4))
