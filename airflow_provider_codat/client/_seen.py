"""The ids one list pull has yielded, in 16 bytes of hash each rather than a Python set of strings.

Each id is kept as two 64-bit SipHash values (Python's own keyed ``hash`` of the id, and of the id
with a separator appended: two independent keyed hashes, 128 bits in all) in an open-addressing
table. A false match needs both to collide: for ``n`` ids the chance of any false match in one pull
is below ``n**2 / 2**129``, so about ``1.5e-27`` at 1,000,000 records and ``1.5e-23`` at 100,000,000.
A false match would drop one record, so the bound is the chance of a loss.

The table is sized to the pull's ``totalResults`` (known from page 1) and holds at most four
fifths of its slots of 17 bytes, so memory is about 21 bytes a record (up to 32 after it grows
past an underestimate), with no per-record Python object.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

__all__ = ["SeenIds"]

_MIN_SLOTS = 1024
_LOAD = 0.8
"""The largest share of slots in use; linear probing stays short (about 3 probes an insert) below it."""
_GROWTH = 1.5


def _slots_for(count: int) -> int:
    return max(_MIN_SLOTS, math.ceil(count / _LOAD) + 1)


class SeenIds:
    """The record ids yielded so far, each tagged with the pass of the pull that last met it.

    :param expected: How many ids to make room for up front (the table grows past it).
    """

    def __init__(self, expected: int = 0) -> None:
        self._allocate(_slots_for(expected))
        self._count = 0

    def _allocate(self, slots: int) -> None:
        self._high = array("q", bytes(8 * slots))  # 0 marks an empty slot
        self._low = array("q", bytes(8 * slots))
        self._pass = bytearray(slots)

    def __len__(self) -> int:
        return self._count

    def reserve(self, count: int) -> None:
        """Make room for ``count`` ids in all, so that a pull of known size never rehashes."""
        if _slots_for(count) > len(self._pass):
            self._grow(_slots_for(count))

    def _grow(self, slots: int) -> None:
        old = zip(self._high, self._low, self._pass, strict=True)
        self._allocate(slots)
        high, low, passes = self._high, self._low, self._pass
        for h, lo, mark in old:
            if h:
                i = h % slots
                while high[i]:
                    i = i + 1 if i + 1 < slots else 0
                high[i], low[i], passes[i] = h, lo, mark

    def sift(self, ids: Sequence[Any], pass_number: int) -> tuple[list[int], bool]:
        """Remember ``ids`` (a record's id, or None) as met in pass ``pass_number`` (0 to 254).

        :return: The positions of the records whose id no earlier page had, and whether some id
            had already been met in this same pass (the result set moved under the pages).
            Records without an id cannot be told apart: they always count as new.
        """
        needed = self._count + len(ids)
        if needed > len(self._pass) * _LOAD:
            self._grow(_slots_for(math.ceil(needed * _GROWTH)))
        high, low, passes = self._high, self._low, self._pass
        slots = len(passes)
        tag = pass_number + 1
        fresh: list[int] = []
        repeated = False
        for position, record_id in enumerate(ids):
            if record_id is None:
                fresh.append(position)
                continue
            text = record_id if isinstance(record_id, str) else str(record_id)
            h = hash(text) or 1
            lo = hash(text + "\x1f")
            i = h % slots
            while True:
                slot = high[i]
                if not slot:
                    high[i], low[i], passes[i] = h, lo, tag
                    self._count += 1
                    fresh.append(position)
                    break
                if slot == h and low[i] == lo:
                    if passes[i] == tag:
                        repeated = True
                    passes[i] = tag
                    break
                i = i + 1 if i + 1 < slots else 0
        return fresh, repeated
