"""``CodatCommerceHook``: every Commerce operation and the Platform calls the provider needs.

The hook resolves its Airflow Connection once, on first use (never at construction), into a
:class:`~airflow_provider_codat.client.ClientConfig`, and registers the API key and the derived
``Basic`` header with Airflow's secret masker. The HTTP work is done by
:class:`~airflow_provider_codat.client.CodatClient` and its async twin.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_codat.resources import Resource, get_resource

if TYPE_CHECKING:
    import httpx

    from airflow_provider_codat.client import (
        AsyncCodatClient,
        AsyncInFlightLimit,
        ClientConfig,
        CodatClient,
        Page,
        PageBudget,
    )
    from airflow_provider_codat.models import CodatModel

__all__ = ["CodatCommerceHook"]

_COMPANIES = "/companies"
_COMPANY = "/companies/{companyId}"
_CONNECTIONS = "/companies/{companyId}/connections"
_DATA_STATUS = "/companies/{companyId}/dataStatus"
_QUEUE = "/companies/{companyId}/data/queue/{dataType}"
_PULL_OPERATIONS = "/companies/{companyId}/data/history"
_PULL_OPERATION = "/companies/{companyId}/data/history/{datasetId}"
_HEX = "[0-9a-fA-F]"
_CANONICAL_UUID = re.compile(f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}")


def check_uuid(value: object, name: str) -> str:
    """Return ``value`` as a canonical UUID string (lower case), else raise an error naming ``name``.

    A string must have the canonical 8-4-4-4-12 form; upper-case hex digits are folded to lower
    case. The other spellings :class:`uuid.UUID` reads (no dashes, ``{...}``, ``urn:uuid:...``,
    misplaced dashes, non-ASCII digits) are refused rather than rewritten. A :class:`uuid.UUID`
    is accepted too.

    :raises CodatConfigError: If ``value`` is not a UUID in canonical form.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if not (isinstance(value, str) and _CANONICAL_UUID.fullmatch(value)):
        from airflow_provider_codat.exceptions import CodatConfigError

        raise CodatConfigError(
            f"{name}: expected a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, got {value!r}"
        )
    return value.lower()


def check_record_id(value: object) -> str:
    """Return ``value`` as a record id for a path, else raise an error naming ``record_id``.

    A whole number is taken as its digits (native Jinja rendering turns numeric ids into ints). An
    empty id, ``.`` or ``..`` is refused: percent-encoding leaves dots alone, so the path would
    address the list itself or its parent.

    :raises CodatConfigError: If ``value`` is empty, a dot segment, or not a string or whole number.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value not in ("", ".", ".."):
        return value
    from airflow_provider_codat.exceptions import CodatConfigError

    raise CodatConfigError(f"record_id: expected a record's id (not empty, '.' or '..'), got {value!r}")


def _listable(name: str) -> Resource:
    from airflow_provider_codat.exceptions import CodatConfigError

    try:
        resource = get_resource(name)
    except ValueError as exc:
        raise CodatConfigError(str(exc)) from None
    if not resource.listable:
        raise CodatConfigError(f"resource: {name!r} has no list operation; use get_company_info")
    return resource


class CodatCommerceHook(BaseHook):
    """Talk to Codat's Commerce API (and the Platform calls around it) through a ``codat`` connection.

    :param codat_conn_id: The Airflow connection holding the API key and server settings.
    :param transport: An httpx transport for the sync client (tests).
    :param async_transport: An httpx transport for the async client (tests).
    """

    conn_name_attr = "codat_conn_id"
    default_conn_name = "codat_default"
    conn_type = "codat"
    hook_name = "Codat"

    def __init__(
        self,
        codat_conn_id: str = default_conn_name,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.codat_conn_id = codat_conn_id
        self._transport = transport
        self._async_transport = async_transport
        self._async_config: ClientConfig | None = None
        self._async_client: tuple[asyncio.AbstractEventLoop, AsyncCodatClient] | None = None

    def __repr__(self) -> str:
        return f"CodatCommerceHook(codat_conn_id={self.codat_conn_id!r})"

    # -- configuration ------------------------------------------------------------------------
    @cached_property
    def config(self) -> ClientConfig:
        """The connection's settings, read once."""
        return self._resolve(self.get_connection(self.codat_conn_id))

    async def aconfig(self) -> ClientConfig:
        """The connection's settings, read once without blocking the event loop."""
        if self._async_config is None and "config" in self.__dict__:
            self._async_config = self.config  # already read in this process
        if self._async_config is None:
            from airflow.providers.common.compat.connection import get_async_connection

            self._async_config = self._resolve(await get_async_connection(self.codat_conn_id, self))
        return self._async_config

    @staticmethod
    def _resolve(conn: Any) -> ClientConfig:
        from airflow.sdk.log import mask_secret

        from airflow_provider_codat.hooks._connection import config_from_connection

        config = config_from_connection(conn)
        mask_secret(config.api_key.get_secret_value())
        mask_secret(config.authorization.get_secret_value())
        return config

    @cached_property
    def client(self) -> CodatClient:
        """The synchronous client, built on first use."""
        from airflow_provider_codat.client import CodatClient

        return CodatClient(self.config, transport=self._transport)

    def get_conn(self) -> CodatClient:
        """Return the synchronous client."""
        return self.client

    async def _aclient(self) -> AsyncCodatClient:
        """The async client, built once per event loop and kept: a trigger polls over one pool."""
        from airflow_provider_codat.client import AsyncCodatClient

        loop = asyncio.get_running_loop()
        if self._async_client is None or self._async_client[0] is not loop:
            client = AsyncCodatClient(await self.aconfig(), transport=self._async_transport)
            self._async_client = (loop, client)
        return self._async_client[1]

    async def __aenter__(self) -> CodatCommerceHook:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the async client's connections (call it when a trigger finishes)."""
        if self._async_client is not None:
            _, client = self._async_client
            self._async_client = None
            await client.aclose()

    def close(self) -> None:
        """Close the synchronous client's connections."""
        if "client" in self.__dict__:
            self.client.close()
            del self.__dict__["client"]

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated call; return ``(ok, message)`` for the UI's Test button."""
        from airflow_provider_codat.exceptions import CodatAuthenticationError, CodatError

        try:
            body = self.client.request("GET", _COMPANIES, {"page": 1, "pageSize": 1})
        except CodatAuthenticationError:
            return False, "Codat refused the API key (401 Unauthorized): check the key in the password field."
        except CodatError as exc:
            return False, str(exc)
        finally:
            self.close()
        return (
            True,
            f"Connected to Codat at {self.config.base_url}: {body.get('totalResults', 0)} companies visible.",
        )

    # -- Commerce -----------------------------------------------------------------------------
    def _list_path(self, resource: Resource, company_id: str, connection_id: str) -> str:
        from airflow_provider_codat.client._request import build_path

        return build_path(
            resource.list_path,
            companyId=check_uuid(company_id, "company_id"),
            connectionId=check_uuid(connection_id, "connection_id"),
        )

    def list_pages(
        self,
        resource: str,
        company_id: str,
        connection_id: str,
        *,
        query: str | None = None,
        order_by: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        """Yield the pages of a resource's list in order, with each record's text as Codat sent it.

        :param resource: A registry name such as ``orders`` (see :mod:`airflow_provider_codat.resources`).
        :param company_id: The company's UUID.
        :param connection_id: The commerce connection's UUID.
        :param query: A Codat query, e.g. ``modifiedDate>=2024-01-01``.
        :param order_by: A field to order by; ``-field`` for descending.
        :param page_size: Records per page, 1 to 5000 (default: the connection's).
        :raises CodatConfigError: On a bad argument, before any request.
        """
        row = _listable(resource)
        path = self._list_path(row, company_id, connection_id)
        _check_page_size(page_size)
        count = 0
        for page in self.client.pages(path, query=query, order_by=order_by, page_size=page_size):
            count += len(page.records)
            pages = max(1, -(-page.total // page.size))
            self.log.info("Codat %s: page %d of %d, %d records so far", row.name, page.number, pages, count)
            yield page

    def list(
        self,
        resource: str,
        company_id: str,
        connection_id: str,
        *,
        query: str | None = None,
        order_by: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every record of a resource, streaming page by page (numbers as exact Decimals).

        Parameters as :meth:`list_pages`.
        """
        for page in self.list_pages(
            resource, company_id, connection_id, query=query, order_by=order_by, page_size=page_size
        ):
            yield from page.records

    def list_models(
        self,
        resource: str,
        company_id: str,
        connection_id: str,
        *,
        query: str | None = None,
        order_by: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[CodatModel]:
        """Yield every record as its pydantic model (``.raw`` keeps the record as sent).

        Parameters as :meth:`list_pages`.
        """
        from airflow_provider_codat.models import model_for

        model = model_for(_listable(resource).name)
        for record in self.list(
            resource, company_id, connection_id, query=query, order_by=order_by, page_size=page_size
        ):
            yield model.from_raw(record)

    def get(self, resource: str, company_id: str, connection_id: str, record_id: str) -> dict[str, Any]:
        """Fetch one record by id (the id is percent-encoded; Codat ids can hold ``:`` and spaces)."""
        row = _listable(resource)
        return self._get_one(row, company_id, connection_id, record_id)

    def get_company_info(self, company_id: str, connection_id: str) -> dict[str, Any]:
        """Fetch the connection's company info (one object, no id)."""
        return self._get_one(get_resource("company_info"), company_id, connection_id, None)

    def _get_one(
        self, row: Resource, company_id: str, connection_id: str, record_id: str | None
    ) -> dict[str, Any]:
        params = _get_params(row, company_id, connection_id, record_id)
        result: dict[str, Any] = self.client.get(row.get_path, **params)
        return result

    # -- Commerce, async ----------------------------------------------------------------------
    async def alist_pages(
        self,
        resource: str,
        company_id: str,
        connection_id: str,
        *,
        query: str | None = None,
        order_by: str | None = None,
        page_size: int | None = None,
        limit: AsyncInFlightLimit | None = None,
        budget: PageBudget | None = None,
    ) -> AsyncIterator[Page]:
        """Async :meth:`list_pages`: usable in a trigger without blocking the event loop.

        :param limit: A window shared by every pull of the company running in this event loop,
            so together they keep within Codat's 10 requests in flight (default: this pull's own).
        :param budget: Look-ahead pages shared with the other pulls, bounding their memory.
        """
        row = _listable(resource)
        path = self._list_path(row, company_id, connection_id)
        _check_page_size(page_size)
        client = await self._aclient()
        async for page in client.pages(
            path, query=query, order_by=order_by, page_size=page_size, limit=limit, budget=budget
        ):
            yield page

    async def alist(
        self,
        resource: str,
        company_id: str,
        connection_id: str,
        *,
        query: str | None = None,
        order_by: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Async :meth:`list`."""
        async for page in self.alist_pages(
            resource, company_id, connection_id, query=query, order_by=order_by, page_size=page_size
        ):
            for record in page.records:
                yield record

    async def aget(
        self, resource: str, company_id: str, connection_id: str, record_id: str
    ) -> dict[str, Any]:
        """Async :meth:`get`."""
        row = _listable(resource)
        params = _get_params(row, company_id, connection_id, record_id)
        result: dict[str, Any] = await self._aget(row.get_path, **params)
        return result

    async def aget_company_info(self, company_id: str, connection_id: str) -> dict[str, Any]:
        """Async :meth:`get_company_info`."""
        row = get_resource("company_info")
        result: dict[str, Any] = await self._aget(
            row.get_path, **_get_params(row, company_id, connection_id, None)
        )
        return result

    async def _aget(self, template: str, **params: str) -> Any:
        client = await self._aclient()
        return await client.get(template, **params)

    # -- Platform -----------------------------------------------------------------------------
    def list_companies(self, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every company, each with its ``dataConnections``."""
        _check_page_size(page_size)
        for page in self.client.pages(_COMPANIES, page_size=page_size):
            yield from page.records

    def get_company(self, company_id: str) -> dict[str, Any]:
        """Fetch one company."""
        result: dict[str, Any] = self.client.get(_COMPANY, companyId=check_uuid(company_id, "company_id"))
        return result

    def list_connections(self, company_id: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every data connection of a company."""
        from airflow_provider_codat.client._request import build_path

        path = build_path(_CONNECTIONS, companyId=check_uuid(company_id, "company_id"))
        _check_page_size(page_size)
        for page in self.client.pages(path, page_size=page_size):
            yield from page.records

    def get_data_status(self, company_id: str) -> dict[str, Any]:
        """Fetch the company's ``dataStatus`` map, keyed by data type."""
        result: dict[str, Any] = self.client.get(_DATA_STATUS, companyId=check_uuid(company_id, "company_id"))
        return result

    async def aget_data_status(self, company_id: str) -> dict[str, Any]:
        """Async :meth:`get_data_status`."""
        result: dict[str, Any] = await self._aget(
            _DATA_STATUS, companyId=check_uuid(company_id, "company_id")
        )
        return result

    def refresh_data_type(
        self, company_id: str, data_type: str, connection_id: str | None = None
    ) -> dict[str, Any]:
        """Queue a refresh of one data type and return the PullOperation.

        :param data_type: A resource name (``orders``) or a Codat data type (``commerce-orders``).
        :raises CodatDatasetInProgressError: If a refresh of that type is already running.
        """
        from airflow_provider_codat.client._request import build_path

        row = _resource_or_error(data_type)
        path = build_path(_QUEUE, companyId=check_uuid(company_id, "company_id"), dataType=row.data_type)
        params = {"connectionId": check_uuid(connection_id, "connection_id")} if connection_id else None
        result: dict[str, Any] = self.client.request("POST", path, params)
        return result

    def list_pull_operations(
        self,
        company_id: str,
        *,
        query: str | None = None,
        order_by: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the company's pull operations (its refresh history), streaming page by page.

        :param company_id: The company's UUID.
        :param query: A Codat query on the operations, e.g. ``dataType=commerce-orders&&status=Fetching``.
        :param order_by: A field to order by, e.g. ``-requested`` for the newest first.
        :param page_size: Operations per page, 1 to 5000 (default: the connection's).
        :raises CodatConfigError: On a bad argument, before any request.
        """
        from airflow_provider_codat.client._request import build_path

        path = build_path(_PULL_OPERATIONS, companyId=check_uuid(company_id, "company_id"))
        _check_page_size(page_size)
        for page in self.client.pages(path, query=query, order_by=order_by, page_size=page_size):
            yield from page.records

    def get_pull_operation(self, company_id: str, pull_operation_id: str) -> dict[str, Any]:
        """Fetch one pull operation (a queued or finished refresh)."""
        result: dict[str, Any] = self.client.get(
            _PULL_OPERATION,
            companyId=check_uuid(company_id, "company_id"),
            datasetId=check_uuid(pull_operation_id, "pull_operation_id"),
        )
        return result

    async def aget_pull_operation(self, company_id: str, pull_operation_id: str) -> dict[str, Any]:
        """Async :meth:`get_pull_operation`."""
        result: dict[str, Any] = await self._aget(
            _PULL_OPERATION,
            companyId=check_uuid(company_id, "company_id"),
            datasetId=check_uuid(pull_operation_id, "pull_operation_id"),
        )
        return result


def _get_params(row: Resource, company_id: str, connection_id: str, record_id: str | None) -> dict[str, str]:
    """The checked path parameters of a get operation.

    :raises CodatConfigError: On a company or connection id that is not a UUID, or a bad record id.
    """
    params = {
        "companyId": check_uuid(company_id, "company_id"),
        "connectionId": check_uuid(connection_id, "connection_id"),
    }
    if row.id_param is not None:
        params[row.id_param] = check_record_id(record_id)
    return params


def _resource_or_error(name: str) -> Resource:
    from airflow_provider_codat.exceptions import CodatConfigError

    try:
        return get_resource(name)
    except ValueError as exc:
        raise CodatConfigError(str(exc).replace("resource:", "data_type:", 1)) from None


def _check_page_size(page_size: int | None) -> None:
    from airflow_provider_codat.client._config import MAX_PAGE_SIZE
    from airflow_provider_codat.exceptions import CodatConfigError

    if page_size is not None and (
        isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE
    ):
        raise CodatConfigError(
            f"page_size: must be a whole number from 1 to {MAX_PAGE_SIZE}, got {page_size!r}"
        )
