"""One resource on one connection: a lazily generated, queryable, pageable record set.

Records are never stored. Record ``i`` is built on demand from the connection and its index,
with ``modifiedDate`` taken from the dataset's timeline:

- the seeded records, ``0 .. base_count-1``, whose modifiedDates rise in sync batches over the
  ``history`` before the anchor (many records share one timestamp, as Codat's syncs stamp them);
- records that arrive while the sandbox runs (new payouts), appended with their arrival time;
- overrides: records whose modifiedDate was bumped to "now" (the data-changes-during-paging fault).

A ``modifiedDate`` range therefore maps to index ranges by binary search, so an unfiltered or
modifiedDate-filtered page of a million-record dataset costs only the records on that page.
Other filters and orderings scan the candidate range once and cache the resulting index list.
"""

from __future__ import annotations

import bisect
import functools
import math
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_codat.resources import Resource
from airflow_provider_codat.sandbox._random import mix
from airflow_provider_codat.sandbox.generators import BUILDERS, ConnectionData, index_of, record_id
from airflow_provider_codat.sandbox.query import Bound, OrderBy, Query

__all__ = ["Dataset", "IndexView", "ListView", "format_timestamp"]

CURSOR = "modifiedDate"
_CACHE_SIZE = 8


@functools.lru_cache(maxsize=4096)
def format_timestamp(ts: int) -> str:
    """Format epoch seconds the way Codat stamps ``modifiedDate``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class IndexView:
    """An ordered selection of record indices, held as runs so a whole range costs nothing."""

    def __init__(self, runs: Sequence[tuple[int, int]] = (), *, reverse: bool = False) -> None:
        self._runs = [(a, b) for a, b in runs if b > a]
        self._reverse = reverse
        self._starts: list[int] = []
        total = 0
        for a, b in self._runs:
            self._starts.append(total)
            total += b - a
        self._len = total

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[int]:
        for a, b in reversed(self._runs) if self._reverse else self._runs:
            yield from (range(b - 1, a - 1, -1) if self._reverse else range(a, b))

    def slice(self, offset: int, limit: int) -> list[int]:
        """Return up to ``limit`` indices starting at position ``offset``."""
        end = min(self._len, offset + max(limit, 0))
        if offset >= end:
            return []
        if not self._reverse:
            return self._forward(offset, end - offset)
        out = self._forward(self._len - end, end - offset)
        out.reverse()
        return out

    def _forward(self, offset: int, limit: int) -> list[int]:
        out: list[int] = []
        k = bisect.bisect_right(self._starts, offset) - 1
        while limit > 0 and k < len(self._runs):
            a, b = self._runs[k]
            lo = a + (offset - self._starts[k])
            hi = min(b, lo + limit)
            out.extend(range(lo, hi))
            limit -= hi - lo
            offset += hi - lo
            k += 1
        return out


class ListView(IndexView):
    """An explicit, already ordered list of indices (the result of a scan or a sort)."""

    def __init__(self, indices: Sequence[int]) -> None:
        self._indices = indices
        self._len = len(indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices)

    def slice(self, offset: int, limit: int) -> list[int]:
        """Return up to ``limit`` indices starting at position ``offset``."""
        return list(self._indices[offset : offset + max(limit, 0)])


class Dataset:
    """The records of one resource on one connection, with their modifiedDate timeline."""

    def __init__(
        self,
        resource: Resource,
        ctx: ConnectionData,
        *,
        base_count: int,
        history: timedelta,
        batch_size: int | None = None,
    ) -> None:
        self.resource = resource
        self.ctx = ctx
        self.base_count = base_count
        self._build = BUILDERS[resource.name]
        self._end = int(ctx.anchor.timestamp())
        self._start = self._end - max(1, int(history.total_seconds()))
        # Codat stamps a sync's batch with one modifiedDate: up to 100 records share one here.
        self._batch = max(1, batch_size if batch_size is not None else min(100, base_count // 200))
        batches = max(1, math.ceil(base_count / self._batch))
        self._step = (self._end - self._start) / batches
        self._arrivals: list[int] = []
        self._overrides: dict[int, int] = {}
        self._cache: OrderedDict[tuple[Any, ...], IndexView] = OrderedDict()
        self._lock = threading.Lock()
        self.version = 0

    # -- the timeline -------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.base_count + len(self._arrivals)

    def _base_time(self, i: int) -> int:
        return self._start + int((i // self._batch) * self._step)

    def time_of(self, i: int) -> int:
        """Return record ``i``'s modifiedDate as epoch seconds."""
        bumped = self._overrides.get(i)
        if bumped is not None:
            return bumped
        if i < self.base_count:
            return self._base_time(i)
        return self._arrivals[i - self.base_count]

    def record(self, i: int) -> dict[str, Any]:
        """Build record ``i`` as Codat would send it."""
        return self._build(self.ctx, i, format_timestamp(self.time_of(i)))

    def find(self, rid: str) -> dict[str, Any] | None:
        """Return the record whose id is ``rid``, or None."""
        i = index_of(self.resource.name, rid, self.base_count)
        return self.record(i) if i is not None and i < len(self) else None

    def append(self, when: int, count: int = 1) -> list[str]:
        """Append ``count`` records (new payouts) stamped ``when``; return their ids."""
        with self._lock:
            when = max(when, self._arrivals[-1] if self._arrivals else when)
            first = len(self)
            self._arrivals.extend([when] * count)
            self._changed()
        return [record_id(self.resource.name, i, self.base_count) for i in range(first, first + count)]

    def bump(self, when: int, count: int, salt: int) -> list[int]:
        """Move the modifiedDate of ``count`` pseudo-randomly chosen records to ``when``."""
        with self._lock:
            size = len(self)
            if size == 0:
                return []
            chosen = sorted({mix(self.ctx.seed, salt, k) % size for k in range(count)})
            for i in chosen:
                self._overrides[i] = when
            self._changed()
        return chosen

    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()

    # -- selection ----------------------------------------------------------------------------
    def select(self, query: Query | None, order: OrderBy | None) -> IndexView:
        """Return the indices matching ``query`` in ``order`` (index order when None)."""
        key = (self.version, query, order)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        view = self._select(query, order)
        with self._lock:
            if key[0] == self.version:
                self._cache[key] = view
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return view

    def _select(self, query: Query | None, order: OrderBy | None) -> IndexView:
        lower: Bound | None = None
        upper: Bound | None = None
        residual = query
        if query is not None:
            lower, upper, residual = query.cursor_bounds(CURSOR)
        runs = self._runs_within(lower, upper)
        if residual is None and order is None:
            return IndexView(runs)
        if residual is None and order is not None and order.field == CURSOR and self._time_ordered():
            return IndexView(runs, reverse=order.descending)
        candidates = IndexView(runs)
        indices = [i for i in candidates if residual is None or residual.matches(self.record(i))]
        if order is not None:
            keys = {i: order.key(self.record(i)) for i in indices}
            indices.sort(key=keys.__getitem__)  # stable: ties keep index order
            if order.descending:  # descending is the exact reverse of ascending, ties included
                indices.reverse()
        return ListView(array("q", indices))

    def _runs_within(self, lower: Bound | None, upper: Bound | None) -> list[tuple[int, int]]:
        lo_t = _epoch(lower)
        hi_t = _epoch(upper)
        lo_strict = lower is not None and not lower.inclusive
        hi_strict = upper is not None and not upper.inclusive
        base = self._base_range(lo_t, lo_strict, hi_t, hi_strict)
        n = self.base_count
        a = _bisect_time(self._arrivals, lo_t, lo_strict, lower=True)
        b = _bisect_time(self._arrivals, hi_t, hi_strict, lower=False)
        ranges = [base, (n + a, n + max(a, b))]
        if not self._overrides:
            return ranges
        inside = [
            i for i, when in self._overrides.items() if _in_bounds(when, lo_t, lo_strict, hi_t, hi_strict)
        ]
        points = sorted(self._overrides)
        runs: list[tuple[int, int]] = []
        for start, stop in ranges:
            cur = start
            for i in points[bisect.bisect_left(points, start) : bisect.bisect_left(points, stop)]:
                runs.append((cur, i))
                cur = i + 1
            runs.append((cur, stop))
        runs.extend((i, i + 1) for i in inside)
        runs.sort()
        return runs

    def _base_range(
        self, lo_t: float | None, lo_strict: bool, hi_t: float | None, hi_strict: bool
    ) -> tuple[int, int]:
        batches = range(math.ceil(self.base_count / self._batch))

        def first_batch(t: float, strict: bool) -> int:
            if strict:
                return bisect.bisect_right(batches, t, key=lambda b: self._base_time(b * self._batch))
            return bisect.bisect_left(batches, t, key=lambda b: self._base_time(b * self._batch))

        lo = 0 if lo_t is None else min(self.base_count, first_batch(lo_t, lo_strict) * self._batch)
        hi = (
            self.base_count
            if hi_t is None
            else min(self.base_count, first_batch(hi_t, not hi_strict) * self._batch)
        )
        return lo, max(lo, hi)

    def _time_ordered(self) -> bool:
        if self._overrides:
            return False
        return not self._arrivals or self._base_time(max(self.base_count - 1, 0)) <= self._arrivals[0]


def _epoch(bound: Bound | None) -> float | None:
    return None if bound is None else bound.value.timestamp()


def _bisect_time(times: list[int], t: float | None, strict: bool, *, lower: bool) -> int:
    if t is None:
        return 0 if lower else len(times)
    if lower:
        return bisect.bisect_right(times, t) if strict else bisect.bisect_left(times, t)
    return bisect.bisect_left(times, t) if strict else bisect.bisect_right(times, t)


def _in_bounds(when: int, lo: float | None, lo_strict: bool, hi: float | None, hi_strict: bool) -> bool:
    if lo is not None and (when < lo or (lo_strict and when == lo)):
        return False
    return not (hi is not None and (when > hi or (hi_strict and when == hi)))
