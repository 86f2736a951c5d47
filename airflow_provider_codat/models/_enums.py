"""The enums of Codat's Commerce schemas.

Fields never use these directly: they are typed ``OpenEnum[...]``, so a value outside the enum
(``billing``, ``Chargeback``) is kept as a plain string instead of failing validation.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AddressType",
    "DisputeStatus",
    "PaymentMethodStatus",
    "PaymentStatus",
    "PaymentType",
    "PhoneNumberType",
    "ProductVariantStatus",
    "ServiceChargeType",
    "TransactionSourceType",
    "TransactionType",
    "WeblinkType",
]


class AddressType(StrEnum):
    """The type of an address."""

    BILLING = "Billing"
    DELIVERY = "Delivery"
    ORDER = "Order"
    INVENTORY = "Inventory"
    UNKNOWN = "Unknown"


class PhoneNumberType(StrEnum):
    """The type of a phone number."""

    PRIMARY = "Primary"
    LANDLINE = "Landline"
    MOBILE = "Mobile"
    FAX = "Fax"
    UNKNOWN = "Unknown"


class WeblinkType(StrEnum):
    """The type of a company's web link."""

    WEBSITE = "Website"
    SOCIAL = "Social"
    UNKNOWN = "Unknown"


class DisputeStatus(StrEnum):
    """The current status of a dispute."""

    WON = "Won"
    LOST = "Lost"
    ACCEPTED = "Accepted"
    PROCESSING = "Processing"
    CHARGE_REFUNDED = "ChargeRefunded"
    EVIDENCE_REQUIRED = "EvidenceRequired"
    INQUIRY_EVIDENCE_REQUIRED = "InquiryEvidenceRequired"
    INQUIRY_PROCESSING = "InquiryProcessing"
    INQUIRY_CLOSED = "InquiryClosed"
    WAITING_THIRD_PARTY = "WaitingThirdParty"
    UNKNOWN = "Unknown"


class ServiceChargeType(StrEnum):
    """The type of an order's service charge."""

    GENERIC = "Generic"
    SHIPPING = "Shipping"
    OVERPAYMENT = "Overpayment"
    UNKNOWN = "Unknown"


class PaymentStatus(StrEnum):
    """The status of a payment."""

    PENDING = "Pending"
    AUTHORIZED = "Authorized"
    PAID = "Paid"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"


class PaymentType(StrEnum):
    """The type of a payment made against an order."""

    CASH = "Cash"
    CARD = "Card"
    INVOICE = "Invoice"
    ONLINE_CARD = "OnlineCard"
    SWISH = "Swish"
    VIPPS = "Vipps"
    MOBILE = "Mobile"
    STORE_CREDIT = "StoreCredit"
    PAYPAL = "Paypal"
    CUSTOM = "Custom"
    PREPAID = "Prepaid"
    UNKNOWN = "Unknown"


class PaymentMethodStatus(StrEnum):
    """The status of a payment method."""

    UNKNOWN = "Unknown"
    ACTIVE = "Active"
    ARCHIVED = "Archived"


class ProductVariantStatus(StrEnum):
    """The publication status of a product variant."""

    UNKNOWN = "Unknown"
    PUBLISHED = "Published"
    UNPUBLISHED = "Unpublished"


class TransactionType(StrEnum):
    """The type of a platform transaction; a payout is a ``Payout`` transaction."""

    PAYMENT = "Payment"
    REFUND = "Refund"
    PAYOUT = "Payout"
    FAILED_PAYOUT = "FailedPayout"
    TRANSFER = "Transfer"
    PAYMENT_FEE = "PaymentFee"
    PAYMENT_FEE_REFUND = "PaymentFeeRefund"
    UNKNOWN = "Unknown"


class TransactionSourceType(StrEnum):
    """The type of record a transaction arose from."""

    FEE = "Fee"
    ORDER = "Order"
    PAYMENT = "Payment"
    SERVICE_CHARGE = "ServiceCharge"
    UNKNOWN = "Unknown"
