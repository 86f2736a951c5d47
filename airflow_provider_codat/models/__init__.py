"""Pydantic v2 models of Codat's Commerce records and the Platform schemas the provider uses.

Import cost is pydantic's alone: nothing here imports Airflow or httpx. Every model is tolerant
(unknown fields and enum values kept, every field optional) and exact (amounts are
:class:`~decimal.Decimal`, dates go through :data:`CodatDateTime`); see :class:`CodatModel`.

Use :func:`model_for` to go from a registry row (:mod:`airflow_provider_codat.resources`) to its
model, and ``Page[Model]`` for a paged list response.
"""

from __future__ import annotations

from airflow_provider_codat.models._base import (
    CodatDateTime,
    CodatDecimal,
    CodatModel,
    HalRef,
    OpenEnum,
    Page,
    PageLinks,
    parse_codat_datetime,
    to_decimal,
)
from airflow_provider_codat.models.commerce import (
    AccountBalance,
    Address,
    AddressType,
    CompanyInfo,
    Customer,
    CustomerRef,
    Dispute,
    DisputeStatus,
    Location,
    LocationRef,
    Order,
    OrderDiscountAllocation,
    OrderLineItem,
    Payment,
    PaymentMethod,
    PaymentMethodRef,
    PaymentMethodStatus,
    PaymentRef,
    PaymentStatus,
    PaymentType,
    PhoneNumber,
    PhoneNumberType,
    Product,
    ProductCategory,
    ProductInventory,
    ProductInventoryLocation,
    ProductPrice,
    ProductRef,
    ProductVariant,
    ProductVariantRef,
    ProductVariantStatus,
    RecordRef,
    ServiceCharge,
    ServiceChargeType,
    SupplementalData,
    TaxComponent,
    TaxComponentAllocation,
    TaxComponentRef,
    Transaction,
    TransactionSourceRef,
    TransactionSourceType,
    TransactionType,
    Weblink,
    WeblinkType,
)
from airflow_provider_codat.models.platform import (
    Companies,
    Company,
    CompanyReference,
    CompanyReferenceLinks,
    Connection,
    Connections,
    ConnectionStatus,
    DataConnectionError,
    DataConnectionErrorStatus,
    DataStatus,
    DataStatuses,
    DataType,
    ErrorMessage,
    ErrorValidation,
    ErrorValidationItem,
    PullOperation,
    PullOperations,
    PullOperationStatus,
    SourceType,
)
from airflow_provider_codat.resources import get_resource

__all__ = [
    "AccountBalance",
    "Address",
    "AddressType",
    "CodatDateTime",
    "CodatDecimal",
    "CodatModel",
    "Companies",
    "Company",
    "CompanyInfo",
    "CompanyReference",
    "CompanyReferenceLinks",
    "Connection",
    "ConnectionStatus",
    "Connections",
    "Customer",
    "CustomerRef",
    "DataConnectionError",
    "DataConnectionErrorStatus",
    "DataStatus",
    "DataStatuses",
    "DataType",
    "Dispute",
    "DisputeStatus",
    "ErrorMessage",
    "ErrorValidation",
    "ErrorValidationItem",
    "HalRef",
    "Location",
    "LocationRef",
    "OpenEnum",
    "Order",
    "OrderDiscountAllocation",
    "OrderLineItem",
    "Page",
    "PageLinks",
    "Payment",
    "PaymentMethod",
    "PaymentMethodRef",
    "PaymentMethodStatus",
    "PaymentRef",
    "PaymentStatus",
    "PaymentType",
    "PhoneNumber",
    "PhoneNumberType",
    "Product",
    "ProductCategory",
    "ProductInventory",
    "ProductInventoryLocation",
    "ProductPrice",
    "ProductRef",
    "ProductVariant",
    "ProductVariantRef",
    "ProductVariantStatus",
    "PullOperation",
    "PullOperationStatus",
    "PullOperations",
    "RecordRef",
    "ServiceCharge",
    "ServiceChargeType",
    "SourceType",
    "SupplementalData",
    "TaxComponent",
    "TaxComponentAllocation",
    "TaxComponentRef",
    "Transaction",
    "TransactionSourceRef",
    "TransactionSourceType",
    "TransactionType",
    "Weblink",
    "WeblinkType",
    "model_for",
    "parse_codat_datetime",
    "to_decimal",
]

_MODELS: dict[str, type[CodatModel]] = {
    name: obj
    for name, obj in globals().items()
    if isinstance(obj, type) and issubclass(obj, CodatModel) and name in __all__ and obj is not CodatModel
}


def model_for(resource_name_or_model_name: str) -> type[CodatModel]:
    """Return the model class for a model name, resource name or Codat data type.

    ``model_for("Order")``, ``model_for("orders")`` and ``model_for("commerce-orders")`` all give
    :class:`Order`: a model name is looked up first, then the registry row's ``model`` field.

    :param resource_name_or_model_name: A model class name (as in ``Resource.model``), a resource
        name (``payment_methods``) or a data type (``commerce-paymentMethods``).
    :raises ValueError: If the name matches no model and no resource; the message lists the models.
    """
    name = resource_name_or_model_name
    found = _MODELS.get(name)
    if found is not None:
        return found
    try:
        return _MODELS[get_resource(name).model]
    except (KeyError, ValueError):
        valid = ", ".join(sorted(_MODELS))
        raise ValueError(
            f"model_for: no Codat model or resource named {name!r}; models are {valid}"
        ) from None
