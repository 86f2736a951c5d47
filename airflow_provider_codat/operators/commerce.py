"""Operators that pull Codat Commerce resources into XCom or object storage.

``CodatListOperator(resource=...)`` pulls any listable resource; one named subclass per listable
row of :mod:`airflow_provider_codat.resources` (``CodatListOrdersOperator``, ...) fixes ``resource``.
``CodatGetCompanyInfoOperator`` and ``CodatGetRecordOperator`` fetch single objects, and
:func:`list_commerce_connections` / ``CodatListConnectionsOperator`` feed dynamic task mapping.

Failures map onto Airflow as :mod:`airflow_provider_codat.airflow_errors` documents; windows as
:mod:`airflow_provider_codat.operators._window` documents.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_codat.arguments import (
    MAX_PAGE_SIZE,
    check_uuid_at_parse,
    check_whole,
    is_runtime_value,
)
from airflow_provider_codat.hooks.commerce import check_record_id
from airflow_provider_codat.operators._base import (
    CodatOperatorBase,
    CodatWindowedOperator,
    json_native,
    run_id,
    run_key,
)
from airflow_provider_codat.operators._window import (
    Window,
    combine_queries,
)
from airflow_provider_codat.operators.extract import CodatExtractOperator
from airflow_provider_codat.output import FORMATS
from airflow_provider_codat.resources import get_resource

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from airflow_provider_codat.client import Page

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "CodatExtractOperator",
    "CodatGetCompanyInfoOperator",
    "CodatGetRecordOperator",
    "CodatListConnectionsOperator",
    "CodatListCustomersOperator",
    "CodatListDisputesOperator",
    "CodatListLocationsOperator",
    "CodatListOperator",
    "CodatListOrdersOperator",
    "CodatListPaymentMethodsOperator",
    "CodatListPaymentsOperator",
    "CodatListProductCategoriesOperator",
    "CodatListProductsOperator",
    "CodatListTaxComponentsOperator",
    "CodatListTransactionsOperator",
    "list_commerce_connections",
]

log = logging.getLogger(__name__)
DEFAULT_XCOM_MAX_BYTES = 1_048_576
DEFAULT_BATCH_SIZE = 50
"""Connections per batch for ``CodatExtractOperator``: 10,000 connections make 200 mapped tasks."""


class CodatListOperator(CodatWindowedOperator):
    """Pull every record of a Commerce resource, incrementally by default, into XCom or files.

    :param resource: A listable registry name (``orders``, ``transactions``, ...); set by the
        named subclasses.
    :param company_id: The company's UUID. (templated)
    :param connection_id: The commerce connection's UUID. (templated)
    :param query: A Codat query, ANDed with the window. (templated)
    :param order_by: Field to order by, ``-field`` for descending. (templated)
    :param output: None to push records to XCom (up to ``xcom_max_bytes``), or a directory URI or
        ``ObjectStoragePath`` (``file://``, ``s3://conn@bucket/...``, ``gs://``, ...). (templated)
    :param format: ``jsonl`` (records exactly as Codat sent them), ``jsonl.gz`` or ``parquet``.
    :param full_refresh: Pull everything, ignoring the run's data interval.
    :param modified_since: Lower bound on ``modifiedDate``, overriding the interval. (templated)
    :param modified_until: Upper bound (exclusive) on ``modifiedDate``. (templated)
    :param overlap: How far before the interval's start the window opens (default 5 minutes).
    :param page_size: Records per page, 1 to 5000 (default: the connection's).
    :param part_records: Records per output file.
    :param xcom_max_bytes: Largest JSON pushed to XCom when ``output`` is None.
    :param on_not_synced: What a 409 (data type not synced yet) does: ``retry``, ``fail`` or ``skip``.
    :param deferrable: Wait out a daily-quota ``Retry-After`` in the triggerer instead of a task retry.
    :param codat_conn_id: The ``codat`` Airflow connection.
    """

    template_fields: Sequence[str] = (
        "company_id",
        "connection_id",
        "query",
        "order_by",
        "output_path",
        "modified_since",
        "modified_until",
    )
    resource_name: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        company_id: str,
        connection_id: str,
        resource: str | None = None,
        query: str | None = None,
        order_by: str | None = None,
        output: str | ObjectStoragePath | None = None,
        format: str = "jsonl",
        page_size: int | None = None,
        part_records: int = 1_000_000,
        xcom_max_bytes: int = DEFAULT_XCOM_MAX_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = self._check_resource(resource)
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.connection_id = check_uuid_at_parse(connection_id, "connection_id")
        self.query = query
        self.order_by = order_by
        self.output_path = output  # ``output`` itself is BaseOperator's XComArg property
        self.format = format
        self.page_size = page_size
        self.part_records = part_records
        self.xcom_max_bytes = xcom_max_bytes
        self._check_arguments()
        self._declare_lineage()

    # -- lineage ------------------------------------------------------------------------------------
    def source_uri(self) -> str:
        """The ``codat://company/connection/resource`` URI of what this task reads."""
        return f"codat://{self.company_id}/{self.connection_id}/{self.resource}"

    def _declare_lineage(self) -> None:
        """Declare Assets now where nothing is templated (templated values are known only at run time)."""
        from airflow.sdk import Asset

        if not (is_runtime_value(self.company_id) or is_runtime_value(self.connection_id)):
            self.inlets = [*self.inlets, Asset(self.source_uri())]
        if isinstance(self.output_path, str) and not is_runtime_value(self.output_path):
            self.outlets = [*self.outlets, Asset(self.output_path)]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage input (the Codat resource) and output (the files); None without the provider."""
        try:
            from airflow.providers.common.compat.openlineage.facet import Dataset
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        outputs = []
        if self.output_path is not None:
            from airflow.sdk import ObjectStoragePath

            path = ObjectStoragePath(str(self.output_path))
            outputs.append(Dataset(namespace=f"{path.protocol}://{path.bucket or ''}", name=path.path))
        source = Dataset(namespace="codat", name=self.source_uri().removeprefix("codat://"))
        return OperatorLineage(inputs=[source], outputs=outputs)

    def _check_resource(self, resource: str | None) -> str:
        name = resource or self.resource_name
        if self.resource_name and resource and resource != self.resource_name:
            raise ValueError(
                f"resource: {type(self).__name__} pulls {self.resource_name!r}, not {resource!r}"
            )
        if not name:
            raise ValueError("resource: required, e.g. resource='orders'")
        row = get_resource(name)
        if not row.listable:
            raise ValueError(f"resource: {name!r} has no list operation; use CodatGetCompanyInfoOperator")
        return row.name

    def _check_arguments(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.page_size is not None:
            check_whole(self.page_size, "page_size", 1, MAX_PAGE_SIZE)
        check_whole(self.part_records, "part_records", 1)
        check_whole(self.xcom_max_bytes, "xcom_max_bytes", 1)

    # -- running --------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        """Pull the window's records and land them; return the records or a manifest."""
        from airflow.providers.common.compat.sdk import AirflowFailException

        from airflow_provider_codat.output import OutputTooLargeError

        try:
            window = self.window(context)
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
        query = combine_queries(self.query, window.query())
        self.log.info("Codat %s: pulling records %s (query %s)", self.resource, window.describe(), query)
        try:
            with self.codat_errors():
                return self._land(self._pages(query), context, window)
        except OutputTooLargeError as exc:
            raise AirflowFailException(str(exc)) from None

    def _pages(self, query: str | None) -> Iterator[Page]:
        return self.hook.list_pages(
            self.resource,
            self.company_id,
            self.connection_id,
            query=query,
            order_by=self.order_by,
            page_size=self.page_size,
        )

    def _land(self, pages: Iterator[Page], context: Context, window: Window) -> Any:
        from airflow_provider_codat.output import collect_for_xcom, write_files

        if self.output_path is None:
            return collect_for_xcom(pages, max_bytes=self.xcom_max_bytes)
        return write_files(
            pages,
            output=self.output_path,
            fmt=self.format,
            resource=self.resource,
            part_records=self.part_records,
            run_key=run_key(self, context),
            about={
                "company_id": self.company_id,
                "connection_id": self.connection_id,
                "window": window.to_json(),
                "run_id": run_id(context),
            },
        )


class CodatListCustomersOperator(CodatListOperator):
    """Pull Codat Commerce ``customers`` (``commerce-customers``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "customers"


class CodatListDisputesOperator(CodatListOperator):
    """Pull Codat Commerce ``disputes`` (``commerce-disputes``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "disputes"


class CodatListLocationsOperator(CodatListOperator):
    """Pull Codat Commerce ``locations`` (``commerce-locations``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "locations"


class CodatListOrdersOperator(CodatListOperator):
    """Pull Codat Commerce ``orders`` (``commerce-orders``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "orders"


class CodatListPaymentsOperator(CodatListOperator):
    """Pull Codat Commerce ``payments`` (``commerce-payments``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "payments"


class CodatListPaymentMethodsOperator(CodatListOperator):
    """Pull Codat Commerce ``payment_methods`` (``commerce-paymentMethods``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "payment_methods"


class CodatListProductsOperator(CodatListOperator):
    """Pull Codat Commerce ``products`` (``commerce-products``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "products"


class CodatListProductCategoriesOperator(CodatListOperator):
    """Pull Codat Commerce ``product_categories`` (``commerce-productCategories``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "product_categories"


class CodatListTaxComponentsOperator(CodatListOperator):
    """Pull Codat Commerce ``tax_components`` (``commerce-taxComponents``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "tax_components"


class CodatListTransactionsOperator(CodatListOperator):
    """Pull Codat Commerce ``transactions`` (``commerce-transactions``).

    Parameters as :class:`CodatListOperator`, less ``resource``.
    """

    resource_name = "transactions"


LIST_OPERATORS: dict[str, type[CodatListOperator]] = {
    cls.resource_name: cls
    for cls in (
        CodatListCustomersOperator,
        CodatListDisputesOperator,
        CodatListLocationsOperator,
        CodatListOrdersOperator,
        CodatListPaymentsOperator,
        CodatListPaymentMethodsOperator,
        CodatListProductsOperator,
        CodatListProductCategoriesOperator,
        CodatListTaxComponentsOperator,
        CodatListTransactionsOperator,
    )
    if cls.resource_name is not None
}
"""The named list operators, keyed by resource name (a test keeps them one to one with the registry)."""


class CodatGetRecordOperator(CodatOperatorBase):
    """Fetch one record of a Commerce resource by id, into XCom as a JSON-native dict.

    :param resource: A listable registry name.
    :param company_id: The company's UUID. (templated)
    :param connection_id: The commerce connection's UUID. (templated)
    :param record_id: The record's id (percent-encoded for you; an empty id, ``.`` or ``..`` is
        refused). (templated)
    """

    template_fields: Sequence[str] = ("company_id", "connection_id", "record_id")

    def __init__(
        self, *, resource: str, company_id: str, connection_id: str, record_id: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        row = get_resource(resource)
        if not row.listable:
            raise ValueError(f"resource: {resource!r} has no records by id; use CodatGetCompanyInfoOperator")
        if not is_runtime_value(record_id):
            check_record_id(record_id)
        self.resource = row.name
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.connection_id = check_uuid_at_parse(connection_id, "connection_id")
        self.record_id = record_id

    def execute(self, context: Context) -> Any:
        """Fetch the record."""
        with self.codat_errors():
            return json_native(
                self.hook.get(self.resource, self.company_id, self.connection_id, self.record_id)
            )


class CodatGetCompanyInfoOperator(CodatOperatorBase):
    """Fetch a connection's company info into XCom as a JSON-native dict.

    :param company_id: The company's UUID. (templated)
    :param connection_id: The commerce connection's UUID. (templated)
    """

    template_fields: Sequence[str] = ("company_id", "connection_id")

    def __init__(self, *, company_id: str, connection_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.connection_id = check_uuid_at_parse(connection_id, "connection_id")

    def execute(self, context: Context) -> Any:
        """Fetch the company info."""
        with self.codat_errors():
            return json_native(self.hook.get_company_info(self.company_id, self.connection_id))


def list_commerce_connections(
    codat_conn_id: str = "codat_default",
    *,
    statuses: Sequence[str] = ("Linked",),
    platforms: Sequence[str] = (),
    batch_size: int | None = None,
) -> list[Any]:
    """List commerce connections as ``[{"company_id": ..., "connection_id": ...}]`` to fan out over.

    :param codat_conn_id: The ``codat`` Airflow connection.
    :param statuses: Connection statuses to keep (default Linked only).
    :param platforms: Platform names to keep, case-insensitive (default all), e.g. ``["Shopify"]``.
    :param batch_size: None for one dict per connection (for ``expand_kwargs`` of a per-resource
        operator); a number for lists of up to that many connections (for
        ``CodatExtractOperator.partial(...).expand(connections=...)``), a company's connections
        kept in one batch where they fit. :data:`DEFAULT_BATCH_SIZE` maps 10,000 connections
        to 200 tasks, far below Airflow's ``max_map_length`` of 1,024.
    """
    from airflow_provider_codat._logs import counted
    from airflow_provider_codat.hooks.commerce import CodatCommerceHook

    if batch_size is not None:
        check_whole(batch_size, "batch_size", 1)
    wanted = {p.casefold() for p in platforms}
    skipped: Counter[str] = Counter()
    companies: list[list[dict[str, str]]] = []
    for company in CodatCommerceHook(codat_conn_id=codat_conn_id).list_companies():
        kept = []
        for conn in company.get("dataConnections") or []:
            if conn.get("sourceType") != "Commerce":
                skipped["not a commerce connection"] += 1
            elif conn.get("status") not in statuses:
                skipped[f"status {conn.get('status')}"] += 1
            elif wanted and str(conn.get("platformName", "")).casefold() not in wanted:
                skipped[f"platform {conn.get('platformName')}"] += 1
            else:
                kept.append({"company_id": company["id"], "connection_id": conn["id"]})
        companies.append(kept)
    found = sum(len(kept) for kept in companies)
    reasons = ", ".join(f"{count} for {reason}" for reason, count in sorted(skipped.items())) or "none"
    log.info(
        "Codat: %s to pull from %s; skipped %d (%s)",
        counted(found, "commerce connection"),
        counted(len(companies), "company", "companies"),
        sum(skipped.values()),
        reasons,
    )
    if batch_size is None:
        return [conn for kept in companies for conn in kept]
    return _batches(companies, batch_size)


def _batches(companies: list[list[dict[str, str]]], size: int) -> list[list[dict[str, str]]]:
    """Pack each company's connections into batches of up to ``size``, not splitting a company that fits."""
    batches: list[list[dict[str, str]]] = []
    current: list[dict[str, str]] = []
    for kept in companies:
        if current and len(current) + len(kept) > size:
            batches.append(current)
            current = []
        for start in range(0, len(kept), size):
            chunk = kept[start : start + size]
            if len(current) + len(chunk) > size:
                batches.append(current)
                current = []
            current.extend(chunk)
    if current:
        batches.append(current)
    return batches


class CodatListConnectionsOperator(CodatOperatorBase):
    """Push the commerce connections to fan out over (see :func:`list_commerce_connections`).

    :param statuses: Connection statuses to keep (default Linked only).
    :param platforms: Platform names to keep (default all).
    :param batch_size: None for one dict per connection, or the size of the batches to push
        (see :func:`list_commerce_connections`).
    """

    template_fields: Sequence[str] = ("platforms",)

    def __init__(
        self,
        *,
        statuses: Sequence[str] = ("Linked",),
        platforms: Sequence[str] = (),
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.statuses, self.platforms = list(statuses), list(platforms)
        if batch_size is not None:
            check_whole(batch_size, "batch_size", 1)
        self.batch_size = batch_size

    def execute(self, context: Context) -> list[Any]:
        """List the connections."""
        with self.codat_errors():
            return list_commerce_connections(
                self.codat_conn_id,
                statuses=self.statuses,
                platforms=self.platforms,
                batch_size=self.batch_size,
            )
