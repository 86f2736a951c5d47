"""The bookkeeping of a batch extract: its (connection, resource) pairs, their manifests, its summary.

Pure of Airflow but for :class:`~airflow.sdk.ObjectStoragePath`, which reads and writes the
output directory on any object store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.output import MANIFEST_NAME

if TYPE_CHECKING:
    from airflow_provider_codat.client import Page

__all__ = [
    "MAX_FAILURES_RETURNED",
    "OUTCOMES",
    "Pair",
    "blocking",
    "connection_pairs",
    "landed_before",
    "write_summary",
]

OUTCOMES = ("done", "landed_before", "skipped", "failed", "not_started")
"""How a pair ended: landed now, landed by an earlier try, skipped, failed, or left for a retry."""
MAX_FAILURES_RETURNED = 20
"""Failures listed in the return value (``_summary.json`` lists them all)."""


@dataclass
class Pair:
    """One (connection, resource) to land, and how it ended."""

    company_id: str
    connection_id: str
    resource: str
    outcome: str = "not_started"  # one of OUTCOMES
    records: int = 0
    error: str | None = None
    retryable: bool = False
    manifest_uri: str | None = None

    def landed(self, outcome: str, manifest: dict[str, Any]) -> None:
        """Record that the pair landed, from its manifest."""
        self.outcome, self.records, self.manifest_uri = outcome, manifest["records"], manifest["manifest_uri"]

    def to_json(self) -> dict[str, Any]:
        """The pair as ``_summary.json`` lists it."""
        return {
            "company_id": self.company_id,
            "connection_id": self.connection_id,
            "resource": self.resource,
            "outcome": self.outcome,
            "records": self.records,
            "error": self.error,
            "manifest_uri": self.manifest_uri,
        }


def connection_pairs(connections: object) -> list[dict[str, str]]:
    from airflow_provider_codat.arguments import check_uuid

    if isinstance(connections, str) or not isinstance(connections, Sequence):
        raise CodatConfigError(
            "connections: expected a list of {'company_id': ..., 'connection_id': ...}, "
            f"got {type(connections).__name__}"
        )
    pairs = []
    for index, item in enumerate(connections):
        if not isinstance(item, dict) or "company_id" not in item or "connection_id" not in item:
            raise CodatConfigError(
                f"connections[{index}]: expected company_id and connection_id, got {item!r}"
            )
        pairs.append(
            {
                "company_id": check_uuid(item["company_id"], f"connections[{index}].company_id"),
                "connection_id": check_uuid(item["connection_id"], f"connections[{index}].connection_id"),
            }
        )
    return pairs


def blocking(pages: AsyncIterator[Page], loop: asyncio.AbstractEventLoop) -> Iterator[Page]:
    """Consume an async iterator of pages from a worker thread, fetching on ``loop``."""
    try:
        while True:
            try:
                yield asyncio.run_coroutine_threadsafe(_next(pages), loop).result()
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(pages, "aclose", None)
        if aclose is not None:
            asyncio.run_coroutine_threadsafe(aclose(), loop).result()


async def _next(pages: AsyncIterator[Page]) -> Page:
    return await anext(pages)


def landed_before(directory: str, run_id: str, window: dict[str, Any], fmt: str) -> dict[str, Any] | None:
    """The pair's manifest if run ``run_id`` already landed it for the same window and format."""
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(directory if "://" in directory else f"file://{directory}") / MANIFEST_NAME
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    same = (
        manifest.get("run_id") == run_id
        and manifest.get("window") == window
        and manifest.get("format") == fmt
    )
    return manifest if same else None


def write_summary(base: str, name: str, content: dict[str, Any]) -> str:
    from airflow.sdk import ObjectStoragePath

    directory = ObjectStoragePath(base if "://" in base else f"file://{base}")
    if (directory.protocol or "file") in ("file", "local"):
        directory.mkdir(parents=True, exist_ok=True)
    temp, final = directory / f".tmp-{name}", directory / name
    temp.write_text(json.dumps(content, indent=2) + "\n")
    temp.rename(final)
    return str(final)
