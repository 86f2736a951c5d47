"""Pydantic models of the few Codat Platform API schemas the provider needs.

Companies and their connections (to fan out over), pull operations and data status (to know when a
dataset is fresh), and the error body every Codat API returns.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, RootModel

from airflow_provider_codat.models._base import CodatDateTime, CodatModel, OpenEnum, Page
from airflow_provider_codat.refresh import PullOperationStatus

__all__ = [
    "Companies",
    "Company",
    "CompanyReference",
    "CompanyReferenceLinks",
    "Connection",
    "ConnectionStatus",
    "Connections",
    "DataConnectionError",
    "DataConnectionErrorStatus",
    "DataStatus",
    "DataStatuses",
    "DataType",
    "ErrorMessage",
    "ErrorValidation",
    "ErrorValidationItem",
    "PullOperation",
    "PullOperationStatus",
    "PullOperations",
    "SourceType",
]


class ConnectionStatus(StrEnum):
    """The state of a data connection."""

    PENDING_AUTH = "PendingAuth"
    LINKED = "Linked"
    UNLINKED = "Unlinked"
    DEAUTHORIZED = "Deauthorized"


class SourceType(StrEnum):
    """The kind of platform behind a connection."""

    ACCOUNTING = "Accounting"
    BANKING = "Banking"
    BANK_FEED = "BankFeed"
    COMMERCE = "Commerce"
    EXPENSE = "Expense"
    OTHER = "Other"
    UNKNOWN = "Unknown"


class DataConnectionErrorStatus(StrEnum):
    """Whether a connection error is still active."""

    ACTIVE = "Active"
    RESOLVED = "Resolved"


class DataType(StrEnum):
    """A Codat data type key, as in ``dataStatus`` and the refresh queue."""

    ACCOUNT_TRANSACTIONS = "accountTransactions"
    BALANCE_SHEET = "balanceSheet"
    BANK_ACCOUNTS = "bankAccounts"
    BANK_TRANSACTIONS = "bankTransactions"
    BILL_CREDIT_NOTES = "billCreditNotes"
    BILL_PAYMENTS = "billPayments"
    BILLS = "bills"
    CASH_FLOW_STATEMENT = "cashFlowStatement"
    CHART_OF_ACCOUNTS = "chartOfAccounts"
    COMPANY = "company"
    CREDIT_NOTES = "creditNotes"
    CUSTOMERS = "customers"
    DIRECT_COSTS = "directCosts"
    DIRECT_INCOMES = "directIncomes"
    INVOICES = "invoices"
    ITEM_RECEIPTS = "itemReceipts"
    ITEMS = "items"
    JOURNAL_ENTRIES = "journalEntries"
    JOURNALS = "journals"
    PAYMENT_METHODS = "paymentMethods"
    PAYMENTS = "payments"
    PROFIT_AND_LOSS = "profitAndLoss"
    PURCHASE_ORDERS = "purchaseOrders"
    SALES_ORDERS = "salesOrders"
    SUPPLIERS = "suppliers"
    TAX_RATES = "taxRates"
    TRACKING_CATEGORIES = "trackingCategories"
    TRANSFERS = "transfers"
    BANKING_ACCOUNT_BALANCES = "banking-accountBalances"
    BANKING_ACCOUNTS = "banking-accounts"
    BANKING_TRANSACTION_CATEGORIES = "banking-transactionCategories"
    BANKING_TRANSACTIONS = "banking-transactions"
    COMMERCE_COMPANY_INFO = "commerce-companyInfo"
    COMMERCE_CUSTOMERS = "commerce-customers"
    COMMERCE_DISPUTES = "commerce-disputes"
    COMMERCE_LOCATIONS = "commerce-locations"
    COMMERCE_ORDERS = "commerce-orders"
    COMMERCE_PAYMENT_METHODS = "commerce-paymentMethods"
    COMMERCE_PAYMENTS = "commerce-payments"
    COMMERCE_PRODUCT_CATEGORIES = "commerce-productCategories"
    COMMERCE_PRODUCTS = "commerce-products"
    COMMERCE_TAX_COMPONENTS = "commerce-taxComponents"
    COMMERCE_TRANSACTIONS = "commerce-transactions"


class DataConnectionError(CodatModel):
    """An error Codat met while using a connection."""

    status_code: str | None = Field(default=None, alias="statusCode")
    status_text: str | None = Field(default=None, alias="statusText")
    error_message: str | None = Field(default=None, alias="errorMessage")
    errored_on_utc: CodatDateTime = Field(default=None, alias="erroredOnUtc")
    status: OpenEnum[DataConnectionErrorStatus] | None = Field(default=None, alias="status")
    resolved_on_utc: CodatDateTime = Field(default=None, alias="resolvedOnUtc")


class Connection(CodatModel):
    """A company's data connection to one platform; Commerce ones have ``sourceType`` ``Commerce``."""

    id: str | None = Field(default=None, alias="id")
    integration_id: str | None = Field(default=None, alias="integrationId")
    integration_key: str | None = Field(default=None, alias="integrationKey")
    source_id: str | None = Field(default=None, alias="sourceId")
    source_type: OpenEnum[SourceType] | None = Field(default=None, alias="sourceType")
    platform_name: str | None = Field(default=None, alias="platformName")
    link_url: str | None = Field(default=None, alias="linkUrl")
    status: OpenEnum[ConnectionStatus] | None = Field(default=None, alias="status")
    last_sync: CodatDateTime = Field(default=None, alias="lastSync")
    created: CodatDateTime = Field(default=None, alias="created")
    data_connection_errors: list[DataConnectionError] | None = Field(
        default=None, alias="dataConnectionErrors"
    )
    connection_info: dict[str, Any] | None = Field(default=None, alias="connectionInfo")


class CompanyReferenceLinks(CodatModel):
    """Links of a referenced company."""

    portal: str | None = Field(default=None, alias="portal")


class CompanyReference(CodatModel):
    """A reference to a parent or subsidiary company in a multi-entity group."""

    id: str | None = Field(default=None, alias="id")
    name: str | None = Field(default=None, alias="name")
    description: str | None = Field(default=None, alias="description")
    links: CompanyReferenceLinks | None = Field(default=None, alias="links")
    tags: dict[str, str] | None = Field(default=None, alias="tags")


class Company(CodatModel):
    """A Codat company (one of your customers' businesses) with its data connections."""

    id: str | None = Field(default=None, alias="id")
    name: str | None = Field(default=None, alias="name")
    description: str | None = Field(default=None, alias="description")
    redirect: str | None = Field(default=None, alias="redirect")
    last_sync: CodatDateTime = Field(default=None, alias="lastSync")
    created: CodatDateTime = Field(default=None, alias="created")
    created_by_user_name: str | None = Field(default=None, alias="createdByUserName")
    products: list[str] | None = Field(default=None, alias="products")
    tags: dict[str, str] | None = Field(default=None, alias="tags")
    reference_parent_company: CompanyReference | None = Field(default=None, alias="referenceParentCompany")
    reference_subsidiary_companies: list[CompanyReference] | None = Field(
        default=None, alias="referenceSubsidiaryCompanies"
    )
    data_connections: list[Connection] | None = Field(default=None, alias="dataConnections")


class PullOperation(CodatModel):
    """One pull (sync) of a data type for a company, as queued or looked up in the history."""

    id: str | None = Field(default=None, alias="id")
    company_id: str | None = Field(default=None, alias="companyId")
    connection_id: str | None = Field(default=None, alias="connectionId")
    data_type: OpenEnum[DataType] | None = Field(default=None, alias="dataType")
    status: OpenEnum[PullOperationStatus] | None = Field(default=None, alias="status")
    status_description: str | None = Field(default=None, alias="statusDescription")
    error_message: str | None = Field(default=None, alias="errorMessage")
    requested: CodatDateTime = Field(default=None, alias="requested")
    completed: CodatDateTime = Field(default=None, alias="completed")
    progress: int | None = Field(default=None, alias="progress")
    is_completed: bool | None = Field(default=None, alias="isCompleted")
    is_errored: bool | None = Field(default=None, alias="isErrored")


class DataStatus(CodatModel):
    """The sync state of one data type of a company; a never-synced type may carry only ``dataType``."""

    data_type: OpenEnum[DataType] | None = Field(default=None, alias="dataType")
    last_successful_sync: CodatDateTime = Field(default=None, alias="lastSuccessfulSync")
    current_status: OpenEnum[PullOperationStatus] | None = Field(default=None, alias="currentStatus")
    latest_sync_id: str | None = Field(default=None, alias="latestSyncId")
    latest_successful_sync_id: str | None = Field(default=None, alias="latestSuccessfulSyncId")


class DataStatuses(RootModel[dict[str, DataStatus | None]]):
    """The ``dataStatus`` response: a map from data type key to its :class:`DataStatus`."""

    def get(self, data_type: str) -> DataStatus | None:
        """Return the status of ``data_type`` (``commerce-orders``), or ``None`` if Codat sent none."""
        return self.root.get(data_type)


class ErrorValidationItem(CodatModel):
    """One validation error or warning."""

    item_id: str | None = Field(default=None, alias="itemId")
    message: str | None = Field(default=None, alias="message")
    validator_name: str | None = Field(default=None, alias="validatorName")


class ErrorValidation(CodatModel):
    """The validation errors and warnings behind a failed request."""

    errors: list[ErrorValidationItem] | None = Field(default=None, alias="errors")
    warnings: list[ErrorValidationItem] | None = Field(default=None, alias="warnings")


class ErrorMessage(CodatModel):
    """The body of every Codat error response; ``canBeRetried`` is a string, usually ``"Unknown"``."""

    status_code: int | None = Field(default=None, alias="statusCode")
    service: str | None = Field(default=None, alias="service")
    error: str | None = Field(default=None, alias="error")
    correlation_id: str | None = Field(default=None, alias="correlationId")
    validation: ErrorValidation | None = Field(default=None, alias="validation")
    can_be_retried: str | None = Field(default=None, alias="canBeRetried")
    detailed_error_code: int | None = Field(default=None, alias="detailedErrorCode")


class Companies(Page[Company]):
    """A page of companies (``GET /companies``)."""


class Connections(Page[Connection]):
    """A page of a company's connections (``GET /companies/{companyId}/connections``)."""


class PullOperations(Page[PullOperation]):
    """A page of a company's pull history (``GET /companies/{companyId}/data/history``)."""
