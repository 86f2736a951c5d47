"""The one registry of Codat Commerce resources.

Every other part of the provider reads this table: the hook's ``list``/``get`` methods, the
operator classes (``CodatList<Title>Operator``), the sandbox's routes and data generators, and the
docs. Adding a resource means adding one row here.

This module imports nothing heavy: DAG files import it (through the operators) on every parse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "COMMERCE_PATH_PREFIX",
    "RESOURCES",
    "Resource",
    "get_resource",
    "listable_resources",
]

COMMERCE_PATH_PREFIX = "/companies/{companyId}/connections/{connectionId}/data"
"""Path template under which every Commerce operation sits."""


@dataclass(frozen=True, slots=True)
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
        "customers",
        "Customers",
        "commerce-customers",
        "commerce-customers",
        "Customer",
        "customerId",
        "list-customers",
        "get-customer",
    ),
    Resource(
        "disputes",
        "Disputes",
        "commerce-disputes",
        "commerce-disputes",
        "Dispute",
        "disputeId",
        "list-disputes",
        "get-dispute",
    ),
    Resource(
        "locations",
        "Locations",
        "commerce-locations",
        "commerce-locations",
        "Location",
        "locationId",
        "list-locations",
        "get-location",
    ),
    Resource(
        "orders",
        "Orders",
        "commerce-orders",
        "commerce-orders",
        "Order",
        "orderId",
        "list-orders",
        "get-order",
    ),
    Resource(
        "payments",
        "Payments",
        "commerce-payments",
        "commerce-payments",
        "Payment",
        "paymentId",
        "list-payments",
        "get-payment",
    ),
    Resource(
        "payment_methods",
        "PaymentMethods",
        "commerce-paymentMethods",
        "commerce-paymentMethods",
        "PaymentMethod",
        "paymentMethodId",
        "list-payment-methods",
        "get-payment-method",
    ),
    Resource(
        "products",
        "Products",
        "commerce-products",
        "commerce-products",
        "Product",
        "productId",
        "list-products",
        "get-product",
    ),
    Resource(
        "product_categories",
        "ProductCategories",
        "commerce-productCategories",
        "commerce-productCategories",
        "ProductCategory",
        "productId",
        "list-product-categories",
        "get-product-category",
    ),
    Resource(
        "tax_components",
        "TaxComponents",
        "commerce-taxComponents",
        "commerce-taxComponents",
        "TaxComponent",
        "taxId",
        "list-tax-components",
        "get-tax-component",
    ),
    Resource(
        "transactions",
        "Transactions",
        "commerce-transactions",
        "commerce-transactions",
        "Transaction",
        "transactionId",
        "list-transactions",
        "get-transaction",
    ),
    Resource(
        "company_info",
        "CompanyInfo",
        "commerce-companyInfo",
        "commerce-info",
        "CompanyInfo",
        None,
        None,
        "get-company-info",
        cursor_field=None,
    ),
)

_BY_NAME = {r.name: r for r in RESOURCES}
_BY_DATA_TYPE = {r.data_type: r for r in RESOURCES}


def get_resource(name: str) -> Resource:
    """Return the registry row for ``name``.

    :param name: A resource name such as ``orders``, or a Codat data type such as ``commerce-orders``.
    :raises ValueError: If ``name`` is not a string or no resource has that name; the message lists
        the valid names.
    """
    found = (_BY_NAME.get(name) or _BY_DATA_TYPE.get(name)) if isinstance(name, str) else None
    if found is None:
        valid = ", ".join(sorted(_BY_NAME))
        raise ValueError(f"resource: unknown Codat Commerce resource {name!r}; expected one of {valid}")
    return found


def listable_resources() -> Iterator[Resource]:
    """Yield the rows that have a paged list operation, in registry order."""
    return (r for r in RESOURCES if r.listable)
