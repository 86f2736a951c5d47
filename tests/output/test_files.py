"""Part files and the manifest: exact content, splitting, atomic commit and idempotent reruns.

Most tests run twice, against a local directory and against S3 (moto's server on loopback).
"""

from __future__ import annotations

import gzip
import json
import logging
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import airflow.sdk  # noqa: F401  (configures logging now, not under a test's caplog handler)
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pytest_mock import MockerFixture

from airflow_provider_codat.client._decode import Page
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.models import model_for
from airflow_provider_codat.output import FORMATS, MANIFEST_NAME, _files, _writers, write_files
from airflow_provider_codat.output._arrow import arrow_schema
from tests.output.conftest import QUIRK_RECORD_TEXTS, Backend, exact, numbered_pages, page_of

EXT = {"jsonl": "jsonl", "jsonl.gz": "jsonl.gz", "parquet": "parquet"}


def jsonl_of(pages: list[Page]) -> bytes:
    return "".join(text + "\n" for page in pages for text in page.texts).encode()


def parquet(data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data))


def part(n: int, fmt: str = "jsonl", resource: str = "orders") -> str:
    return f"{resource}-part-{n:05d}.{EXT[fmt]}"


def failing_after(pages: list[Page], good: int) -> Iterator[Page]:
    """Yield ``good`` pages, then fail as a list call would on a server error."""
    yield from pages[:good]
    raise RuntimeError("Codat answered 503 on page 3")


# ---- content ---------------------------------------------------------------------------------------------


def test_jsonl_is_byte_identical_to_what_codat_sent(backend: Backend) -> None:
    pages = [page_of(QUIRK_RECORD_TEXTS), *numbered_pages([4, 1])]
    manifest = write_files(pages, output=backend.root, fmt="jsonl", resource="orders", run_key="run-1")
    content = backend.read(part(0))
    assert content == jsonl_of(pages)
    assert content.splitlines()[0] == QUIRK_RECORD_TEXTS[0].encode()
    assert manifest["records"] == 8
    assert manifest["bytes"] == len(content)
    assert backend.names() == {part(0), MANIFEST_NAME}


def test_a_record_spread_over_lines_is_written_on_one(local_out: Backend) -> None:
    pretty = '{\n  "id": "a",\r\n  "amount": 1.50\n}'
    write_files(
        [page_of([pretty, '{"id":"b"}'])], output=local_out.root, fmt="jsonl", resource="x", run_key="r"
    )
    lines = local_out.read(part(0, resource="x")).decode().split("\n")
    assert lines == ['{   "id": "a",    "amount": 1.50 }', '{"id":"b"}', ""]


def test_jsonl_gz_round_trips_and_is_deterministic(backend: Backend) -> None:
    pages = [page_of(QUIRK_RECORD_TEXTS), *numbered_pages([50, 50])]
    first = write_files(pages, output=backend.root, fmt="jsonl.gz", resource="orders", run_key="r")
    data = backend.read(part(0, "jsonl.gz"))
    assert gzip.decompress(data) == jsonl_of(pages)
    assert first["bytes"] == len(data)
    second = write_files(pages, output=backend.root, fmt="jsonl.gz", resource="orders", run_key="r")
    assert backend.read(part(0, "jsonl.gz")) == data
    assert second == first


def test_parquet_values_are_exact(backend: Backend) -> None:
    manifest = write_files(
        [page_of(QUIRK_RECORD_TEXTS)], output=backend.root, fmt="parquet", resource="orders", run_key="r"
    )
    data = backend.read(part(0, "parquet"))
    assert manifest["bytes"] == len(data)
    table = parquet(data)
    assert table.schema.equals(arrow_schema(model_for("orders")), check_metadata=True)
    full, bare, odd = table.to_pylist()
    assert full["id"] == "ord:1 Stripe processing fees"
    assert (full["totalAmount"], full["totalGratuity"]) == (Decimal("-283.56"), Decimal("5E-7"))
    assert full["createdDate"].isoformat() == "2024-03-01T04:30:00+00:00"
    assert full["closedDate"].isoformat() == "2024-03-01T10:00:00+00:00"
    assert full["sourceModifiedDate"] is None
    assert exact(full["orderLineItems"])[0]["unitPrice"] == Decimal("19.990")
    assert full["_extra"] == '{"channel":"web"}'
    assert bare["id"] == "ord 2" and bare["_extra"] is None
    assert exact(odd["_extra"])["totalAmount"] == "n/a"


def test_parquet_schema_is_the_same_with_or_without_optional_fields(
    local_out: Backend, tmp_path: Path
) -> None:
    full = page_of([QUIRK_RECORD_TEXTS[0]] * 3)
    bare = page_of(['{"id": "a"}', '{"id": "b", "unheard": {"of": 1}}'])
    other = f"file://{tmp_path}/other"
    write_files([full], output=local_out.root, fmt="parquet", resource="orders", run_key="r")
    write_files([bare], output=other, fmt="parquet", resource="orders", run_key="r")
    schema_full = pq.read_schema(str(local_out.local / part(0, "parquet")))  # type: ignore[operator]
    schema_bare = pq.read_schema(f"{tmp_path}/other/{part(0, 'parquet')}")
    assert schema_full.equals(schema_bare, check_metadata=True)
    assert schema_full.equals(arrow_schema(model_for("orders")), check_metadata=True)


def test_parquet_has_one_row_group_per_page(local_out: Backend) -> None:
    pages = [page_of([QUIRK_RECORD_TEXTS[1]] * n) for n in (3, 2, 4)]
    write_files(pages, output=local_out.root, fmt="parquet", resource="orders", run_key="r")
    meta = pq.read_metadata(str(local_out.local / part(0, "parquet")))  # type: ignore[operator]
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 2, 4]


def test_generated_records_round_trip_in_every_format(local_out: Backend, generated_page: Page) -> None:
    for fmt in FORMATS:
        manifest = write_files(
            [generated_page], output=local_out.root, fmt=fmt, resource="transactions", run_key="r"
        )
        assert manifest["records"] == len(generated_page.records)
    data = local_out.read(part(0, "parquet", "transactions"))
    table = parquet(data)
    assert table.column("id").to_pylist() == [r["id"] for r in generated_page.records]
    assert table.column("totalAmount").to_pylist() == [r["totalAmount"] for r in generated_page.records]
    assert any(" " in r["id"] or ":" in r["id"] for r in generated_page.records)
    assert Decimal("-5E-7") in table.column("totalAmount").to_pylist()


# ---- parts and manifest ----------------------------------------------------------------------------------


def test_parts_split_at_part_records(backend: Backend) -> None:
    pages = numbered_pages([2, 5, 0, 3])
    manifest = write_files(
        pages, output=backend.root, fmt="jsonl", resource="orders", part_records=3, run_key="r"
    )
    names = [part(n) for n in range(4)]
    assert [p["records"] for p in manifest["parts"]] == [3, 3, 3, 1]
    assert manifest["uris"] == [backend.root.rstrip("/") + "/" + n for n in names]
    assert [p["uri"] for p in manifest["parts"]] == manifest["uris"]
    assert manifest["manifest_uri"] == backend.root.rstrip("/") + "/" + MANIFEST_NAME
    contents = [backend.read(n) for n in names]
    assert b"".join(contents) == jsonl_of(pages)
    assert [p["bytes"] for p in manifest["parts"]] == [len(c) for c in contents]
    assert manifest["bytes"] == sum(len(c) for c in contents)
    assert (manifest["format"], manifest["resource"], manifest["records"]) == ("jsonl", "orders", 10)
    assert backend.manifest() == manifest
    assert backend.names() == {*names, MANIFEST_NAME}


def test_the_summary_line_counts_in_the_singular_and_the_plural(
    local_out: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=_files.__name__)
    write_files(numbered_pages([1]), output=local_out.root, fmt="parquet", resource="orders", run_key="r")
    write_files(
        numbered_pages([2, 1]),
        output=local_out.root,
        fmt="jsonl",
        resource="orders",
        run_key="r",
        part_records=2,
    )
    one, many = (r.getMessage() for r in caplog.records if r.name == _files.__name__)
    assert one.startswith("Wrote 1 record of orders (") and " bytes) in 1 parquet part to " in one
    assert many.startswith("Wrote 3 records of orders (") and " bytes) in 2 jsonl parts to " in many


def test_no_empty_part_when_records_fill_the_last_one_exactly(local_out: Backend) -> None:
    manifest = write_files(
        numbered_pages([3, 3]),
        output=local_out.root,
        fmt="parquet",
        resource="orders",
        part_records=3,
        run_key="r",
    )
    assert [p["records"] for p in manifest["parts"]] == [3, 3]
    assert [pq.read_metadata(str(local_out.local / part(n, "parquet"))).num_rows for n in (0, 1)] == [3, 3]  # type: ignore[operator]


@pytest.mark.parametrize("fmt", FORMATS)
def test_zero_records_write_one_empty_part_and_the_manifest(local_out: Backend, fmt: str) -> None:
    manifest = write_files([page_of([])], output=local_out.root, fmt=fmt, resource="orders", run_key="r")
    assert manifest["records"] == 0
    assert [p["records"] for p in manifest["parts"]] == [0]
    data = local_out.read(part(0, fmt))
    assert manifest["bytes"] == len(data)
    if fmt == "jsonl":
        assert data == b""
    elif fmt == "jsonl.gz":
        assert gzip.decompress(data) == b""
    else:
        table = parquet(data)
        assert table.num_rows == 0
        assert table.schema.equals(arrow_schema(model_for("orders")), check_metadata=True)
    assert local_out.manifest() == manifest


# ---- atomic and idempotent -------------------------------------------------------------------------------


def test_rerun_replaces_files_and_removes_stale_parts(backend: Backend) -> None:
    first = write_files(
        numbered_pages([3, 3, 3], "one"),
        output=backend.root,
        fmt="jsonl",
        resource="orders",
        part_records=3,
        run_key="r",
    )
    assert len(first["parts"]) == 3
    pages = numbered_pages([2, 4], "two")
    second = write_files(
        pages, output=backend.root, fmt="jsonl", resource="orders", part_records=3, run_key="r"
    )
    assert [p["records"] for p in second["parts"]] == [3, 3]
    assert backend.names() == {part(0), part(1), MANIFEST_NAME}
    assert backend.read(part(0)) + backend.read(part(1)) == jsonl_of(pages)
    assert backend.manifest() == second


def test_rerun_in_another_format_removes_the_old_parts_but_not_other_resources(local_out: Backend) -> None:
    write_files(numbered_pages([2]), output=local_out.root, fmt="jsonl", resource="customers", run_key="a")
    write_files(
        numbered_pages([2, 2]),
        output=local_out.root,
        fmt="jsonl",
        resource="orders",
        part_records=2,
        run_key="a",
    )
    write_files(numbered_pages([1]), output=local_out.root, fmt="parquet", resource="orders", run_key="b")
    assert local_out.names() == {part(0, "jsonl", "customers"), part(0, "parquet"), MANIFEST_NAME}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failed_list_leaves_nothing_and_keeps_the_earlier_output(backend: Backend, fmt: str) -> None:
    earlier = write_files(numbered_pages([2]), output=backend.root, fmt=fmt, resource="orders", run_key="r")
    before = {name: backend.read(name) for name in backend.names()}
    pages = numbered_pages([2, 2, 2, 2], "new")
    with pytest.raises(RuntimeError, match="503"):
        write_files(
            failing_after(pages, 2),
            output=backend.root,
            fmt=fmt,
            resource="orders",
            part_records=1,
            run_key="r",
        )
    assert {name: backend.read(name) for name in backend.names()} == before
    assert backend.manifest() == earlier


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_failing_write_deletes_its_temporary_files(
    backend: Backend, fmt: str, mocker: MockerFixture
) -> None:
    writer = {
        "jsonl": _writers._JsonlWriter,
        "jsonl.gz": _writers._GzipWriter,
        "parquet": _writers._ParquetWriter,
    }
    real = writer[fmt].write
    calls = []

    def third_page_fails(self: Any, page: Page, start: int, stop: int) -> None:
        calls.append(page.number)
        if page.number == 3:
            raise OSError("disk full")
        real(self, page, start, stop)

    mocker.patch.object(writer[fmt], "write", autospec=True, side_effect=third_page_fails)
    with pytest.raises(OSError, match="disk full"):
        write_files(
            numbered_pages([2, 2, 2, 2]),
            output=backend.root,
            fmt=fmt,
            resource="orders",
            part_records=3,
            run_key="r",
        )
    assert calls == [1, 2, 2, 3]  # page 2 spans parts 0 and 1
    assert backend.names() == set()


def test_a_failing_commit_leaves_no_temporary_files_and_no_manifest(
    backend: Backend, mocker: MockerFixture
) -> None:
    write_files(numbered_pages([1]), output=backend.root, fmt="jsonl", resource="orders", run_key="r")
    real = _files._Store.move
    moves = []

    def second_move_fails(self: Any, source: str, target: str) -> None:
        moves.append(target)
        if len(moves) == 2:
            raise OSError("connection reset")
        real(self, source, target)

    mocker.patch.object(_files._Store, "move", autospec=True, side_effect=second_move_fails)
    with pytest.raises(OSError, match="connection reset"):
        write_files(
            numbered_pages([2, 2]),
            output=backend.root,
            fmt="jsonl",
            resource="orders",
            part_records=2,
            run_key="r",
        )
    names = backend.names()
    assert MANIFEST_NAME not in names  # no manifest: readers know the directory is incomplete
    assert not any(name.startswith(".tmp-") for name in names)


def test_temporary_names_never_look_final(local_out: Backend, mocker: MockerFixture) -> None:
    seen: list[set[str]] = []

    def pages() -> Iterator[Page]:
        for page in numbered_pages([2, 2, 2]):
            seen.append(local_out.names())
            yield page

    write_files(
        pages(), output=local_out.root, fmt="jsonl", resource="orders", part_records=2, run_key="run:1/a"
    )
    assert seen[0] == set()
    for names in seen[1:]:
        assert names and all(name.startswith(".tmp-run_1_a-") for name in names)


def test_leftovers_of_a_killed_try_are_cleared(local_out: Backend) -> None:
    assert local_out.local is not None
    local_out.local.mkdir()
    (local_out.local / ".tmp-r-orders-part-00007.jsonl").write_text("half")
    (local_out.local / ".tmp-r-_manifest.json").write_text("{")
    (local_out.local / ".tmp-other-orders-part-00000.jsonl").write_text("a concurrent run's")
    write_files(numbered_pages([1]), output=local_out.root, fmt="jsonl", resource="orders", run_key="r")
    assert local_out.names() == {part(0), MANIFEST_NAME, ".tmp-other-orders-part-00000.jsonl"}


# ---- paths and arguments ---------------------------------------------------------------------------------


def test_object_storage_path_plain_path_and_memory(tmp_path: Path) -> None:
    from airflow.sdk import ObjectStoragePath

    pages = numbered_pages([2])
    bucket = f"codat-tests-{uuid.uuid4().hex}"
    manifest = write_files(
        pages, output=ObjectStoragePath(f"file://{tmp_path}/a"), fmt="jsonl", resource="o", run_key="r"
    )
    assert manifest["uris"] == [f"file://{tmp_path}/a/o-part-00000.jsonl"]
    manifest = write_files(pages, output=str(tmp_path / "b"), fmt="jsonl", resource="o", run_key="r")
    assert manifest["manifest_uri"] == f"file://{tmp_path}/b/_manifest.json"
    assert (tmp_path / "b" / "o-part-00000.jsonl").read_bytes() == jsonl_of(pages)
    manifest = write_files(pages, output=f"memory://{bucket}/out", fmt="jsonl", resource="o", run_key="r")
    assert manifest["uris"] == [f"memory://{bucket}/out/o-part-00000.jsonl"]
    import fsspec

    assert fsspec.filesystem("memory").cat(f"/{bucket}/out/o-part-00000.jsonl") == jsonl_of(pages)
    assert json.loads(fsspec.filesystem("memory").cat(f"/{bucket}/out/_manifest.json")) == manifest
    fsspec.filesystem("memory").rm(f"/{bucket}", recursive=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fmt": "csv"}, "fmt must be one of jsonl, jsonl.gz, parquet"),
        ({"resource": "../orders"}, "resource must be a plain name"),
        ({"resource": ""}, "resource must be a plain name"),
        ({"part_records": 0}, "part_records must be a positive integer"),
        ({"run_key": ""}, "run_key"),
        ({"output": ""}, "output must be a directory URI"),
        ({"output": 3}, "output must be a str or ObjectStoragePath"),
        ({"fmt": "parquet", "resource": "widgets"}, "parquet needs a known resource"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "output": f"file://{tmp_path}",
        "fmt": "jsonl",
        "resource": "orders",
        "run_key": "r",
    }
    with pytest.raises(CodatConfigError, match=match) as info:
        write_files([], **(args | kwargs))
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("output", "match"),
    [
        ("{file}", "output .*/file is a file, not a directory"),
        ("file://{file}", "output .*/file is a file, not a directory"),
        ("{file}/orders", "output .*/file/orders is under a file, not a directory"),
        ("{dir}/or\0ders", "output must not contain a NUL byte"),
        ("memory://{dir}/or\0ders", "output must not contain a NUL byte"),
    ],
)
def test_an_output_that_cannot_be_a_directory_is_refused(tmp_path: Path, output: str, match: str) -> None:
    (tmp_path / "file").write_text("not a directory")
    args = {"fmt": "jsonl", "resource": "orders", "run_key": "r"}
    with pytest.raises(CodatConfigError, match=f"^write_files: {match}"):
        write_files([], output=output.format(file=tmp_path / "file", dir=tmp_path), **args)
    assert (tmp_path / "file").read_text() == "not a directory"


def test_run_keys_become_safe_file_name_parts() -> None:
    assert _files._token("manual_1") == "manual_1"
    token = _files._token("scheduled__2024-01-01T00:00:00+00:00")
    assert token.startswith("scheduled__2024-01-01T00_00_00_00_00-")
    assert len(token.rsplit("-", 1)[1]) == 8  # a hash of the original tells keys that sanitise alike apart
    assert _files._token("a/b") != _files._token("a:b")
    assert len(_files._token("x" * 500)) == 64 + 9


@pytest.fixture
def generated_page() -> Page:
    """A page of 300 transactions from the sandbox's generators (ids with ':' and spaces, -5e-07)."""
    from datetime import UTC, datetime

    from airflow_provider_codat.sandbox.generators import BUILDERS, PLATFORMS, ConnectionData

    counts = {"transactions": 300, "payments": 20}
    ctx = ConnectionData(7, "co", "conn", "Acme", PLATFORMS[1], counts, datetime(2026, 1, 1, tzinfo=UTC))
    records = [BUILDERS["transactions"](ctx, i, "2025-12-01T00:00:00Z") for i in range(300)]
    return page_of([json.dumps(r) for r in records])
