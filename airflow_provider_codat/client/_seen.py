"""The ids one list pull has yielded, in 16 bytes of hash each rather than a Python set of strings.

Each id is kept as two 64-bit SipHash values (Python's own keyed ``hash`` of the id, and of the id
with a separator appended: two independent keyed hashes, 128 bits in all) in an open-addressing
table. A false match needs both to collide: for ``n`` ids the chance of any false match in one pull
is below ``n**2 / 2**129``, so about ``1.5e-27`` at 1,000,000 records and ``1.5e-23`` at 100,000,000.
A false match would drop one record, so the bound is the chance of a loss.

The table holds at most two thirds of its slots, so memory is 17 to 51 bytes a record (about 32
at 1,000,000), with no per-record Python object.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

__all__ = ["SeenIds"]

_MIN_SLOTS = 1024


def _slots_for(count: int) -> int:
    slots = _MIN_SLOTS
    while slots * 2 < count * 3:
        slots *= 2
    return slots


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
        self._mask = slots - 1

    def __len__(self) -> int:
        return self._count

    def reserve(self, count: int) -> None:
        """Make room for ``count`` ids in all, so that a pull of known size never rehashes."""
        if _slots_for(count) > len(self._pass):
            self._grow(_slots_for(count))

    def _grow(self, slots: int) -> None:
        old = zip(self._high, self._low, self._pass, strict=True)
        self._allocate(slots)
        high, low, passes, mask = self._high, self._low, self._pass, self._mask
        for h, lo, mark in old:
            if h:
                i = h & mask
                while high[i]:
                    i = (i + 1) & mask
                high[i], low[i], passes[i] = h, lo, mark

    def sift(self, records: Sequence[dict[str, Any]], pass_number: int) -> tuple[list[int], bool]:
        """Remember the ids of ``records`` as met in pass ``pass_number`` (0 to 254).

        :return: The positions of the records whose id no earlier page had, and whether some id
            had already been met in this same pass (the result set moved under the pages).
            Records without an id cannot be told apart: they always count as new.
        """
        if (self._count + len(records)) * 3 > len(self._pass) * 2:
            self._grow(_slots_for(self._count + len(records)))
        high, low, passes, mask = self._high, self._low, self._pass, self._mask
        tag = pass_number + 1
        fresh: list[int] = []
        repeated = False
        for position, record in enumerate(records):
            record_id = record.get("id")
            if record_id is None:
                fresh.append(position)
                continue
            text = record_id if isinstance(record_id, str) else str(record_id)
            h = hash(text) or 1
            lo = hash(text + "\x1f")
            i = h & mask
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
                i = (i + 1) & mask
        return fresh, repeated
