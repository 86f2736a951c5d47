"""The one registry of Codat Commerce resources.

Every other part of the provider reads this table: the hook's ``list``/``get`` methods, the
operator classes (``CodatList<Title>Operator``), the sandbox's routes and data generators, and the
docs. Adding a resource means adding one row here.

This module imports nothing heavy: DAG files import it (through the operators) on every parse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from airflow_provider_codat.exceptions import CodatConfigError

__all__ = [
    "COMMERCE_PATH_PREFIX",
    "RESOURCES",
    "Resource",
    "get_resource",
    "listable_resources",
]

COMMERCE_PATH_PREFIX = "/companies/{companyId}/connections/{connectionId}/data"
"""Path template under which every Commerce operation sits."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """One Commerce data type and the operations Codat serves for it.

    :param name: The provider's name for the resource (``orders``), used as ``resource=``.
    :param title: CamelCase plural used in class names (``Orders`` -> ``CodatListOrdersOperator``).
    :param data_type: Codat's data-type key, as in ``dataStatus`` and the refresh queue.
    :param path: The path segment after ``/data/`` (``commerce-orders``).
    :param model: Name of the pydantic model in :mod:`airflow_provider_codat.models`.
    :param id_param: Path parameter name of the get operation, or ``None`` for a singleton.
    :param list_operation: Codat's operationId for the list call, or ``None`` if not listable.
    :param get_operation: Codat's operationId for the get call.
    :param cursor_field: Field used as the incremental cursor, or ``None``.
    """

    name: str
    title: str
    data_type: str
    path: str
    model: str
    id_param: str | None
    list_operation: str | None
    get_operation: str
    cursor_field: str | None = "modifiedDate"

    @property
    def listable(self) -> bool:
        """Whether Codat serves a paged list of this resource."""
        return self.list_operation is not None

    @property
    def list_path(self) -> str:
        """Path template of the list operation (or of the singleton get)."""
        return f"{COMMERCE_PATH_PREFIX}/{self.path}"

    @property
    def get_path(self) -> str:
        """Path template of the get operation."""
        if self.id_param is None:
            return self.list_path
        return f"{COMMERCE_PATH_PREFIX}/{self.path}/{{{self.id_param}}}"


RESOURCES: tuple[Resource, ...] = (
    Resource(
        name="customers",
        title="Customers",
        data_type="commerce-customers",
        path="commerce-customers",
        model="Customer",
        id_param="customerId",
        list_operation="list-customers",
        get_operation="get-customer",
    ),
    Resource(
        name="disputes",
        title="Disputes",
        data_type="commerce-disputes",
        path="commerce-disputes",
        model="Dispute",
        id_param="disputeId",
        list_operation="list-disputes",
        get_operation="get-dispute",
    ),
    Resource(
        name="locations",
        title="Locations",
        data_type="commerce-locations",
        path="commerce-locations",
        model="Location",
        id_param="locationId",
        list_operation="list-locations",
        get_operation="get-location",
    ),
    Resource(
        name="orders",
        title="Orders",
        data_type="commerce-orders",
        path="commerce-orders",
        model="Order",
        id_param="orderId",
        list_operation="list-orders",
        get_operation="get-order",
    ),
    Resource(
        name="payments",
        title="Payments",
        data_type="commerce-payments",
        path="commerce-payments",
        model="Payment",
        id_param="paymentId",
        list_operation="list-payments",
        get_operation="get-payment",
    ),
    Resource(
        name="payment_methods",
        title="PaymentMethods",
        data_type="commerce-paymentMethods",
        path="commerce-paymentMethods",
        model="PaymentMethod",
        id_param="paymentMethodId",
        list_operation="list-payment-methods",
        get_operation="get-payment-method",
    ),
    Resource(
        name="products",
        title="Products",
        data_type="commerce-products",
        path="commerce-products",
        model="Product",
        id_param="productId",
        list_operation="list-products",
        get_operation="get-product",
    ),
    Resource(
        name="product_categories",
        title="ProductCategories",
        data_type="commerce-productCategories",
        path="commerce-productCategories",
        model="ProductCategory",
        id_param="productId",
        list_operation="list-product-categories",
        get_operation="get-product-category",
    ),
    Resource(
        name="tax_components",
        title="TaxComponents",
        data_type="commerce-taxComponents",
        path="commerce-taxComponents",
        model="TaxComponent",
        id_param="taxId",
        list_operation="list-tax-components",
        get_operation="get-tax-component",
    ),
    Resource(
        name="transactions",
        title="Transactions",
        data_type="commerce-transactions",
        path="commerce-transactions",
        model="Transaction",
        id_param="transactionId",
        list_operation="list-transactions",
        get_operation="get-transaction",
    ),
    Resource(
        name="company_info",
        title="CompanyInfo",
        data_type="commerce-companyInfo",
        path="commerce-info",
        model="CompanyInfo",
        id_param=None,
        list_operation=None,
        get_operation="get-company-info",
        cursor_field=None,
    ),
)

_BY_NAME = {r.name: r for r in RESOURCES}
_BY_DATA_TYPE = {r.data_type: r for r in RESOURCES}


def get_resource(name: str) -> Resource:
    """Return the registry row for ``name``.

    :param name: A resource name such as ``orders``, or a Codat data type such as ``commerce-orders``.
    :raises CodatConfigError: If ``name`` is not a string or no resource has that name; the message lists
        the valid names.
    """
    found = (_BY_NAME.get(name) or _BY_DATA_TYPE.get(name)) if isinstance(name, str) else None
    if found is None:
        valid = ", ".join(sorted(_BY_NAME))
        raise CodatConfigError(f"resource: unknown Codat Commerce resource {name!r}; expected one of {valid}")
    return found


def listable_resources() -> Iterator[Resource]:
    """Yield the rows that have a paged list operation, in registry order."""
    return (r for r in RESOURCES if r.listable)
