"""Writing streams: memory stays flat in the number of records, and importing the package is cheap."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_provider_codat.client._decode import Page, decode_page
from airflow_provider_codat.output import write_files
from airflow_provider_codat.sandbox.generators import BUILDERS, PLATFORMS, ConnectionData

PAGE_SIZE = 5_000


@pytest.fixture(scope="module")
def body() -> bytes:
    """One page of 5,000 generated payment methods, as Codat would send it."""
    ctx = ConnectionData(
        7,
        "co",
        "conn",
        "Acme",
        PLATFORMS[0],
        {"payment_methods": PAGE_SIZE},
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    records = [BUILDERS["payment_methods"](ctx, i, "2025-12-01T00:00:00Z") for i in range(PAGE_SIZE)]
    envelope = {"results": records, "pageNumber": 1, "pageSize": PAGE_SIZE, "totalResults": 0, "_links": {}}
    return json.dumps(envelope).encode()


def pages(body: bytes, count: int) -> Iterator[Page]:
    """``count`` pages, each decoded afresh from the body as a list call would."""
    for number in range(1, count + 1):
        yield decode_page(body, number=number, size=PAGE_SIZE)


@pytest.mark.parametrize(("fmt", "count"), [("jsonl", 40), ("parquet", 8)])
def test_memory_is_flat_in_the_record_count(body: bytes, tmp_path: Path, fmt: str, count: int) -> None:
    write_files(
        pages(body, 1), output=str(tmp_path / "warm"), fmt=fmt, resource="payment_methods", run_key="w"
    )
    tracemalloc.start()
    try:
        page = decode_page(body, number=1, size=PAGE_SIZE)
        assert len(page.texts) == PAGE_SIZE
        one_page = tracemalloc.get_traced_memory()[0]
        del page
        tracemalloc.reset_peak()
        manifest = write_files(
            pages(body, count), output=str(tmp_path / "out"), fmt=fmt, resource="payment_methods", run_key="r"
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert manifest["records"] == count * PAGE_SIZE
    # Holding every record would take `count` pages; streaming holds the page being written and the next.
    assert peak < 4 * one_page, f"peak {peak:,} B is {peak / one_page:.1f} pages of {one_page:,} B"


def test_importing_the_package_loads_nothing_heavy() -> None:
    heavy = ("pyarrow", "fsspec", "pydantic", "airflow", "httpx", "orjson")
    code = (
        "import sys, airflow_provider_codat.output as o; o.FORMATS, o.write_files, o.collect_for_xcom;"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
