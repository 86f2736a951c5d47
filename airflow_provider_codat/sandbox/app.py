"""The sandbox's HTTP API: Codat's Commerce operations and the Platform subset, as a Starlette app.

Routes come from the resource registry, so each Commerce resource is served at exactly the path
the real API uses. :func:`create_app` wires the API behind :class:`~.faults.CodatGate` and adds
the control endpoints under ``/_sandbox/``.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_codat.resources import RESOURCES, Resource
from airflow_provider_codat.sandbox.config import DATA_TYPES
from airflow_provider_codat.sandbox.control import control_routes
from airflow_provider_codat.sandbox.dataset import Dataset
from airflow_provider_codat.sandbox.errors import (
    error_response,
    json_bytes,
    json_response,
    validation_item,
    without_nulls,
)
from airflow_provider_codat.sandbox.faults import CodatGate
from airflow_provider_codat.sandbox.fields import fields_for
from airflow_provider_codat.sandbox.page_cache import PageCache
from airflow_provider_codat.sandbox.query import (
    Fields,
    OrderBy,
    Query,
    QueryError,
    parse_order_by,
    parse_query,
)
from airflow_provider_codat.sandbox.world import Company, RefreshInProgress, World

__all__ = ["create_app"]

MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE = 2**31 - 1
"""Codat reads ``page`` as a 32-bit integer."""
_WHOLE_NUMBER = re.compile(r"\s*[+-]?[0-9]+\s*")
PULL_OPERATION_FIELDS: Fields = {
    "id": "string",
    "companyId": "string",
    "connectionId": "string",
    "dataType": "string",
    "status": "string",
    "statusDescription": "string",
    "errorMessage": "string",
    "requested": "datetime",
    "completed": "datetime",
    "progress": "number",
}
"""What a pull-operation history can be filtered and ordered by (Codat's ``Dataset``; not ``isCompleted``)."""
Handler = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """Raised inside handlers; becomes an ErrorMessage response."""

    def __init__(
        self, status: int, error: str | None = None, *, service: str = "PublicApi", validation: Any = None
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.service, self.validation = status, error, service, validation


def _handler(fn: Callable[[Request], Awaitable[Response]], *, nulls: bool) -> Handler:
    @functools.wraps(fn)
    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except ApiError as exc:
            return error_response(
                exc.status, exc.error, service=exc.service, validation=exc.validation, nulls=nulls
            )

    return wrapped


class CodatApi:
    """Request handlers over one :class:`World`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.pages = PageCache(world.config.page_cache_mb * 2**20)
        self.list_requests: Counter[tuple[str, str]] = Counter()
        self.nulls = world.config.quirks
        """Send null members as Codat does; without quirks they are left out (see ``without_nulls``)."""

    def shaped(self, data: dict[str, Any]) -> dict[str, Any]:
        """A Platform object as this sandbox sends it: with its null members only if :attr:`nulls`."""
        return data if self.nulls else without_nulls(data)

    # -- lookups ------------------------------------------------------------------------------
    def company(self, request: Request) -> Company:
        company_id = request.path_params["companyId"]
        company = self.world.companies.get(company_id)
        if company is None:
            raise ApiError(404, f"No company was found with ID {company_id}", service="ClientsApi")
        return company

    def dataset(self, request: Request, resource: Resource) -> Dataset:
        company = self.company(request)
        connection_id = request.path_params["connectionId"]
        conn = company.connections.get(connection_id)
        if conn is None:
            raise ApiError(404, f"Data connection {connection_id} not found")
        dataset = conn.datasets.get(resource.name)
        if dataset is None:
            raise ApiError(404, f"Data connection {connection_id} has no {resource.data_type} data")
        if not self.world.is_synced(company.id, resource.data_type):
            raise ApiError(409, "The data set has not been requested.")
        return dataset

    # -- Commerce -----------------------------------------------------------------------------
    async def list_records(self, request: Request, resource: Resource) -> Response:
        dataset = self.dataset(request, resource)
        page, page_size = _paging(request)
        query_text = request.query_params.get("query")
        order_text = request.query_params.get("orderBy")
        query, order = _parse(resource, query_text, order_text)
        self._maybe_mutate(dataset)

        key = (
            dataset.ctx.connection_id,
            resource.name,
            dataset.version,
            query_text,
            order_text,
            page,
            page_size,
        )
        cached = self.pages.get(key)
        if cached is not None:
            return Response(cached, media_type="application/json")

        def render() -> bytes:
            view = dataset.select(query, order)
            results = [dataset.record(i) for i in view.slice((page - 1) * page_size, page_size)]
            envelope = _envelope(
                request.url.path,
                results=results,
                page=page,
                size=page_size,
                total=len(view),
                query=query_text,
                order=order_text,
            )
            return json_bytes(envelope)

        body = await run_in_threadpool(render)
        self.pages.put(key, body)
        return Response(body, media_type="application/json")

    def _maybe_mutate(self, dataset: Dataset) -> None:
        faults = self.world.config.faults
        if faults.mutate_every <= 0:
            return
        key = (dataset.ctx.connection_id, dataset.resource.name)
        self.list_requests[key] += 1
        if self.list_requests[key] % faults.mutate_every == 0:
            if faults.mutate_limit == 1:
                faults.mutate_every = 0  # the last one allowed
            faults.mutate_limit = max(0, faults.mutate_limit - 1)
            dataset.bump(int(self.world.clock()), faults.mutate_records, salt=self.list_requests[key])

    async def get_record(self, request: Request, resource: Resource) -> Response:
        dataset = self.dataset(request, resource)
        if resource.id_param is None:
            return json_response(dataset.record(0))
        rid = request.path_params[resource.id_param]
        record = dataset.find(rid)
        if record is None:
            raise ApiError(404, f"No {resource.model} was found with ID {rid}")
        return json_response(record)

    # -- Platform -----------------------------------------------------------------------------
    async def list_companies(self, request: Request) -> Response:
        items = [self.shaped(c.to_json()) for c in self.world.companies.values()]
        return _paged_list(request, items, "Company")

    async def get_company(self, request: Request) -> Response:
        return json_response(self.shaped(self.company(request).to_json()))

    async def list_connections(self, request: Request) -> Response:
        company = self.company(request)
        return _paged_list(request, [c.to_json() for c in company.connections.values()], "Connection")

    async def get_connection(self, request: Request) -> Response:
        company = self.company(request)
        conn = company.connections.get(request.path_params["connectionId"])
        if conn is None:
            raise ApiError(404, f"Data connection {request.path_params['connectionId']} not found")
        return json_response(conn.to_json())

    async def data_status(self, request: Request) -> Response:
        return json_response(self.world.data_status(self.company(request)))

    async def refresh(self, request: Request) -> Response:
        company = self.company(request)
        data_type = request.path_params["dataType"]
        if data_type not in DATA_TYPES:
            raise ApiError(
                400,
                f"Error processing request - {data_type} is not a supported data type.",
                validation=validation_item("dataType", "Unknown data type"),
            )
        connection_id = request.query_params.get("connectionId") or None
        if connection_id is not None:
            conn = company.connections.get(connection_id)
            if conn is None or not conn.datasets:
                raise ApiError(404, f"Data connection {connection_id} not found")
        try:
            op = self.world.queue_refresh(company, data_type, connection_id)
        except RefreshInProgress as exc:
            raise ApiError(
                400,
                f"DatasetAlreadyInProgressException: Cannot queue {data_type} sync for {company.id} "
                f"as previous sync {exc.operation.id} is still in progress",
                service="PullApi",
            ) from None
        return json_response(self.shaped(op.to_json(self.world.clock())))

    async def list_pull_operations(self, request: Request) -> Response:
        company = self.company(request)
        query, order = _parse_history(request.query_params.get("query"), request.query_params.get("orderBy"))
        self.world.settle()
        now = self.world.clock()
        ops = [op.to_json(now) for op in self.world.pull_operations.values() if op.company_id == company.id]
        if query is not None:
            ops = [op for op in ops if query.matches(op)]
        if order is not None:
            ops.sort(key=order.key, reverse=order.descending)
        return _paged_list(request, [self.shaped(op) for op in ops], "Dataset", filtered=True)

    async def get_pull_operation(self, request: Request) -> Response:
        company = self.company(request)
        self.world.settle()
        op = self.world.pull_operations.get(request.path_params["datasetId"])
        if op is None or op.company_id != company.id:
            raise ApiError(
                404, f"No dataset was found with ID {request.path_params['datasetId']}", service="PullApi"
            )
        return json_response(self.shaped(op.to_json(self.world.clock())))


def _paging(request: Request) -> tuple[int, int]:
    page = _int_param(request, "page", 1, 1, MAX_PAGE)
    size = _int_param(request, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return page, size


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """Read a whole-number parameter as Codat does: ASCII digits, within the bounds, else a 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw) if _WHOLE_NUMBER.fullmatch(raw) else low - 1
    if not low <= value <= high:
        message = f"{name} must be a whole number between {low} and {high}."
        raise ApiError(
            400, f"Error processing request - {message}", validation=validation_item(name, message)
        )
    return value


@functools.lru_cache(maxsize=256)
def _parse(
    resource: Resource, query_text: str | None, order_text: str | None
) -> tuple[Query | None, OrderBy | None]:
    fields = fields_for(resource)
    try:
        query = parse_query(query_text, fields, resource.model) if query_text else None
        order = parse_order_by(order_text, fields, resource.model) if order_text else None
    except QueryError as exc:
        raise ApiError(400, str(exc), service="ClientsApi") from None
    return query, order


def _parse_history(query_text: str | None, order_text: str | None) -> tuple[Query | None, OrderBy | None]:
    try:
        query = parse_query(query_text, PULL_OPERATION_FIELDS, "Dataset") if query_text else None
        order = parse_order_by(order_text, PULL_OPERATION_FIELDS, "Dataset") if order_text else None
    except QueryError as exc:
        raise ApiError(400, str(exc), service="PullApi") from None
    return query, order


def _href(path: str, page: int, size: int, query: str | None, order: str | None) -> dict[str, str]:
    extra = "".join(f"&{k}={quote(v, safe='')}" for k, v in (("query", query), ("orderBy", order)) if v)
    return {"href": f"{path}?page={page}&pageSize={size}{extra}"}


def _envelope(
    path: str,
    *,
    results: list[Any],
    page: int,
    size: int,
    total: int,
    query: str | None = None,
    order: str | None = None,
) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": path}, "current": _href(path, page, size, query, order)}
    if page * size < total:
        links["next"] = _href(path, page + 1, size, query, order)
    if page > 1:
        links["previous"] = _href(path, page - 1, size, query, order)
    return {"results": results, "pageNumber": page, "pageSize": size, "totalResults": total, "_links": links}


def _paged_list(
    request: Request, items: list[dict[str, Any]], type_name: str, *, filtered: bool = False
) -> Response:
    """One page of ``items``; ``filtered`` says the caller applied ``query`` and ``orderBy``."""
    page, size = _paging(request)
    for name in ("query", "orderBy"):
        if not filtered and request.query_params.get(name):
            raise ApiError(
                400,
                f"Error processing request - the sandbox does not filter {type_name} lists.",
                validation=validation_item(name, "Not supported by the sandbox"),
            )
    chunk = items[(page - 1) * size : page * size]
    envelope = _envelope(
        request.url.path,
        results=chunk,
        page=page,
        size=size,
        total=len(items),
        query=request.query_params.get("query"),
        order=request.query_params.get("orderBy"),
    )
    return json_response(envelope)


def create_app(world: World) -> CodatGate:
    """Build the ASGI app: the API behind the gate, plus the control endpoints."""
    api = CodatApi(world)
    handler = functools.partial(_handler, nulls=api.nulls)
    routes: list[Route] = []
    for resource in RESOURCES:
        if resource.listable:
            routes.append(
                Route(
                    resource.list_path,
                    handler(functools.partial(api.list_records, resource=resource)),
                    name=resource.list_operation,
                )
            )
        routes.append(
            Route(
                resource.get_path,
                handler(functools.partial(api.get_record, resource=resource)),
                name=resource.get_operation,
            )
        )
    platform: list[tuple[str, Handler, str, str]] = [
        ("/companies", api.list_companies, "GET", "list-companies"),
        ("/companies/{companyId}", api.get_company, "GET", "get-company"),
        ("/companies/{companyId}/connections", api.list_connections, "GET", "list-connections"),
        ("/companies/{companyId}/connections/{connectionId}", api.get_connection, "GET", "get-connection"),
        ("/companies/{companyId}/dataStatus", api.data_status, "GET", "get-company-data-status"),
        ("/companies/{companyId}/data/queue/{dataType}", api.refresh, "POST", "refresh-data-type"),
        ("/companies/{companyId}/data/history", api.list_pull_operations, "GET", "list-pull-operations"),
        (
            "/companies/{companyId}/data/history/{datasetId}",
            api.get_pull_operation,
            "GET",
            "get-pull-operation",
        ),
    ]
    routes.extend(
        Route(path, handler(fn), methods=[method], name=name) for path, fn, method, name in platform
    )
    gate = CodatGate(world)
    app = Starlette(routes=[*control_routes(world, gate.state), *routes])
    app.add_exception_handler(404, functools.partial(_not_found, nulls=api.nulls))
    app.add_exception_handler(405, functools.partial(_not_allowed, nulls=api.nulls))
    gate.app = app
    return gate


async def _not_found(request: Request, exc: Exception, *, nulls: bool) -> Response:
    return error_response(404, f"No route matches {request.method} {request.url.path}", nulls=nulls)


async def _not_allowed(request: Request, exc: Exception, *, nulls: bool) -> Response:
    return error_response(405, f"Method {request.method} is not allowed on {request.url.path}", nulls=nulls)
