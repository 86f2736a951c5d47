"""``CodatPlatformHook``: a ``codat`` connection, its clients, and Codat's Platform API calls.

The hook resolves its Airflow Connection once, on first use (never at construction), into a
:class:`~airflow_provider_codat.client.ClientConfig`, and registers the API key and the derived
``Basic`` header with Airflow's secret masker. The HTTP work is done by
:class:`~airflow_provider_codat.client.CodatClient` and its async twin.

The Platform calls are what the provider needs around the Commerce data: companies and their
connections (to fan out), ``dataStatus``, and refreshes (queue, history, one pull operation).
:class:`~airflow_provider_codat.hooks.commerce.CodatCommerceHook` builds on this hook.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self

from airflow.sdk import BaseHook

from airflow_provider_codat._logs import counted
from airflow_provider_codat.arguments import MAX_PAGE_SIZE, check_uuid, check_whole, data_type_key

if TYPE_CHECKING:
    import httpx

    from airflow_provider_codat.client import AsyncCodatClient, ClientConfig, CodatClient

__all__ = ["TEST_ATTEMPTS", "TEST_BUDGET", "CodatPlatformHook", "check_page_size"]

_COMPANIES = "/companies"
_COMPANY = "/companies/{companyId}"
_CONNECTIONS = "/companies/{companyId}/connections"
_DATA_STATUS = "/companies/{companyId}/dataStatus"
_QUEUE = "/companies/{companyId}/data/queue/{dataType}"
_PULL_OPERATIONS = "/companies/{companyId}/data/history"
_PULL_OPERATION = "/companies/{companyId}/data/history/{datasetId}"

TEST_ATTEMPTS = 3
"""Attempts of the Test button's call, at most (the connection's ``max_attempts`` if fewer)."""
TEST_BUDGET = 20.0
"""Seconds the Test button's call may take, retries included, at most (or the connection's ``max_total``)."""


def check_page_size(page_size: object) -> None:
    """Refuse a ``page_size`` that is neither None nor a whole number from 1 to 5000.

    :raises CodatConfigError: Naming ``page_size``.
    """
    if page_size is not None:
        check_whole(page_size, "page_size", 1, MAX_PAGE_SIZE)


class CodatPlatformHook(BaseHook):
    """Talk to Codat's Platform API (companies, connections, data status, refreshes) on a connection.

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
        return f"{type(self).__name__}(codat_conn_id={self.codat_conn_id!r})"

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

    async def __aenter__(self) -> Self:
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
        """Make one cheap authenticated call; return ``(ok, message)`` for the UI's Test button.

        The messages name no connection id: the UI tests a copy of the connection under a
        temporary id, which would mean nothing to the user. The call is retried at most
        :data:`TEST_ATTEMPTS` times within :data:`TEST_BUDGET` seconds, so that the button answers
        promptly.
        """
        from airflow_provider_codat.client import CodatClient
        from airflow_provider_codat.exceptions import (
            CodatAuthenticationError,
            CodatConnectionError,
            CodatError,
        )

        try:
            config = self.config
        except CodatConnectionError as exc:
            return False, f"The connection cannot be used: {exc.problem}"
        retry = config.retry.model_copy(
            update={
                "max_attempts": min(config.retry.max_attempts, TEST_ATTEMPTS),
                "max_total": min(config.retry.max_total, TEST_BUDGET),
            }
        )
        try:
            with CodatClient(config.model_copy(update={"retry": retry}), transport=self._transport) as client:
                body = client.request("GET", _COMPANIES, {"page": 1, "pageSize": 1})
        except CodatAuthenticationError:
            return False, "Codat refused the API key (401 Unauthorized): check the API key."
        except CodatError as exc:
            return False, str(exc)
        visible = counted(int(body.get("totalResults", 0)), "company", "companies")
        return True, f"Connected to Codat at {config.base_url}: {visible} visible."

    async def _aget(self, template: str, **params: str) -> Any:
        client = await self._aclient()
        return await client.get(template, **params)

    # -- Platform -----------------------------------------------------------------------------
    def list_companies(self, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every company, each with its ``dataConnections``."""
        check_page_size(page_size)
        for page in self.client.pages(_COMPANIES, page_size=page_size):
            yield from page.records

    def get_company(self, company_id: str) -> dict[str, Any]:
        """Fetch one company."""
        result: dict[str, Any] = self.client.get(_COMPANY, companyId=check_uuid(company_id, "company_id"))
        return result

    def list_connections(self, company_id: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every data connection of a company."""
        from airflow_provider_codat.client import build_path

        path = build_path(_CONNECTIONS, companyId=check_uuid(company_id, "company_id"))
        check_page_size(page_size)
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
        from airflow_provider_codat.client import build_path

        key = data_type_key(data_type, "data_type")
        path = build_path(_QUEUE, companyId=check_uuid(company_id, "company_id"), dataType=key)
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
        from airflow_provider_codat.client import build_path

        path = build_path(_PULL_OPERATIONS, companyId=check_uuid(company_id, "company_id"))
        check_page_size(page_size)
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
