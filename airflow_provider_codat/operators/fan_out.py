"""Fan-out: the commerce connections to map Codat tasks over, one per connection or in batches.

:func:`list_commerce_connections` and ``CodatListConnectionsOperator`` read every company and its
data connections (as :mod:`airflow_provider_codat.models.platform` models) and keep the linked
commerce ones, for ``expand_kwargs`` of a per-resource operator, or in batches for
``CodatExtractOperator.partial(...).expand(connections=...)``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_codat.arguments import check_whole
from airflow_provider_codat.exceptions import CodatDecodeError
from airflow_provider_codat.operators._base import CodatOperatorBase

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_codat.models.platform import Company

__all__ = ["DEFAULT_BATCH_SIZE", "CodatListConnectionsOperator", "list_commerce_connections"]

log = logging.getLogger(__name__)
DEFAULT_BATCH_SIZE = 50
"""Connections per batch for ``CodatExtractOperator``: 10,000 connections make 200 mapped tasks."""


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
    from airflow_provider_codat.models.platform import SourceType

    if batch_size is not None:
        check_whole(batch_size, "batch_size", 1)
    wanted = {p.casefold() for p in platforms}
    skipped: Counter[str] = Counter()
    companies: list[list[dict[str, str]]] = []
    for record in CodatCommerceHook(codat_conn_id=codat_conn_id).list_companies():
        company = _company(record)
        kept = []
        for conn in company.data_connections or []:
            if conn.source_type != SourceType.COMMERCE:
                skipped["not a commerce connection"] += 1
            elif conn.status not in statuses:
                skipped[f"status {conn.status}"] += 1
            elif wanted and (conn.platform_name or "").casefold() not in wanted:
                skipped[f"platform {conn.platform_name}"] += 1
            else:
                kept.append({"company_id": str(company.id), "connection_id": str(conn.id)})
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


def _company(record: dict[str, Any]) -> Company:
    """A company record as its model.

    :raises CodatDecodeError: If Codat's answer does not fit the spec's ``Company`` (no input quoted).
    """
    from pydantic import ValidationError

    from airflow_provider_codat.models.platform import Company

    try:
        return Company.from_raw(record)
    except ValidationError as exc:
        where = "; ".join(".".join(map(str, e["loc"])) for e in exc.errors(include_input=False))
    raise CodatDecodeError(f"company {record.get('id')!r} does not fit Codat's Company schema at {where}")


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
