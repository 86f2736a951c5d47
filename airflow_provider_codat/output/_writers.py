"""One writer per file format, each streaming slices of pages into one open file.

A writer holds at most :data:`DEPTH` slices: the costly steps (joining the records' texts and
gzip compression; building the Arrow columns from the texts, encoding and zstd compression of
parquet) run on one background thread per part, in order, while the caller fetches the next
page; both gzip and pyarrow release the GIL for most of that work. The records are decoded
only where a parquet slice needs them (see :mod:`~airflow_provider_codat.output._arrow`). So
memory stays flat in the number of records. An error on the background thread is raised by the
next ``write`` or by ``finish``. Every writer counts the bytes it writes, which are the file's
final size.
"""

from __future__ import annotations

import gzip
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, overload

if TYPE_CHECKING:
    from airflow_provider_codat.client._decode import Page

__all__ = ["DEPTH", "EXTENSIONS", "FORMATS", "CountingFile", "PartWriter", "open_writer"]

DEPTH = 2
"""Slices a writer may have queued on its background thread before ``write`` waits."""

FORMATS = ("jsonl", "jsonl.gz", "parquet")
"""The file formats :func:`~airflow_provider_codat.output.write_files` writes."""

EXTENSIONS: dict[str, str] = {fmt: fmt for fmt in FORMATS}
"""File name extension of each format."""


class _File(Protocol):
    def write(self, data: bytes, /) -> Any: ...
    def close(self) -> None: ...


class CountingFile:
    """A write-only file that counts the bytes passed through to ``raw`` (an fsspec file).

    :param raw: The file opened for binary writing.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._lock = threading.Lock()  # a writer's background thread may still write while it is discarded
        self.size = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Write ``data`` and count it; once closed or discarded, drop it."""
        size = memoryview(data).nbytes
        with self._lock:
            if not self.closed:
                self._raw.write(data)
                self.size += size
        return size

    def tell(self) -> int:
        """Return the number of bytes written so far."""
        return self.size

    def flush(self) -> None:
        """Flush the underlying file."""
        if not self.closed:
            self._raw.flush()

    def writable(self) -> bool:
        """Return True: this file is for writing."""
        return True

    def seekable(self) -> bool:
        """Return False: writes only ever append."""
        return False

    def close(self) -> None:
        """Close the underlying file, committing its content."""
        with self._lock:
            if not self.closed:
                self.closed = True
                self._raw.close()

    def discard(self) -> None:
        """Stop writing without committing, where the store allows it (S3 aborts the upload).

        Later writes, such as a format writer's trailer on garbage collection or a slice still
        queued on its background thread, are dropped.
        """
        with self._lock:
            self._discard()

    def _discard(self) -> None:
        if self.closed:
            return
        self.closed = True
        from fsspec.spec import AbstractBufferedFile  # type: ignore[import-untyped]

        if isinstance(self._raw, AbstractBufferedFile):  # object stores buffer, then upload on close
            self._raw.discard()
            self._raw.closed = True  # never upload what is left in its buffer
        else:
            self._raw.close()


class PartWriter(Protocol):
    """Writes record slices of pages into one part file."""

    def write(self, page: Page, start: int, stop: int) -> None:
        """Write records ``start:stop`` of ``page``."""

    def finish(self) -> None:
        """Complete the file (format trailer included) and close it."""


class _Background:
    """One thread running a writer's steps in order, at most :data:`DEPTH` behind its caller."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codat-write")
        self._pending: deque[Future[None]] = deque()

    def submit(self, step: Callable[..., None], *args: Any) -> None:
        """Queue ``step(*args)``, first waiting (and raising its error) while :data:`DEPTH` are queued."""
        while len(self._pending) >= DEPTH:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(step, *args))

    def drain(self) -> None:
        """Wait for every queued step, raising the first error; then stop the thread."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


class _JsonlWriter:
    """Each record's text as Codat sent it, one per line, each line ending in ``\\n``."""

    def __init__(self, out: _File) -> None:
        self._out = out
        self._background = _Background()

    def write(self, page: Page, start: int, stop: int) -> None:
        self._background.submit(self._write, page, start, stop)

    def _write(self, page: Page, start: int, stop: int) -> None:
        texts: list[Any] = page.raw_texts[start:stop]
        texts.append(b"")
        data = b"\n".join(texts)
        if b"\r" in data or data.count(b"\n") != len(texts) - 1:  # some record spans lines
            data = b"\n".join(_one_line(bytes(text)) for text in texts)
        self._out.write(data)

    def finish(self) -> None:
        self._background.drain()
        self._out.close()


class _GzipWriter(_JsonlWriter):
    """``jsonl`` through one streamed gzip member (no name, mtime 0: reruns give identical bytes)."""

    def __init__(self, out: CountingFile) -> None:
        self._sink = out
        super().__init__(gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=out, mtime=0))

    def finish(self) -> None:
        super().finish()  # writes the gzip trailer; GzipFile does not close a fileobj it was given
        self._sink.close()


class _ParquetWriter:
    """One row group per slice, against the schema derived once from the resource's model."""

    compression: ClassVar[str] = "zstd"

    def __init__(self, out: CountingFile, schema: Any) -> None:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        from airflow_provider_codat.output._arrow import to_record_batch

        self._out = out
        self._schema = schema
        self._to_batch = to_record_batch
        self._writer = pq.ParquetWriter(out, schema, compression=self.compression)
        self._background = _Background()

    def write(self, page: Page, start: int, stop: int) -> None:
        self._background.submit(self._write, page, start, stop)

    def _write(self, page: Page, start: int, stop: int) -> None:
        records = _RecordSlice(page, start, stop)
        if start == 0 and stop == len(page) and page.positions is None and page.body:  # read in place
            batch = self._to_batch(records, self._schema, body=page.body)
        else:
            batch = self._to_batch(records, self._schema, texts=page.raw_texts[start:stop])
        self._writer.write_batch(batch)

    def finish(self) -> None:
        self._background.drain()
        self._writer.close()
        self._out.close()


class _RecordSlice(Sequence[dict[str, Any]]):
    """Records ``start:stop`` of a page, decoded only if something reads them."""

    def __init__(self, page: Page, start: int, stop: int) -> None:
        self._page, self._start, self._stop = page, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, i: int | slice) -> dict[str, Any] | Sequence[dict[str, Any]]:
        return self._records[i]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._records)

    @cached_property
    def _records(self) -> list[dict[str, Any]]:
        return self._page.records[self._start : self._stop]


def open_writer(fmt: str, out: CountingFile, schema: Any = None) -> PartWriter:
    """Return the writer of ``fmt`` writing into ``out``.

    :param fmt: One of :data:`FORMATS`.
    :param out: The part's file.
    :param schema: The Arrow schema, for ``parquet`` only.
    """
    if fmt == "jsonl":
        return _JsonlWriter(out)
    if fmt == "jsonl.gz":
        return _GzipWriter(out)
    return _ParquetWriter(out, schema)


def _one_line(text: bytes) -> bytes:
    """Return ``text`` on one line: a line break in a record's JSON can only be whitespace between tokens."""
    return text.replace(b"\r", b" ").replace(b"\n", b" ")
