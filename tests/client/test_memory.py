"""Free memory handed back to the system while a pull reads its pages."""

from __future__ import annotations

import pytest

from airflow_provider_codat.client import _memory
from airflow_provider_codat.client._memory import RELEASE_BYTES, MemoryRelease, release_free_memory


def test_release_free_memory_runs_with_any_c_library() -> None:
    release_free_memory()  # glibc's malloc_trim, or nothing


def test_memory_is_released_once_per_release_bytes_read(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[None] = []
    monkeypatch.setattr(_memory, "release_free_memory", lambda: calls.append(None))
    memory = MemoryRelease()
    memory.read(RELEASE_BYTES - 1)
    assert not calls
    memory.read(1)
    assert len(calls) == 1
    for _ in range(4):
        memory.read(RELEASE_BYTES // 2)
    assert len(calls) == 3
