"""A client written only from Codat's Commerce spec, run against the sandbox.

Nothing of the provider is used but :class:`CodatSandbox`, to start the server: the client below
finds its operations, paths, parameters and paging in the spec alone, the way a third party would
write one. For every list operation it follows ``_links.next.href`` (relative references, resolved
against the page they came in) until a page has none; for every get operation it fetches each listed
record by its percent-encoded id; and it fetches the one ``commerce-info`` object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin

import httpx
import pytest

from airflow_provider_codat.sandbox import CodatSandbox

RECORDS = 30
PAGE_SIZES = (1, 7, 100)
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class SpecOperation:
    """A GET operation as the spec describes it."""

    operation_id: str
    path: str
    parameters: frozenset[str]
    returns: frozenset[str]
    """Top-level property names of the 200 response body."""

    @property
    def path_parameters(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def is_list(self) -> bool:
        return "results" in self.returns

    @property
    def record_parameter(self) -> str | None:
        """The path parameter naming one record (the last one, after the connection), if any."""
        names = self.path_parameters
        return names[-1] if names and names[-1] not in ("companyId", "connectionId") else None


class SpecClient:
    """A generic Codat Commerce client built from the OpenAPI document alone."""

    def __init__(
        self, spec: Mapping[str, Any], http: httpx.Client, company_id: str, connection_id: str
    ) -> None:
        self.spec = spec
        self.http = http
        self.ids = {"companyId": company_id, "connectionId": connection_id}
        self.operations = {op.operation_id: op for op in self._read_operations()}

    # -- reading the spec -----------------------------------------------------------------------------
    def _read_operations(self) -> Iterator[SpecOperation]:
        for path, item in self.spec["paths"].items():
            op = item.get("get")
            if op is None:
                continue
            params = [self._deref(p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
            schema = op["responses"]["200"]["content"]["application/json"]["schema"]
            yield SpecOperation(
                op["operationId"],
                path,
                frozenset(p["name"] for p in params),
                frozenset(self._properties(schema)),
            )

    def _deref(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for raw in node["$ref"].removeprefix("#/").split("/"):
                part = unquote(raw).replace("~1", "/").replace("~0", "~")
                target = target[int(part)] if isinstance(target, list) else target[part]
            node = target
        return node

    def _properties(self, schema: Mapping[str, Any]) -> set[str]:
        schema = self._deref(schema)
        names = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            names |= self._properties(part)
        return names

    def list_for(self, get: SpecOperation) -> SpecOperation:
        """The list operation whose path is ``get``'s without its last segment."""
        parent = get.path.rsplit("/", 1)[0]
        return next(op for op in self.operations.values() if op.path == parent and op.is_list)

    # -- calling the API ------------------------------------------------------------------------------
    def url(self, op: SpecOperation, **values: str) -> str:
        known = {**self.ids, **values}
        return _PARAM.sub(lambda m: quote(known[m.group(1)], safe=""), op.path)

    def get(self, url: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        reply = self.http.get(url, params=params)
        assert reply.status_code == 200, f"GET {reply.request.url} -> {reply.status_code} {reply.text[:300]}"
        return reply

    def pages(self, op: SpecOperation, page_size: int) -> Iterator[dict[str, Any]]:
        """Yield every page of a list operation, following ``next`` links; stop where there is none."""
        params = {"pageSize": str(page_size)} if "pageSize" in op.parameters else None
        reply = self.get(self.url(op), params=params)
        limit = RECORDS + 2
        while True:
            body = reply.json()
            yield body
            nxt = body["_links"].get("next")
            if nxt is None:
                return
            limit -= 1
            assert limit > 0, f"{op.operation_id}: more pages than records"
            href = nxt["href"]
            assert not href.startswith(("http:", "https:")), f"next href {href!r} is not relative"
            reply = self.get(urljoin(str(reply.url), href))


# -- fixtures ----------------------------------------------------------------------------------------------
Pages = dict[tuple[str, int], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def spec_client(
    commerce_spec: dict[str, Any], codat_sandboxes: Callable[..., CodatSandbox]
) -> Iterator[SpecClient]:
    sandbox = codat_sandboxes(records=RECORDS)
    with httpx.Client(
        base_url=sandbox.url, headers={"Authorization": sandbox.auth_header}, timeout=30
    ) as http:
        company, connection = sandbox.connections[0]
        yield SpecClient(commerce_spec, http, company, connection)


@pytest.fixture(scope="module")
def pages(spec_client: SpecClient) -> Pages:
    """Every page of every list operation at each page size: ``(operationId, size) -> pages``."""
    return {
        (op.operation_id, size): list(spec_client.pages(op, size))
        for op in spec_client.operations.values()
        if op.is_list
        for size in PAGE_SIZES
    }


def listed(pages: Pages, operation_id: str, size: int = PAGE_SIZES[-1]) -> list[dict[str, Any]]:
    """The records of a list operation, in the order its pages gave them."""
    return [record for page in pages[operation_id, size] for record in page["results"]]


# -- tests -------------------------------------------------------------------------------------------------
def test_the_spec_has_ten_lists_ten_gets_and_company_info(spec_client: SpecClient) -> None:
    ops = spec_client.operations.values()
    assert len([op for op in ops if op.is_list]) == 10
    gets = [op for op in ops if op.record_parameter is not None]
    assert len(gets) == 10
    assert all(spec_client.list_for(op) for op in gets)
    singletons = [op.operation_id for op in ops if not op.is_list and op.record_parameter is None]
    assert singletons == ["get-company-info"]


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_every_list_pages_through_by_next_links(
    spec_client: SpecClient, pages: Pages, page_size: int
) -> None:
    problems: list[str] = []
    for op in spec_client.operations.values():
        if not op.is_list:
            continue
        got = pages[op.operation_id, page_size]
        name = f"{op.operation_id} pageSize={page_size}"
        total = got[0]["totalResults"]
        ids = [record["id"] for page in got for record in page["results"]]
        if len(set(ids)) != total or len(ids) != total:
            problems.append(f"{name}: {len(set(ids))} distinct of {len(ids)} ids, totalResults {total}")
        if total != RECORDS:
            problems.append(f"{name}: totalResults {total}, expected {RECORDS}")
        if {page["totalResults"] for page in got} != {total}:
            problems.append(f"{name}: totalResults changed while paging")
        if [page["pageNumber"] for page in got] != list(range(1, len(got) + 1)):
            problems.append(f"{name}: page numbers {[page['pageNumber'] for page in got]}")
        if "next" in got[-1]["_links"]:
            problems.append(f"{name}: the last page has a next link")
        if "pageSize" in op.parameters:
            if len(got) != -(-RECORDS // page_size):
                problems.append(f"{name}: {len(got)} pages")
            if any(len(page["results"]) != page_size for page in got[:-1]):
                problems.append(f"{name}: a page before the last is not full")
    assert problems == []


def test_page_sizes_list_the_same_records_in_the_same_order(pages: Pages) -> None:
    for operation_id, size in pages:
        assert listed(pages, operation_id, size) == listed(pages, operation_id), (
            f"{operation_id} pageSize={size}"
        )


def test_every_get_returns_each_listed_record(spec_client: SpecClient, pages: Pages) -> None:
    problems: list[str] = []
    fetched_ids: list[str] = []
    for op in spec_client.operations.values():
        param = op.record_parameter
        if param is None:
            continue
        records = listed(pages, spec_client.list_for(op).operation_id)
        assert records, f"{op.operation_id}: nothing listed to fetch"
        for record in records:
            fetched = spec_client.get(spec_client.url(op, **{param: record["id"]})).json()
            fetched_ids.append(record["id"])
            if fetched != record:
                problems.append(f"{op.operation_id}({record['id']!r}) differs from the listed record")
    assert problems == []
    # ids that only work percent-encoded were among them
    assert {":", " ", '"'} <= {c for i in fetched_ids for c in i}


def test_company_info_is_one_object(spec_client: SpecClient) -> None:
    op = spec_client.operations["get-company-info"]
    info = spec_client.get(spec_client.url(op)).json()
    assert isinstance(info, dict) and "results" not in info and "id" not in info
    assert set(info) <= op.returns
    assert info["companyName"]
