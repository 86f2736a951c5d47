"""``CodatCommerceHook``: every Commerce operation of the registry, list and get, sync and async.

It is a :class:`~airflow_provider_codat.hooks.platform.CodatPlatformHook` (the connection, its
clients, and the Platform calls); list and get calls read their paths from
:mod:`airflow_provider_codat.resources`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from airflow_provider_codat._logs import PageProgress, counted
from airflow_provider_codat.arguments import check_record_id, check_uuid, listable_name
from airflow_provider_codat.hooks.platform import CodatPlatformHook, check_page_size
from airflow_provider_codat.resources import Resource, get_resource

if TYPE_CHECKING:
    from airflow_provider_codat.client import AsyncInFlightLimit, Page, PageBudget
    from airflow_provider_codat.models import CodatModel

__all__ = ["CodatCommerceHook", "check_record_id", "check_uuid"]

log = logging.getLogger(__name__)


def _listable(name: str) -> Resource:
    """The registry row of a listable resource.

    :raises CodatConfigError: Naming ``resource``, on an unknown resource or one with no list.
    """
    return get_resource(listable_name(name, "resource"))


class CodatCommerceHook(CodatPlatformHook):
    """Talk to Codat's Commerce API through a ``codat`` connection.

    A :class:`~airflow_provider_codat.hooks.platform.CodatPlatformHook`, so the Platform calls
    (``list_companies``, ``get_data_status``, ``refresh_data_type``, ...) are available here too,
    on the same connection and clients.

    :param codat_conn_id: The Airflow connection holding the API key and server settings.
    :param transport: An httpx transport for the sync client (tests).
    :param async_transport: An httpx transport for the async client (tests).
    """

    # -- Commerce -----------------------------------------------------------------------------
    def _list_path(self, resource: Resource, company_id: str, connection_id: str) -> str:
        from airflow_provider_codat.client import build_path

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

        Progress is logged per page, throttled (:class:`~airflow_provider_codat._logs.PageProgress`).

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
        check_page_size(page_size)
        count = 0
        progress = PageProgress(log)
        for page in self.client.pages(path, query=query, order_by=order_by, page_size=page_size):
            count += len(page)
            pages = max(1, -(-page.total // page.size))
            progress.page(
                page.number >= pages,
                "Codat %s: page %d of %d, %s so far",
                row.name,
                page.number,
                pages,
                counted(count, "record"),
            )
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
        check_page_size(page_size)
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
