"""Pages built from JSON envelopes as Codat sends them, and output directories on two backends.

The ``backend`` fixture runs a test against a local directory (``file://``) and against a real S3
API: moto's server on a loopback port, reached through ``ObjectStoragePath('s3://conn@bucket/...')``,
the Amazon provider's file system and an ``AIRFLOW_CONN_*`` connection whose extra names the endpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

# Airflow writes into $AIRFLOW_HOME on import: keep it out of the user's home.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="codat-airflow-home-"))

import pytest

from airflow_provider_codat.client._decode import Page, decode_page

S3_CONN_ID = "codat_output_s3"
S3_BUCKET = "codat-output"

# Each record is written with its own spacing and number forms, as a source system might send it.
QUIRK_RECORD_TEXTS = [
    (
        '{"id": "ord:1 Stripe processing fees", "currency": "gbp", "totalAmount": -283.56, '
        '"totalGratuity": 5e-7, "totalRefund": -283.560, "totalTaxAmount": 1E+2, '
        '"createdDate": "2024-03-01T10:00:00+05:30", "modifiedDate": "2024-03-01T10:00:00Z", '
        '"sourceModifiedDate": "0001-01-01T00:00:00", "closedDate": "2024-03-01T10:00:00", '
        '"orderLineItems": [{"id": "li 1", "quantity": 2, "unitPrice": 19.990, '
        '"taxes": [{"taxComponentRef": {"id": "tax:20", "name": "VAT"}, "rate": 0.2}]}], '
        '"payments": [{"id": "pay 1", "amount": -283.56, "status": "paid", "type": "card"}], '
        '"customerRef": {"id": "cus 1", "name": "Ada \\u00e9 \\"Lovelace\\""}, "channel": "web"}'
    ),
    '{"id":"ord 2"}',
    (
        '{ "id" : 12345 , "totalAmount" : "n/a", "closedDate": "yesterday", '
        '"totalDiscount": 1.0000000000015, "totalGratuity": 1.0000000000005, "country": "GB ", '
        '"orderNumber": "", "supplementalData": {"content": null}, "extraList": [1, 2.50]}'
    ),
]


def envelope(record_texts: list[str], *, number: int = 1, size: int = 100, has_next: bool = False) -> bytes:
    """Return a paged envelope holding ``record_texts`` verbatim, formatted a little irregularly."""
    links = '{"self": {"href": "/x"}' + (', "next": {"href": "/x?page=2"}' if has_next else "") + "}"
    results = ",\n  ".join(record_texts)
    return (
        f'{{"results": [\n  {results}\n], "pageNumber": {number}, "pageSize": {size}, '
        f'"totalResults": {len(record_texts)}, "_links": {links}}}'
    ).encode()


def page_of(record_texts: list[str], number: int = 1, size: int = 100) -> Page:
    """Decode a page holding ``record_texts`` exactly as written."""
    return decode_page(envelope(record_texts, number=number, size=size), number=number, size=size)


def records_page(records: list[dict[str, Any]], number: int = 1) -> Page:
    """Decode a page of ``records`` serialised with :func:`json.dumps`."""
    return page_of([json.dumps(r) for r in records], number=number)


def numbered_pages(counts: list[int], prefix: str = "r") -> list[Page]:
    """Pages of small, distinct records: ``counts[i]`` records on page ``i``."""
    pages, n = [], 0
    for number, count in enumerate(counts, start=1):
        texts = [f'{{"id": "{prefix}:{n + i} x", "amount": {n + i}.10}}' for i in range(count)]
        pages.append(page_of(texts, number=number))
        n += count
    return pages


def exact(text: str) -> Any:
    """Parse JSON with exact decimals."""
    return json.loads(text, parse_float=Decimal)


@dataclass
class Backend:
    """An output directory on one backend, read directly (not through the code under test)."""

    name: str
    root: str
    local: Path | None = None
    s3: Any = None
    prefix: str = ""

    def names(self) -> set[str]:
        """Every file name under the output directory, hidden temporary files included."""
        if self.local is not None:
            return set(os.listdir(self.local)) if self.local.exists() else set()
        listed = self.s3.list_objects_v2(Bucket=S3_BUCKET, Prefix=self.prefix + "/")
        return {obj["Key"].rsplit("/", 1)[-1] for obj in listed.get("Contents", [])}

    def read(self, name: str) -> bytes:
        """The content of file ``name``."""
        if self.local is not None:
            return (self.local / name).read_bytes()
        return bytes(self.s3.get_object(Bucket=S3_BUCKET, Key=f"{self.prefix}/{name}")["Body"].read())

    def manifest(self) -> dict[str, Any]:
        """The manifest file, parsed."""
        return dict(json.loads(self.read("_manifest.json")))


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Any]:
    """A moto S3 server on a random loopback port, an Airflow connection to it, and a boto3 client."""
    pytest.importorskip("s3fs")
    pytest.importorskip("airflow.providers.amazon")
    server_module = pytest.importorskip("moto.server")
    import boto3

    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    conn = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(f"AIRFLOW_CONN_{S3_CONN_ID.upper()}", json.dumps(conn))
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=S3_BUCKET)
        try:
            yield client
        finally:
            server.stop()


@pytest.fixture(params=["file", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """An empty output directory on a local disk, then on S3 (moto)."""
    if request.param == "file":
        return Backend("file", f"file://{tmp_path}/out", local=tmp_path / "out")
    client = request.getfixturevalue("moto_s3")
    prefix = f"runs/{uuid.uuid4().hex}"
    return Backend("s3", f"s3://{S3_CONN_ID}@{S3_BUCKET}/{prefix}/", s3=client, prefix=prefix)


@pytest.fixture
def local_out(tmp_path: Path) -> Backend:
    """An empty output directory on the local disk only."""
    return Backend("file", f"file://{tmp_path}/out", local=tmp_path / "out")
