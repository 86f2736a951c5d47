"""The output layer of the list operators: records for XCom, or files in object storage.

* :func:`collect_for_xcom` returns the records as JSON-native dicts, with a cap on their size.
* :func:`write_files` streams them to ``jsonl``, ``jsonl.gz`` or ``parquet`` part files and a
  ``_manifest.json`` under any directory :class:`~airflow.sdk.ObjectStoragePath` accepts, atomically
  and idempotently.

Importing this package is cheap: pyarrow, fsspec, pydantic and Airflow load only when a write needs them.
"""

from __future__ import annotations

from airflow_provider_codat.output._files import MANIFEST_NAME, write_files
from airflow_provider_codat.output._writers import FORMATS
from airflow_provider_codat.output._xcom import OutputTooLargeError, collect_for_xcom

__all__ = ["FORMATS", "MANIFEST_NAME", "OutputTooLargeError", "collect_for_xcom", "write_files"]
