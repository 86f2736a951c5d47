"""Commerce building blocks used by several records: mixins, addresses, phones and references."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from airflow_provider_codat.models._base import CodatDateTime, CodatModel, OpenEnum
from airflow_provider_codat.models._enums import AddressType, PhoneNumberType

__all__ = [
    "Address",
    "CustomerRef",
    "LocationRef",
    "PaymentMethodRef",
    "PhoneNumber",
    "ProductRef",
    "ProductVariantRef",
    "RecordRef",
    "SupplementalData",
    "TaxComponentRef",
]


class _Identified(CodatModel):
    """Mixin for the spec's ``id`` (``Order/allOf/0``), unique within a connection."""

    id: str | None = Field(default=None, alias="id")


class _Created(CodatModel):
    """Mixin for the spec's ``CreatedDate``."""

    created_date: CodatDateTime = Field(default=None, alias="createdDate")


class _Modified(CodatModel):
    """Mixin for the spec's ``ModifiedDates``; ``modifiedDate`` is the incremental cursor."""

    modified_date: CodatDateTime = Field(default=None, alias="modifiedDate")
    source_modified_date: CodatDateTime = Field(default=None, alias="sourceModifiedDate")


class Address(CodatModel):
    """A postal address; ``country`` is kept exactly as sent (``'GB '``, ``''``)."""

    type: OpenEnum[AddressType] | None = Field(default=None, alias="type")
    line1: str | None = Field(default=None, alias="line1")
    line2: str | None = Field(default=None, alias="line2")
    city: str | None = Field(default=None, alias="city")
    region: str | None = Field(default=None, alias="region")
    country: str | None = Field(default=None, alias="country")
    postal_code: str | None = Field(default=None, alias="postalCode")


class PhoneNumber(CodatModel):
    """A phone number and its type."""

    number: str | None = Field(default=None, alias="number")
    type: OpenEnum[PhoneNumberType] | None = Field(default=None, alias="type")


class SupplementalData(CodatModel):
    """Extra key-value data configured per integration."""

    content: dict[str, dict[str, Any]] | None = Field(default=None, alias="content")


class RecordRef(CodatModel):
    """A reference to another record by ``id`` and record ``type``."""

    id: str | None = Field(default=None, alias="id")
    type: str | None = Field(default=None, alias="type")


class _NamedRef(CodatModel):
    """Shape shared by the references that carry an ``id`` and a ``name``."""

    id: str | None = Field(default=None, alias="id")
    name: str | None = Field(default=None, alias="name")


class CustomerRef(_NamedRef):
    """A reference to the customer that placed an order."""


class LocationRef(_NamedRef):
    """A reference to a location (where an order was placed or stock is held)."""


class PaymentMethodRef(_NamedRef):
    """A reference to a payment method."""


class ProductRef(_NamedRef):
    """A reference from an order line to a product."""


class ProductVariantRef(_NamedRef):
    """A reference from an order line to a product variant."""


class TaxComponentRef(_NamedRef):
    """A reference to a tax component (tax rate)."""
