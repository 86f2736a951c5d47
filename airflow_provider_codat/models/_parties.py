"""Commerce parties: the connected company's profile and its customers."""

from __future__ import annotations

from pydantic import Field

from airflow_provider_codat.models._base import CodatDecimal, CodatModel, OpenEnum
from airflow_provider_codat.models._enums import WeblinkType
from airflow_provider_codat.models._shared import Address, PhoneNumber, _Created, _Identified, _Modified

__all__ = ["AccountBalance", "CompanyInfo", "Customer", "Weblink"]


class Weblink(CodatModel):
    """A web link of the company (website or social profile)."""

    type: OpenEnum[WeblinkType] | None = Field(default=None, alias="type")
    url: str | None = Field(default=None, alias="url")


class AccountBalance(CodatModel):
    """The available, pending and reserved cash of one of the company's accounts."""

    available: CodatDecimal = Field(default=None, alias="available")
    pending: CodatDecimal = Field(default=None, alias="pending")
    reserved: CodatDecimal = Field(default=None, alias="reserved")
    currency: str | None = Field(default=None, alias="currency")


class CompanyInfo(_Modified, _Created):
    """The connected company's commerce profile; a singleton with no ``id``."""

    company_name: str | None = Field(default=None, alias="companyName")
    commerce_platform_ref: str | None = Field(default=None, alias="commercePlatformRef")
    company_legal_name: str | None = Field(default=None, alias="companyLegalName")
    addresses: list[Address] | None = Field(default=None, alias="addresses")
    phone_numbers: list[PhoneNumber] | None = Field(default=None, alias="phoneNumbers")
    web_links: list[Weblink] | None = Field(default=None, alias="webLinks")
    registration_number: str | None = Field(default=None, alias="registrationNumber")
    base_currency: str | None = Field(default=None, alias="baseCurrency")
    account_balances: list[AccountBalance] | None = Field(default=None, alias="accountBalances")
    source_urls: dict[str, str] | None = Field(default=None, alias="sourceUrls")


class Customer(_Modified, _Created, _Identified):
    """A customer of the connected store."""

    customer_name: str | None = Field(default=None, alias="customerName")
    email_address: str | None = Field(default=None, alias="emailAddress")
    phone: str | None = Field(default=None, alias="phone")
    default_currency: str | None = Field(default=None, alias="defaultCurrency")
    addresses: list[Address] | None = Field(default=None, alias="addresses")
    note: str | None = Field(default=None, alias="note")
