"""Commerce money movements: orders and their lines, payments, payment methods, transactions, disputes."""

from __future__ import annotations

from pydantic import Field

from airflow_provider_codat.models._base import CodatDateTime, CodatDecimal, CodatModel, OpenEnum
from airflow_provider_codat.models._enums import (
    DisputeStatus,
    PaymentMethodStatus,
    PaymentStatus,
    PaymentType,
    ServiceChargeType,
    TransactionSourceType,
    TransactionType,
)
from airflow_provider_codat.models._shared import (
    CustomerRef,
    LocationRef,
    PaymentMethodRef,
    ProductRef,
    ProductVariantRef,
    SupplementalData,
    TaxComponentRef,
    _Created,
    _Identified,
    _Modified,
)

__all__ = [
    "Dispute",
    "Order",
    "OrderDiscountAllocation",
    "OrderLineItem",
    "Payment",
    "PaymentMethod",
    "PaymentRef",
    "ServiceCharge",
    "TaxComponentAllocation",
    "Transaction",
    "TransactionSourceRef",
]


class TaxComponentAllocation(CodatModel):
    """A tax component applied to an order line or service charge.

    ``taxAmount`` is not in the spec's schema, but its examples carry it; it is typed here so the
    amount stays an exact decimal.
    """

    tax_component_ref: TaxComponentRef | None = Field(default=None, alias="taxComponentRef")
    rate: CodatDecimal = Field(default=None, alias="rate")
    tax_amount: CodatDecimal = Field(default=None, alias="taxAmount")


class OrderDiscountAllocation(CodatModel):
    """A discount applied to an order line."""

    name: str | None = Field(default=None, alias="name")
    total_amount: CodatDecimal = Field(default=None, alias="totalAmount")


class OrderLineItem(_Identified):
    """One line of an order: a product variant, its quantity, price, taxes and discounts."""

    quantity: CodatDecimal = Field(default=None, alias="quantity")
    tax_percentage: CodatDecimal = Field(default=None, alias="taxPercentage")
    total_amount: CodatDecimal = Field(default=None, alias="totalAmount")
    total_tax_amount: CodatDecimal = Field(default=None, alias="totalTaxAmount")
    unit_price: CodatDecimal = Field(default=None, alias="unitPrice")
    taxes: list[TaxComponentAllocation] | None = Field(default=None, alias="taxes")
    product_ref: ProductRef | None = Field(default=None, alias="productRef")
    product_variant_ref: ProductVariantRef | None = Field(default=None, alias="productVariantRef")
    discount_allocations: list[OrderDiscountAllocation] | None = Field(
        default=None, alias="discountAllocations"
    )


class ServiceCharge(CodatModel):
    """A charge on an order that is not a product, such as shipping."""

    description: str | None = Field(default=None, alias="description")
    total_amount: CodatDecimal = Field(default=None, alias="totalAmount")
    tax_percentage: CodatDecimal = Field(default=None, alias="taxPercentage")
    tax_amount: CodatDecimal = Field(default=None, alias="taxAmount")
    taxes: list[TaxComponentAllocation] | None = Field(default=None, alias="taxes")
    quantity: int | None = Field(default=None, alias="quantity")
    type: OpenEnum[ServiceChargeType] | None = Field(default=None, alias="type")


class PaymentRef(_Modified, _Created, _Identified):
    """A payment as embedded in an order."""

    amount: CodatDecimal = Field(default=None, alias="amount")
    currency: str | None = Field(default=None, alias="currency")
    type: OpenEnum[PaymentType] | None = Field(default=None, alias="type")
    status: OpenEnum[PaymentStatus] | None = Field(default=None, alias="status")
    payment_provider: str | None = Field(default=None, alias="paymentProvider")
    due_date: CodatDateTime = Field(default=None, alias="dueDate")


class Order(_Modified, _Created, _Identified):
    """A Commerce order: its lines, payments, service charges and totals."""

    order_number: str | None = Field(default=None, alias="orderNumber")
    country: str | None = Field(default=None, alias="country")
    currency: str | None = Field(default=None, alias="currency")
    closed_date: CodatDateTime = Field(default=None, alias="closedDate")
    total_amount: CodatDecimal = Field(default=None, alias="totalAmount")
    total_refund: CodatDecimal = Field(default=None, alias="totalRefund")
    total_tax_amount: CodatDecimal = Field(default=None, alias="totalTaxAmount")
    total_discount: CodatDecimal = Field(default=None, alias="totalDiscount")
    total_gratuity: CodatDecimal = Field(default=None, alias="totalGratuity")
    order_line_items: list[OrderLineItem] | None = Field(default=None, alias="orderLineItems")
    payments: list[PaymentRef] | None = Field(default=None, alias="payments")
    service_charges: list[ServiceCharge] | None = Field(default=None, alias="serviceCharges")
    location_ref: LocationRef | None = Field(default=None, alias="locationRef")
    customer_ref: CustomerRef | None = Field(default=None, alias="customerRef")
    supplemental_data: SupplementalData | None = Field(default=None, alias="supplementalData")


class Payment(_Modified, _Created, _Identified):
    """A Commerce payment; real data also carries an undocumented ``type``, kept in ``model_extra``."""

    amount: CodatDecimal = Field(default=None, alias="amount")
    currency: str | None = Field(default=None, alias="currency")
    payment_method_ref: PaymentMethodRef | None = Field(default=None, alias="paymentMethodRef")
    status: OpenEnum[PaymentStatus] | None = Field(default=None, alias="status")
    payment_provider: str | None = Field(default=None, alias="paymentProvider")
    due_date: CodatDateTime = Field(default=None, alias="dueDate")
    supplemental_data: SupplementalData | None = Field(default=None, alias="supplementalData")


class PaymentMethod(_Modified, _Identified):
    """A Commerce payment method (card, PayPal, cash and so on)."""

    name: str | None = Field(default=None, alias="name")
    status: OpenEnum[PaymentMethodStatus] | None = Field(default=None, alias="status")


class TransactionSourceRef(CodatModel):
    """A reference to the record (order, payment, fee, service charge) a transaction arose from."""

    id: str | None = Field(default=None, alias="id")
    type: OpenEnum[TransactionSourceType] | None = Field(default=None, alias="type")


class Transaction(_Modified, _Created, _Identified):
    """A Commerce transaction; a payout is one whose ``type`` is ``Payout``."""

    total_amount: CodatDecimal = Field(default=None, alias="totalAmount")
    currency: str | None = Field(default=None, alias="currency")
    type: OpenEnum[TransactionType] | None = Field(default=None, alias="type")
    sub_type: str | None = Field(default=None, alias="subType")
    transaction_source_ref: TransactionSourceRef | None = Field(default=None, alias="transactionSourceRef")
    supplemental_data: SupplementalData | None = Field(default=None, alias="supplementalData")
    source_created_date: CodatDateTime = Field(default=None, alias="sourceCreatedDate")


class Dispute(_Modified, _Created, _Identified):
    """A payment dispute (chargeback or inquiry) raised by a customer."""

    disputed_transactions: list[TransactionSourceRef] | None = Field(
        default=None, alias="disputedTransactions"
    )
    total_amount: CodatDecimal = Field(default=None, alias="totalAmount")
    currency: str | None = Field(default=None, alias="currency")
    status: OpenEnum[DisputeStatus] | None = Field(default=None, alias="status")
    reason: str | None = Field(default=None, alias="reason")
    due_date: CodatDateTime = Field(default=None, alias="dueDate")
