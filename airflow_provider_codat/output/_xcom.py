"""Records small enough for XCom, as JSON-native dicts, with a hard cap on their size."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_provider_codat._logs import counted
from airflow_provider_codat.exceptions import CodatError

if TYPE_CHECKING:
    from airflow_provider_codat.client._decode import Page

__all__ = ["DEFAULT_XCOM_MAX_BYTES", "OutputTooLargeError", "collect_for_xcom"]

DEFAULT_XCOM_MAX_BYTES = 1_048_576
"""Default cap on the JSON size of records returned through XCom (1 MiB)."""


class OutputTooLargeError(CodatError, ValueError):
    """The records are too large for XCom; write them to object storage with ``output=...`` instead."""


def collect_for_xcom(
    pages: Iterable[Page], *, max_bytes: int = DEFAULT_XCOM_MAX_BYTES
) -> list[dict[str, Any]]:
    """Return every record of ``pages`` as a JSON-native dict, failing as soon as they grow too large.

    Each record is parsed from its text as sent with plain :func:`json.loads`, so numbers are
    ``int`` or ``float`` (``-283.56``, ``5e-07``) as any JSON consumer of the XCom would read them;
    use files for exact decimals. The size counted is the UTF-8 length of each record's JSON text
    plus one separator byte, which is close to what XCom stores; it is checked after every record,
    so at most one record past the limit is ever held.

    :param pages: Pages from the client's list call, consumed lazily.
    :param max_bytes: The cap on the records' total JSON size, in bytes.
    :raises OutputTooLargeError: As soon as the running size exceeds ``max_bytes``.
    :raises ValueError: If ``max_bytes`` is not positive.
    """
    if max_bytes < 1:
        raise ValueError(f"collect_for_xcom: max_bytes must be positive, got {max_bytes}")
    records: list[dict[str, Any]] = []
    size = 2  # the enclosing brackets
    for page in pages:
        for text in page.texts:
            size += len(text.encode()) + 1
            if size > max_bytes:
                raise OutputTooLargeError(
                    f"The records are too large for XCom: more than {max_bytes} bytes of JSON after "
                    f"{counted(len(records) + 1, 'record')}. Write them to object storage instead by passing "
                    "output=... (a directory URI or ObjectStoragePath, e.g. 's3://conn_id@bucket/codat/')."
                )
            records.append(json.loads(text))
    return records
