"""Handing freed heap memory back to the operating system, where the C library allows it.

The sync client reads page bodies on ten fetch threads, and they are freed by whichever thread
is done with the page last. With glibc, each thread allocates from its own arena, and once a
block of a page's size has been freed, blocks of that size come from the arenas rather than
fresh mappings; each arena then keeps the free memory it once held, and a long pull's resident
memory creeps up by tens of megabytes. ``malloc_trim`` returns free pages to the system: a fetch
thread calls it after every :data:`RELEASE_BYTES` of bodies read (about a millisecond, without
the GIL, while the consumer works on). With any other C library (musl, macOS) this is a no-op.
The async client reads every body on its event loop's thread, one arena, and needs none of it.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Callable

__all__ = ["RELEASE_BYTES", "MemoryRelease", "release_free_memory"]

RELEASE_BYTES = 1 << 20
"""Bytes of bodies read between two calls of :func:`release_free_memory` (one 5000-record page)."""


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):  # not glibc
        return None
    return trim


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``); else do nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class MemoryRelease:
    """Counts the bytes the fetch threads read, releasing free memory every :data:`RELEASE_BYTES`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read = 0

    def read(self, size: int) -> None:
        """Count ``size`` bytes just read; release free memory if enough were read since last time."""
        with self._lock:
            self._read += size
            due = self._read >= RELEASE_BYTES
            if due:
                self._read = 0
        if due:
            release_free_memory()
