"""Operators that fetch one Codat Commerce object: a record by id, or a connection's company info."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_codat.arguments import check_record_id, check_uuid_at_parse, is_runtime_value
from airflow_provider_codat.exceptions import CodatConfigError
from airflow_provider_codat.operators._base import CodatOperatorBase, json_native
from airflow_provider_codat.resources import get_resource

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["CodatGetCompanyInfoOperator", "CodatGetRecordOperator"]


class CodatGetRecordOperator(CodatOperatorBase):
    """Fetch one record of a Commerce resource by id, into XCom as a JSON-native dict.

    :param resource: A listable registry name.
    :param company_id: The company's UUID. (templated)
    :param connection_id: The commerce connection's UUID. (templated)
    :param record_id: The record's id (percent-encoded for you; an empty id, ``.`` or ``..`` is
        refused). (templated)
    """

    template_fields: Sequence[str] = ("company_id", "connection_id", "record_id")
    map_index_label = "{{ task.resource }} {{ task.record_id }}: company {{ task.company_id }}"

    def __init__(
        self, *, resource: str, company_id: str, connection_id: str, record_id: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        row = get_resource(resource)
        if not row.listable:
            raise CodatConfigError(
                f"resource: {resource!r} has no records by id; use CodatGetCompanyInfoOperator"
            )
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
    map_index_label = "company info: company {{ task.company_id }}, connection {{ task.connection_id }}"

    def __init__(self, *, company_id: str, connection_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.company_id = check_uuid_at_parse(company_id, "company_id")
        self.connection_id = check_uuid_at_parse(connection_id, "connection_id")

    def execute(self, context: Context) -> Any:
        """Fetch the company info."""
        with self.codat_errors():
            return json_native(self.hook.get_company_info(self.company_id, self.connection_id))
