"""The Commerce operators, importable from one module.

The classes live in small modules of their own, and this module names them all, as users have
imported them from here:

- :mod:`~airflow_provider_codat.operators.lists`: ``CodatListOperator`` and its named subclasses
  (``CodatListOrdersOperator``, ...), which pull a resource into XCom or files;
- :mod:`~airflow_provider_codat.operators.records`: ``CodatGetRecordOperator`` and
  ``CodatGetCompanyInfoOperator``, which fetch one object;
- :mod:`~airflow_provider_codat.operators.fan_out`: :func:`list_commerce_connections` and
  ``CodatListConnectionsOperator``, which feed dynamic task mapping;
- :mod:`~airflow_provider_codat.operators.extract`: ``CodatExtractOperator``, which pulls many
  connections and resources in one task.
"""

from __future__ import annotations

from airflow_provider_codat.operators.extract import CodatExtractOperator
from airflow_provider_codat.operators.fan_out import (
    DEFAULT_BATCH_SIZE,
    CodatListConnectionsOperator,
    list_commerce_connections,
)
from airflow_provider_codat.operators.lists import (
    LIST_OPERATORS,
    CodatListCustomersOperator,
    CodatListDisputesOperator,
    CodatListLocationsOperator,
    CodatListOperator,
    CodatListOrdersOperator,
    CodatListPaymentMethodsOperator,
    CodatListPaymentsOperator,
    CodatListProductCategoriesOperator,
    CodatListProductsOperator,
    CodatListTaxComponentsOperator,
    CodatListTransactionsOperator,
)
from airflow_provider_codat.operators.records import CodatGetCompanyInfoOperator, CodatGetRecordOperator

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "LIST_OPERATORS",
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
