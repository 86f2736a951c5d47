"""Write the pages of a Codat list to part files and a manifest, atomically and idempotently.

Layout of an output directory (one directory per resource and run; the manifest is per directory)::

    {output}/{resource}-part-00000.{ext}
    {output}/{resource}-part-00001.{ext}
    {output}/_manifest.json

How a write stays atomic on any file system or object store:

1. Each part is written under a temporary name in the same directory,
   ``.tmp-{run}-{resource}-part-NNNNN.{ext}``; nothing is ever written under a final name.
2. When every part is complete, an existing ``_manifest.json`` is deleted, each part is moved to its
   final name (replacing the file of an earlier attempt), final parts of this resource that the new
   set does not contain are deleted (``part-00002`` when a rerun produced two parts, or the parts of
   another format), and ``_manifest.json`` is written last, itself through a temporary name.
3. On any error, the temporary files written so far are deleted and the error is re-raised.

The manifest is the commit marker: readers should read the parts it lists, and treat a directory
without one as incomplete. A rerun with the same output replaces the files of the earlier one.
There is always at least one part: with zero records it is an empty file (``jsonl``), an empty
gzip member (``jsonl.gz``) or a file with the schema and no rows (``parquet``), so a loader that
globs ``{resource}-part-*`` finds a file, and a ``parquet`` reader finds the schema.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_codat._logs import counted
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.output._writers import EXTENSIONS, FORMATS, CountingFile, PartWriter, open_writer

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_codat.client._decode import Page

__all__ = ["MANIFEST_NAME", "write_files"]

MANIFEST_NAME = "_manifest.json"
"""Name of the manifest file in an output directory."""

_LOCAL_PROTOCOLS = ("file", "local")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.=-]+")

log = logging.getLogger(__name__)


def write_files(
    pages: Iterable[Page],
    *,
    output: str | ObjectStoragePath,
    fmt: str,
    resource: str,
    part_records: int = 1_000_000,
    run_key: str,
    about: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write every record of ``pages`` to part files under ``output``, then a manifest; return it.

    ``jsonl`` holds each record's text byte for byte as Codat sent it, one per line; ``jsonl.gz`` is
    the same, gzip-compressed as it streams; ``parquet`` has one row group per page, with columns
    derived from the resource's model (see :mod:`airflow_provider_codat.output._arrow`).

    :param pages: Pages from the client's list call, consumed lazily, one at a time.
    :param output: The output directory: a URI (``s3://conn_id@bucket/prefix/``, ``file:///data/x``;
        a plain path is local) or an :class:`~airflow.sdk.ObjectStoragePath`. A local directory is
        created if missing.
    :param fmt: One of ``jsonl``, ``jsonl.gz`` or ``parquet``.
    :param resource: The resource name, used in file names; for ``parquet`` also the model to use
        (anything :func:`~airflow_provider_codat.models.model_for` accepts).
    :param part_records: Start a new part file after this many records.
    :param run_key: Identifies this run (say, the DAG run id) in temporary names; a retry with the
        same key also clears temporary files a killed earlier try left behind.
    :param about: JSON fields to add to the manifest, such as the company, the connection, the
        window and the run (the operators write them, and a retry reads them back).
    :returns: The manifest: ``format``, ``resource``, ``records``, ``bytes`` (of all parts),
        ``uris``, ``parts`` (each ``uri``, ``records``, ``bytes``) and ``manifest_uri``, then
        the ``about`` fields.
    :raises CodatConfigError: If an argument is invalid (also a :class:`ValueError`), including an
        ``output`` that holds a NUL byte or is, or is under, an existing local file. Arguments are
        checked, and a local directory created, before the first page is read: a bad ``output``
        costs no request.
    """
    _check(fmt, resource, part_records, run_key)
    store = _Store.at(output)
    schema = _schema_for(resource) if fmt == "parquet" else None
    batch = _Batch(store, fmt, resource, _token(run_key), schema, dict(about or {}))
    batch.clear_leftovers()
    try:
        for page in pages:
            batch.add(page, part_records)
        batch.finish()
        manifest = batch.commit()
    except BaseException:
        batch.abort()
        raise
    log.info(
        "Wrote %s of %s (%s) in %s to %s",
        counted(manifest["records"], "record"),
        resource,
        counted(manifest["bytes"], "byte"),
        counted(len(manifest["parts"]), f"{fmt} part"),
        store.uri(""),
    )
    return manifest


@dataclass
class _Part:
    temp: str
    final: str
    records: int = 0
    size: int = 0


@dataclass(frozen=True)
class _Store:
    """An output directory: its file system, its path there, and the path object for URIs."""

    fs: Any
    root: str
    directory: ObjectStoragePath

    @classmethod
    def at(cls, output: str | ObjectStoragePath) -> _Store:
        from airflow.sdk import ObjectStoragePath

        if isinstance(output, str):
            if not output.strip():
                raise CodatConfigError("write_files: output must be a directory URI, got an empty string")
            if "://" not in output:
                output = "file://" + os.path.abspath(output)
            directory = ObjectStoragePath(output)
        elif isinstance(output, ObjectStoragePath):
            directory = output
        else:
            raise CodatConfigError(f"write_files: output must be a str or ObjectStoragePath, got {output!r}")
        root = directory.path.rstrip("/")
        if "\0" in root:
            raise CodatConfigError("write_files: output must not contain a NUL byte")
        fs = _filesystem(directory)
        if (directory.protocol or "file") in _LOCAL_PROTOCOLS:
            try:
                fs.makedirs(root, exist_ok=True)
            except FileExistsError:
                raise CodatConfigError(f"write_files: output {root} is a file, not a directory") from None
            except NotADirectoryError:
                raise CodatConfigError(
                    f"write_files: output {root} is under a file, not a directory"
                ) from None
        return cls(fs, root, directory)

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def uri(self, name: str) -> str:
        return str(self.directory / name) if name else str(self.directory)

    def names(self) -> list[str]:
        self.fs.invalidate_cache(self.root)
        try:
            entries = self.fs.ls(self.root, detail=False)
        except FileNotFoundError:
            return []
        return [str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in entries]

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(name))

    def move(self, source: str, target: str) -> None:
        self.fs.mv(self.path(source), self.path(target))


@dataclass
class _Batch:
    """The parts of one write: the one being written, and those complete under temporary names."""

    store: _Store
    fmt: str
    resource: str
    token: str
    schema: Any
    about: dict[str, Any]
    parts: list[_Part] = field(default_factory=list)
    temps: list[str] = field(default_factory=list)
    writer: PartWriter | None = None
    sink: CountingFile | None = None

    @property
    def prefix(self) -> str:
        return f".tmp-{self.token}-{self.resource}-"

    @property
    def manifest_temp(self) -> str:
        return f".tmp-{self.token}-{MANIFEST_NAME}"

    def clear_leftovers(self) -> None:
        """Delete temporary files an earlier try with the same run key left behind (it was killed)."""
        for name in self.store.names():
            if name.startswith(self.prefix) or name == self.manifest_temp:
                self.store.remove(name)

    def add(self, page: Page, part_records: int) -> None:
        """Write ``page``'s records, starting a new part whenever the current one is full."""
        start, count = 0, len(page)
        while start < count:
            if self.writer is None or self.parts[-1].records >= part_records:
                self.finish_part()
                self.open_part()
            assert self.writer is not None
            stop = min(count, start + part_records - self.parts[-1].records)
            self.writer.write(page, start, stop)
            self.parts[-1].records += stop - start
            start = stop

    def finish(self) -> None:
        """Complete the last part; with zero records, write one empty part all the same."""
        if not self.parts:
            self.open_part()
        self.finish_part()

    def open_part(self) -> None:
        name = f"{self.resource}-part-{len(self.parts):05d}.{EXTENSIONS[self.fmt]}"
        part = _Part(temp=self.prefix + name, final=name)
        self.temps.append(part.temp)
        self.sink = CountingFile(self.store.fs.open(self.store.path(part.temp), "wb"))
        self.parts.append(part)
        self.writer = open_writer(self.fmt, self.sink, self.schema)

    def finish_part(self) -> None:
        if self.writer is None or self.sink is None:
            return
        self.writer.finish()
        self.parts[-1].size = self.sink.size
        self.writer = self.sink = None

    def commit(self) -> dict[str, Any]:
        store = self.store
        store.remove(MANIFEST_NAME)
        for part in self.parts:
            store.move(part.temp, part.final)
            self.temps.remove(part.temp)
        finals = {part.final for part in self.parts}
        for name in store.names():
            if _is_part(name, self.resource) and name not in finals:
                store.remove(name)
        manifest = self.manifest()
        temp = self.manifest_temp
        self.temps.append(temp)
        with store.fs.open(store.path(temp), "wb") as fh:
            fh.write((json.dumps(manifest, indent=2) + "\n").encode())
        store.move(temp, MANIFEST_NAME)
        self.temps.remove(temp)
        return manifest

    def manifest(self) -> dict[str, Any]:
        parts = [{"uri": self.store.uri(p.final), "records": p.records, "bytes": p.size} for p in self.parts]
        return {
            "format": self.fmt,
            "resource": self.resource,
            "records": sum(p.records for p in self.parts),
            "bytes": sum(p.size for p in self.parts),
            "uris": [p["uri"] for p in parts],
            "parts": parts,
            "manifest_uri": self.store.uri(MANIFEST_NAME),
            **self.about,
        }

    def abort(self) -> None:
        """Delete every temporary file of this write; errors while cleaning up are logged, not raised."""
        if self.sink is not None:
            try:
                self.sink.discard()
            except Exception:
                log.warning("Could not discard the part being written", exc_info=True)
        for name in self.temps:
            try:
                self.store.remove(name)
            except Exception:
                log.warning("Could not delete temporary file %s", self.store.uri(name), exc_info=True)


def _check(fmt: str, resource: str, part_records: int, run_key: str) -> None:
    if fmt not in FORMATS:
        raise CodatConfigError(f"write_files: fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if not _SAFE_NAME.fullmatch(resource):
        raise CodatConfigError(
            f"write_files: resource must be a plain name such as 'orders', got {resource!r}"
        )
    if isinstance(part_records, bool) or not isinstance(part_records, int) or part_records < 1:
        raise CodatConfigError(f"write_files: part_records must be a positive integer, got {part_records!r}")
    if not run_key:
        raise CodatConfigError("write_files: run_key must be a non-empty string")


def _token(run_key: str) -> str:
    """Return ``run_key`` made safe for a file name, with a hash of it when it had to change."""
    safe = _UNSAFE_CHARS.sub("_", run_key)[:64]
    if safe == run_key:
        return safe
    return f"{safe}-{hashlib.sha256(run_key.encode()).hexdigest()[:8]}"


def _is_part(name: str, resource: str) -> bool:
    stem, sep, rest = name.partition("-part-")
    if stem != resource or not sep:
        return False
    number, _, ext = rest.partition(".")
    return number.isdigit() and ext in EXTENSIONS.values()


def _schema_for(resource: str) -> Any:
    from airflow_provider_codat.models import model_for
    from airflow_provider_codat.output._arrow import arrow_schema

    try:
        model = model_for(resource)
    except ValueError as exc:
        raise CodatConfigError(f"write_files: parquet needs a known resource: {exc}") from None
    return arrow_schema(model)


def _filesystem(directory: ObjectStoragePath) -> Any:
    """Return the path's file system: Airflow's for the schemes it registers, else fsspec's own."""
    try:
        return directory.fs
    except ValueError:  # no filesystem registered with Airflow for the scheme (memory://, say)
        if directory.conn_id is not None:
            raise
        import fsspec  # type: ignore[import-untyped]

        return fsspec.filesystem(directory.protocol, **directory.storage_options)
