"""A byte-bounded LRU of rendered list pages.

Records are pure functions of their dataset's state, so a page rendered once is exact until the
dataset changes (its ``version`` is part of the key). Repeated pulls (tests, demos, benchmark
rounds) are then served at the speed of a real, scaled-out API instead of one Python process
building every record again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["PageCache"]


class PageCache:
    """Keep up to ``budget_bytes`` of page bodies, evicting the least recently used.

    :param budget_bytes: Total size of the bodies kept; 0 disables the cache.
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.size = 0
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        """Return the body cached under ``key``, or None."""
        with self._lock:
            body = self._pages.get(key)
            if body is not None:
                self._pages.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        """Cache ``body`` under ``key`` if it fits the budget."""
        if len(body) > self.budget:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            self.size -= len(old) if old is not None else 0
            self._pages[key] = body
            self.size += len(body)
            while self.size > self.budget:
                _, evicted = self._pages.popitem(last=False)
                self.size -= len(evicted)
