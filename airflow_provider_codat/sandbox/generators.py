"""Record builders: each Commerce record is a pure function of its connection and index.

A builder takes the connection's :class:`ConnectionData`, the record index and its
``modifiedDate`` (owned by the dataset's timeline) and returns the record as Codat would send
it, with the oddities Codat's own spec examples and docs show (docs/sandbox.md "Data quirks"):
mixed date forms and the ``0001-01-01T00:00:00`` sentinel, ids with ``:``, spaces and quotes,
negative refunds, exponent notation, fields outside the schema, lowercase currencies,
``'GB '`` country codes and empty strings, all of which the spec allows; and, unless
``ConnectionData.quirks`` is off, address types in lower case and null supplemental content,
which its schemas refuse (the null read as OpenAPI 3.1, as the spec declares itself).

References resolve: an order's customer, products, variants, tax components, location and
payment are records that exist on the same connection.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_codat.sandbox._random import chance, mix, pick, scramble, stable_hash

__all__ = [
    "BUILDERS",
    "PLATFORMS",
    "ConnectionData",
    "Platform",
    "index_of",
    "record_id",
]

SENTINEL_DATE = "0001-01-01T00:00:00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Platform:
    """A commerce platform a sandbox connection pretends to be."""

    name: str
    key: str
    currency: str
    country: str


PLATFORMS: tuple[Platform, ...] = (
    Platform("Shopify", "gfqx", "GBP", "GB"),
    Platform("Stripe", "sswn", "USD", "US"),
    Platform("Square", "rzfx", "EUR", "IE"),
    Platform("Zettle", "gdfw", "SEK", "SE"),
)


@dataclass(frozen=True, slots=True)
class ConnectionData:
    """What every builder needs to know about one connection's data."""

    seed: int
    company_id: str
    connection_id: str
    company_name: str
    platform: Platform
    counts: Mapping[str, int]
    anchor: datetime
    quirks: bool = True
    """Send what Codat sends but the spec's schemas refuse: lower-case address types, and nulls the
    spec marks nullable only the OpenAPI 3.0 way (see :func:`_address` and :func:`_supplemental`)."""
    key: int = field(init=False)
    """Hash identifying this connection's data stream."""
    anchor_ts: int = field(init=False)
    """``anchor`` as epoch seconds."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", mix(self.seed, stable_hash(self.connection_id)))
        object.__setattr__(self, "anchor_ts", int(self.anchor.timestamp()))


_PREFIX: dict[str, str] = {
    "customers": "cus",
    "disputes": "dp",
    "locations": "loc",
    "orders": "ord",
    "payments": "pay",
    "payment_methods": "pm",
    "products": "prod",
    "product_categories": "cat",
    "tax_components": "tax",
    "transactions": "txn",
}
_INDEX_RE = re.compile(r"^[a-z]+_(\d+)")


def record_id(resource: str, index: int, base_count: int | None = None) -> str:
    """Return the id of record ``index`` of ``resource``; some carry spaces, ``:`` or quotes.

    :param base_count: The dataset's seeded record count; records past it (payouts that arrived
        while the sandbox ran) get plain ids.
    """
    base = f"{_PREFIX[resource]}_{index}"
    if base_count is not None and index >= base_count:
        return base
    if resource == "transactions" and index % 7 == 3:
        return f"{base}:Stripe processing fees"
    if resource == "customers" and index % 17 == 5:
        return f"{base} guest"
    if resource == "products" and index % 13 == 4:
        return f'{base} "deluxe"'
    return base


def index_of(resource: str, rid: str, base_count: int | None = None) -> int | None:
    """Return the index whose id is ``rid`` (see :func:`record_id`), or None if no record has it."""
    match = _INDEX_RE.match(rid)
    if match is None or resource not in _PREFIX:
        return None
    index = int(match.group(1))
    return index if record_id(resource, index, base_count) == rid else None


@functools.lru_cache(maxsize=8192)
def _day(days: int) -> str:
    """``YYYY-MM-DD`` of a day number since the epoch."""
    return (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")


@functools.cache
def _times_of_day() -> tuple[str, ...]:
    """``Thh:mm:ss`` for every second of a day (built once, ~5 MB): formatting is the hot path."""
    return tuple(f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))


def _clock(ts: int) -> str:
    days, seconds = divmod(ts, 86400)
    return _day(days) + _times_of_day()[seconds]


def _iso(ts: int, h: int) -> str:
    """Format a source-platform timestamp in one of the mixed forms Codat passes through."""
    form = h % 10
    if form < 5:
        return _clock(ts) + "Z"
    if form < 7:
        return _clock(ts)
    if form < 9:
        return _clock(ts + 7200) + "+02:00"
    return f"{_clock(ts)}.{(h >> 8) % 10_000_000:07d}Z"


_DATE_POOL = 4096


@functools.cache
def _source_dates(anchor_ts: int, days_back: int) -> tuple[str, ...]:
    """A pool of source-system dates before the anchor, in mixed forms, 3% of them the sentinel.

    Records pick from the pool by hash: formatting dates was a third of the cost of a record.
    """
    dates = []
    for k in range(_DATE_POOL):
        h = mix(anchor_ts, days_back, k)
        if (h & 0xFFFF) < 0.03 * 0x10000:
            dates.append(SENTINEL_DATE)
        else:
            dates.append(_iso(anchor_ts - 3600 - (h >> 20) % (days_back * 86400), h >> 4))
    return tuple(dates)


def _source_date(ctx: ConnectionData, h: int, days_back: int = 400) -> str:
    """A plausible source-system date before the anchor, occasionally the sentinel."""
    return _source_dates(ctx.anchor_ts, days_back)[scramble(h) % _DATE_POOL]


def _money(h: int, low: int, high: int) -> float:
    """An amount of whole cents in ``[low, high)`` major units; whole numbers carry no fraction."""
    cents = low * 100 + h % ((high - low) * 100)
    return cents // 100 if cents % 100 == 0 else cents / 100


def _currency(ctx: ConnectionData, h: int) -> str:
    return ctx.platform.currency.lower() if chance(h, 0.02) else ctx.platform.currency


def _ref(ctx: ConnectionData, resource: str, h: int) -> str | None:
    count = ctx.counts.get(resource, 0)
    return record_id(resource, h % count) if count else None


def _supplemental(ctx: ConnectionData) -> dict[str, Any]:
    """Empty supplemental data: ``{"content": null}``, or without quirks ``{}`` (no nulls)."""
    return {"content": None} if ctx.quirks else {}


def _present(record: dict[str, Any]) -> dict[str, Any]:
    """Drop the keys whose value is None (a reference that cannot be made is omitted).

    The spec's reference schemas (``customerRef``, ``transactionSourceRef``, ...) are not nullable.
    """
    return {k: v for k, v in record.items() if v is not None}


_LOWER_CASE_ADDRESS_TYPES = frozenset({"Billing", "Delivery"})
"""The address types the spec's Customer examples spell in lower case ('billing', 'delivery')."""


def _address(ctx: ConnectionData, h: int, kind: str) -> dict[str, Any]:
    country = ctx.platform.country + (" " if chance(h, 0.1) else "")
    lower = ctx.quirks and kind in _LOWER_CASE_ADDRESS_TYPES and chance(mix(h, 1), 0.1)
    return {
        "type": kind.lower() if lower else kind,
        "line1": f"{1 + h % 200} {pick(h >> 8, ('High Street', 'Market Road', 'Station Lane', 'Mill Way'))}",
        "line2": "",
        "city": pick(h >> 16, ("London", "Leeds", "Bristol", "Dublin", "Malmo", "Austin")),
        "region": "",
        "country": country,
        "postalCode": f"AB{h % 90 + 10} {h % 9}CD",
    }


def _customer(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 1, i)
    first = pick(h, ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Linus", "Margaret"))
    last = pick(h >> 8, ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton"))
    return {
        "id": record_id("customers", i),
        "customerName": f"{first} {last}",
        "emailAddress": "" if chance(h >> 3, 0.05) else f"{first.lower()}.{last.lower()}{i}@example.com",
        "phone": f"+44 7700 {900000 + i % 100000}",
        "defaultCurrency": _currency(ctx, h >> 5),
        "addresses": [_address(ctx, h >> 7, "Billing")],
        "note": "",
        "createdDate": _source_date(ctx, h >> 9),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 11, 30),
    }


def _dispute(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 2, i)
    status = pick(h, ("Won", "Lost", "Accepted", "Processing", "EvidenceRequired", "InquiryClosed"))
    txn = _ref(ctx, "transactions", h >> 4)
    return {
        "id": record_id("disputes", i),
        "disputedTransactions": [{"id": txn, "type": "Payment"}] if txn else [],
        "totalAmount": _money(h >> 8, 5, 500),
        "currency": _currency(ctx, h >> 12),
        "status": status,
        "reason": pick(h >> 16, ("fraudulent", "duplicate", "product_not_received", "")),
        "dueDate": _source_date(ctx, h >> 20, 10),
        "createdDate": _source_date(ctx, h >> 22),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 24, 5),
    }


def _location(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 3, i)
    return {
        "id": record_id("locations", i),
        "name": f"{pick(h, ('Main', 'Airport', 'Harbour', 'Station', 'Online'))} store {i}",
        "address": _address(ctx, h >> 6, "Inventory"),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 9, 60),
    }


def _taxes(ctx: ConnectionData, h: int) -> list[dict[str, Any]]:
    tax_id = _ref(ctx, "tax_components", h)
    if tax_id is None:
        return []
    return [{"taxComponentRef": {"id": tax_id, "name": f"VAT {tax_id}"}, "rate": pick(h >> 3, (0, 5, 20))}]


def _line_item(ctx: ConnectionData, h: int, n: int) -> tuple[dict[str, Any], int]:
    qty = 1 + h % 4
    unit_cents = 100 + (h >> 4) % 20_000
    total_cents = qty * unit_cents
    product_id = _ref(ctx, "products", h >> 16)
    variant = {"id": f"{product_id}-v{(h >> 20) % 2}", "name": "Regular"} if product_id else None
    item: dict[str, Any] = {
        "id": f"li_{n}",
        "quantity": qty,
        "taxPercentage": 20,
        "totalAmount": total_cents / 100,
        "totalTaxAmount": round(total_cents * 0.2) / 100,
        "unitPrice": unit_cents / 100,
        "taxes": _taxes(ctx, h >> 24),
        "productRef": {"id": product_id, "name": f"Product {product_id}"} if product_id else None,
        "productVariantRef": variant,
        "discountAllocations": [],
    }
    return _present(item), total_cents


def _order(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 4, i)
    items = [_line_item(ctx, mix(h, k), k) for k in range(1 + h % 3)]
    total_cents = sum(cents for _, cents in items)
    refunded = chance(h >> 40, 0.08)
    customer_id = _ref(ctx, "customers", h >> 2)
    location_id = _ref(ctx, "locations", h >> 5)
    payment_id = _ref(ctx, "payments", h >> 7)
    currency = _currency(ctx, h >> 9)
    created = _source_date(ctx, h >> 11)
    record: dict[str, Any] = {
        "id": record_id("orders", i),
        "orderNumber": f"#{1000 + i}",
        "country": ctx.platform.country,
        "currency": currency,
        "closedDate": created,
        "totalAmount": total_cents / 100,
        "totalRefund": -(total_cents / 100) if refunded else 0,
        "totalTaxAmount": round(total_cents * 0.2) / 100,
        "totalDiscount": 0,
        "totalGratuity": 5e-07 if i % 997 == 13 else 0,
        "orderLineItems": [item for item, _ in items],
        "payments": [
            {
                "id": payment_id,
                "amount": total_cents / 100,
                "currency": currency,
                "type": "Card",
                "status": "Paid",
                "paymentProvider": ctx.platform.name,
            }
        ]
        if payment_id
        else [],
        "serviceCharges": [],
        "locationRef": {"id": location_id, "name": f"Location {location_id}"} if location_id else None,
        "customerRef": {"id": customer_id, "name": f"Customer {customer_id}"} if customer_id else None,
        "supplementalData": _supplemental(ctx),
        "createdDate": created,
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 13, 30),
    }
    return _present(record)


def _payment(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 5, i)
    method_id = _ref(ctx, "payment_methods", h >> 3)
    record: dict[str, Any] = {
        "id": record_id("payments", i),
        "amount": _money(h >> 6, 1, 900),
        "currency": _currency(ctx, h >> 20),
        "paymentMethodRef": {"id": method_id, "name": f"Method {method_id}"} if method_id else None,
        "status": pick(h >> 24, ("Paid", "Paid", "Paid", "Pending", "Failed", "Authorized")),
        "paymentProvider": ctx.platform.name,
        "dueDate": _source_date(ctx, h >> 28, 20),
        "supplementalData": _supplemental(ctx),
        "createdDate": _source_date(ctx, h >> 30),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 32, 30),
        "type": pick(h >> 36, ("Card", "Cash", "OnlineCard")),
    }
    return _present(record)


def _payment_method(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 6, i)
    return {
        "id": record_id("payment_methods", i),
        "name": pick(h, ("Card", "Cash", "Gift card", "PayPal", "Klarna")),
        "status": pick(h >> 4, ("Active", "Active", "Archived", "Unknown")),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 8, 90),
    }


def _product(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 7, i)
    pid = record_id("products", i)
    category = _ref(ctx, "product_categories", h >> 4)
    variants = [
        {
            "id": f"{pid}-v{k}",
            "name": ("Regular", "Large")[k],
            "isTaxEnabled": True,
            "sku": f"SKU-{i}-{k}",
            "barcode": "",
            "unitOfMeasure": "",
            "vatPercentage": 20,
            "prices": [{"currency": ctx.platform.currency, "unitPrice": _money(mix(h, k), 1, 300)}],
            "inventory": {"totalQuantity": (h >> (8 + k)) % 100, "locations": []},
            "shippingRequired": True,
            "status": "Published",
            "createdDate": SENTINEL_DATE,
        }
        for k in range(2)
    ]
    return {
        "id": pid,
        "name": pick(h, ("Monitor", "Keyboard", "Mouse", "Desk", "Chair", "T-Shirt")) + f" {i}",
        "description": "",
        "categorization": pick(h >> 6, ("Hardware", "Furniture", "Clothing")),
        "isGiftCard": chance(h >> 10, 0.02),
        "variants": variants,
        "supplementalData": _supplemental(ctx),
        "productCategoryRefs": [{"id": category, "name": f"Category {category}"}] if category else [],
        "status": "Published",
        "createdDate": _source_date(ctx, h >> 12),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 14, 60),
    }


def _product_category(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 8, i)
    parent = record_id("product_categories", i // 4) if i >= 4 else None
    return {
        "id": record_id("product_categories", i),
        "name": f"Category {i}",
        "ancestorRefs": [{"id": parent, "type": "ProductCategory"}] if parent else [],
        "hasChildren": 4 * i + 4 < ctx.counts.get("product_categories", 0),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h, 90),
    }


def _tax_component(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 9, i)
    return {
        "id": record_id("tax_components", i),
        "name": f"VAT {pick(h, (0, 5, 20))}% ({i})",
        "rate": pick(h, (0, 5, 20)),
        "isCompound": chance(h >> 4, 0.1),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 8, 90),
    }


_TXN_TYPES = (
    ("Payment", 55),
    ("Refund", 10),
    ("PaymentFee", 15),
    ("PaymentFeeRefund", 2),
    ("Payout", 9),
    ("FailedPayout", 2),
    ("Transfer", 4),
    ("Unknown", 3),
)
_TXN_TABLE = tuple(kind for kind, weight in _TXN_TYPES for _ in range(weight))


_SUBTYPES = {"Payment": "CardPayment", "Payout": "BankPayout"}


def _transaction(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 10, i)
    kind = _TXN_TABLE[h % len(_TXN_TABLE)]
    if i >= ctx.counts.get("transactions", 0):  # arrived while the sandbox runs: new payouts
        kind = "Payout"
    elif i % 7 == 3:  # the ids of these carry ":Stripe processing fees"
        kind = "PaymentFee"
    amount = _money(h >> 8, 1, 2000)
    if kind in ("Refund", "PaymentFee", "Payout"):
        amount = -(amount if kind != "PaymentFee" else round(amount * 0.03, 2))
    if kind == "PaymentFee" and i % 997 == 3:
        amount = -5e-07
    source = _ref(ctx, "payments", h >> 20) if kind in ("Payment", "Refund", "PaymentFee") else None
    created = _source_date(ctx, h >> 24)
    record: dict[str, Any] = {
        "id": record_id("transactions", i, ctx.counts.get("transactions", 0)),
        "totalAmount": amount,
        "currency": _currency(ctx, h >> 28),
        "type": kind,
        "subType": _SUBTYPES.get(kind, ""),
    }
    if source:
        record["transactionSourceRef"] = {"id": source, "type": "Payment"}
    record.update(
        supplementalData=_supplemental(ctx),
        createdDate=created,
        sourceCreatedDate=created,
        modifiedDate=modified,
        sourceModifiedDate=_source_date(ctx, h >> 32, 30),
    )
    return record


def _company_info(ctx: ConnectionData, i: int, modified: str) -> dict[str, Any]:
    h = mix(ctx.key, 11, i)
    return {
        "companyName": ctx.company_name,
        "commercePlatformRef": f"{ctx.platform.key}-{ctx.connection_id[:8]}",
        "companyLegalName": f"{ctx.company_name} Ltd",
        "addresses": [_address(ctx, h, "Billing")],
        "phoneNumbers": [{"number": "+44 20 7946 0000", "type": "Landline"}],
        "webLinks": [{"type": "Website", "url": "https://example.com"}],
        "registrationNumber": f"{h % 10**8:08d}",
        "baseCurrency": ctx.platform.currency,
        "accountBalances": [
            {
                "available": _money(h >> 8, 100, 90000),
                "pending": _money(h >> 16, 0, 5000),
                "reserved": 0,
                "currency": ctx.platform.currency,
            }
        ],
        "sourceUrls": {"dashboard": f"https://{ctx.platform.name.lower()}.example.com"},
        "createdDate": _source_date(ctx, h >> 24, 2000),
        "modifiedDate": modified,
        "sourceModifiedDate": _source_date(ctx, h >> 28, 30),
    }


RecordBuilder = Callable[[ConnectionData, int, str], dict[str, Any]]

BUILDERS: dict[str, RecordBuilder] = {
    "customers": _customer,
    "disputes": _dispute,
    "locations": _location,
    "orders": _order,
    "payments": _payment,
    "payment_methods": _payment_method,
    "products": _product,
    "product_categories": _product_category,
    "tax_components": _tax_component,
    "transactions": _transaction,
    "company_info": _company_info,
}
"""One builder per registry row; a test checks the keys match :data:`RESOURCES` one to one."""
