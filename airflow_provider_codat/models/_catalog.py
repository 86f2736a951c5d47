"""Commerce catalogue: products and their variants, product categories, tax components, locations."""

from __future__ import annotations

from pydantic import Field

from airflow_provider_codat.models._base import CodatDecimal, CodatModel, OpenEnum
from airflow_provider_codat.models._enums import ProductVariantStatus
from airflow_provider_codat.models._shared import (
    Address,
    LocationRef,
    RecordRef,
    SupplementalData,
    _Created,
    _Identified,
    _Modified,
)

__all__ = [
    "Location",
    "Product",
    "ProductCategory",
    "ProductInventory",
    "ProductInventoryLocation",
    "ProductPrice",
    "ProductVariant",
    "TaxComponent",
]


class ProductPrice(CodatModel):
    """The unit price of a product variant in one currency."""

    currency: str | None = Field(default=None, alias="currency")
    unit_price: CodatDecimal = Field(default=None, alias="unitPrice")


class ProductInventoryLocation(CodatModel):
    """The stock of a product variant held at one location."""

    quantity: CodatDecimal = Field(default=None, alias="quantity")
    location_ref: LocationRef | None = Field(default=None, alias="locationRef")


class ProductInventory(CodatModel):
    """The stock of a product variant, in total and per location."""

    total_quantity: CodatDecimal = Field(default=None, alias="totalQuantity")
    locations: list[ProductInventoryLocation] | None = Field(default=None, alias="locations")


class ProductVariant(_Modified, _Created, _Identified):
    """One saleable variant of a product (a size or colour, say)."""

    name: str | None = Field(default=None, alias="name")
    is_tax_enabled: bool | None = Field(default=None, alias="isTaxEnabled")
    sku: str | None = Field(default=None, alias="sku")
    barcode: str | None = Field(default=None, alias="barcode")
    unit_of_measure: str | None = Field(default=None, alias="unitOfMeasure")
    vat_percentage: CodatDecimal = Field(default=None, alias="vatPercentage")
    prices: list[ProductPrice] | None = Field(default=None, alias="prices")
    inventory: ProductInventory | None = Field(default=None, alias="inventory")
    shipping_required: bool | None = Field(default=None, alias="shippingRequired")
    status: OpenEnum[ProductVariantStatus] | None = Field(default=None, alias="status")


class Product(_Modified, _Created, _Identified):
    """A product in the store's inventory, with its variants.

    The spec's Product schema lists no dates, but every example (and the real API) carries
    ``createdDate``, ``modifiedDate`` and ``sourceModifiedDate``; ``modifiedDate`` is the incremental
    cursor, so they are typed here. ``status`` and ``productCategoryRefs`` stay in ``model_extra``.
    """

    name: str | None = Field(default=None, alias="name")
    description: str | None = Field(default=None, alias="description")
    categorization: str | None = Field(default=None, alias="categorization")
    is_gift_card: bool | None = Field(default=None, alias="isGiftCard")
    variants: list[ProductVariant] | None = Field(default=None, alias="variants")
    supplemental_data: SupplementalData | None = Field(default=None, alias="supplementalData")


class ProductCategory(_Modified):
    """A category that groups products; ``ancestorRefs`` runs from the root to the immediate parent."""

    id: str | None = Field(default=None, alias="id")
    name: str | None = Field(default=None, alias="name")
    ancestor_refs: list[RecordRef] | None = Field(default=None, alias="ancestorRefs")
    has_children: bool | None = Field(default=None, alias="hasChildren")


class TaxComponent(_Modified, _Identified):
    """A tax rate component of the commerce platform; ``rate`` is a fraction (``0.2`` is 20 %)."""

    name: str | None = Field(default=None, alias="name")
    rate: CodatDecimal = Field(default=None, alias="rate")
    is_compound: bool | None = Field(default=None, alias="isCompound")


class Location(_Modified, _Identified):
    """A place where stock is held or orders are taken; it has no ``createdDate``."""

    name: str | None = Field(default=None, alias="name")
    address: Address | None = Field(default=None, alias="address")
