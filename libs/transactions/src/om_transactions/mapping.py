"""Ordermentum order/invoice -> NetSuite sales order/invoice body (pure).

Shared by order_sync (which writes the body) and ``omctl preview`` (which prints it without
writing): omctl is installed without any service, so the mapping lives in this library of its own
(`om_transactions`), and imports nothing but the contracts.

Field names are the REST record fields of ``salesOrder`` / ``invoice`` (NetSuite Help, REST API
Browser 2026.1, "salesOrder" and "invoice" schemas; sublist write semantics section_1545142420).
Every problem found is reported at once, so one failure names every unmapped id and rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from om_contracts import (
    ErrorCode,
    ErrorDetail,
    IntegrationSettings,
    Invoice,
    Order,
    PropertyName,
    SyncKind,
    TransactionTotals,
)

CENT = Decimal("0.01")
ZERO = Decimal(0)
_CLASSIFICATION: tuple[tuple[str, PropertyName], ...] = (
    ("department", "netsuite_department_id"),
    ("class", "netsuite_class_id"),
    ("salesRep", "netsuite_sales_rep_id"),
    ("location", "netsuite_location_id"),
)
MEMO_MAX = 999  # NetSuite's memo field length


@dataclass(frozen=True)
class Mappings:
    """What was resolved for one transaction (None = unmapped).

    ``tax_codes``: NetSuite tax code per tax rate of the transaction (None for a rate the
    integration does not map); the whole field is None when the integration has no
    ``tax_codes``, and then no line names a tax code (NetSuite applies its defaults).
    """

    customer: str | None
    products: dict[str, str | None]
    currency: str | None
    tax_codes: dict[Decimal, str | None] | None = None


@dataclass(frozen=True)
class MappingFailure:
    """The transaction cannot be written as it is; ``code`` is the most fundamental problem.

    ``codes`` holds each detail's own code, in the same order (for `omctl preview`).
    """

    code: ErrorCode
    message: str
    details: tuple[ErrorDetail, ...]
    codes: tuple[ErrorCode, ...] = ()


@dataclass(frozen=True)
class TransactionBody:
    """A NetSuite write: record type, external id and the JSON body.

    Quantities and money are ``Decimal``: the 2026.1 REST API Browser types ``quantity``,
    ``rate`` and ``amount`` of ``salesOrder-itemElement``/``invoice-itemElement`` as ``number``
    (wsjmnh/netsuite-record-rest-docs docs/schemas/salesOrder.md), and the client sends a
    ``Decimal`` as a JSON number; a string is refused under
    ``X-NetSuite-PropertyValueValidation: Error`` (the default)."""

    record_type: str
    external_id: str
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """Where one NetSuite id of the body came from (for `omctl preview`)."""

    field: str
    value: str | None
    source: str


def record_type_for(kind: SyncKind) -> str:
    return "salesOrder" if kind == "order" else "invoice"


def _ref(value: str | None) -> dict[str, str] | None:
    return {"id": value} if value else None


def _money(value: Decimal) -> Decimal:
    return value


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """Line amount to the cent, rounded half up (what Ordermentum shows on the order)."""
    return (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def memo_for(kind: SyncKind, transaction: Order | Invoice) -> str:
    """The Ordermentum number (searchable in NetSuite) followed by the customer's notes."""
    label = "order" if kind == "order" else "invoice"
    memo = f"Ordermentum {label} {transaction.number}"
    if transaction.notes:
        memo = f"{memo}: {transaction.notes}"
    return memo[:MEMO_MAX]


def _rate(value: Decimal | None) -> Decimal:
    """A line's tax rate; a line without one (and the surcharge, which has none) is rate 0."""
    return value if value is not None else ZERO


def _line_rates(transaction: Order | Invoice) -> list[tuple[str, Decimal]]:
    """(path, rate) of every line that becomes a NetSuite line: products, freight, surcharge."""
    rates = [(f"lines[{i}].tax_rate", _rate(line.tax_rate)) for i, line in enumerate(transaction.lines)]
    if transaction.freight is not None:
        rates.append(("freight.tax_rate", _rate(transaction.freight.tax_rate)))
    if transaction.surcharge is not None:
        rates.append(("surcharge", ZERO))
    return rates


def resolve_tax_codes(
    transaction: Order | Invoice, integration: IntegrationSettings
) -> dict[Decimal, str | None] | None:
    """The integration's NetSuite tax code for each rate of the transaction (None: no tax_codes)."""
    if not integration.tax_codes:
        return None
    return {rate: integration.tax_code_for(rate) for _, rate in _line_rates(transaction)}


def _key(rate: Decimal) -> Decimal:
    return rate.normalize()


def _code_for(mappings: Mappings, rate: Decimal) -> str | None:
    if mappings.tax_codes is None:
        return None
    wanted = _key(rate)
    return next((code for r, code in mappings.tax_codes.items() if _key(r) == wanted), None)


def check_mappings(
    transaction: Order | Invoice, mappings: Mappings, *, surcharge_item_id: str | None
) -> MappingFailure | None:
    """Every reason the transaction cannot be mapped, or None when it can."""
    problems: list[tuple[ErrorCode, ErrorDetail]] = []
    if mappings.customer is None:
        problems.append(
            (
                ErrorCode.UNMAPPED_CUSTOMER,
                ErrorDetail(
                    reason=f"customer {transaction.customer.id} ({transaction.customer.name}) has no NetSuite id",
                    path="customer",
                    ordermentum_id=transaction.customer.id,
                ),
            )
        )
    seen: set[str] = set()
    for index, line in enumerate(transaction.lines):
        product = line.product
        if mappings.products.get(product.id) is None and product.id not in seen:
            seen.add(product.id)
            problems.append(
                (
                    ErrorCode.UNMAPPED_PRODUCT,
                    ErrorDetail(
                        reason=f"product {product.id} ({product.sku or product.name}) has no NetSuite item",
                        path=f"lines[{index}].product",
                        ordermentum_id=product.id,
                    ),
                )
            )
    if transaction.freight is not None and transaction.resolved_property("netsuite_freight_item_id") is None:
        problems.append(
            (
                ErrorCode.MISSING_FREIGHT_ITEM,
                ErrorDetail(
                    reason="the order has freight but neither it nor its customer has netsuite_freight_item_id",
                    path="freight",
                    ordermentum_id=transaction.customer.id,  # the customer whose setting would fix it
                ),
            )
        )
    if transaction.surcharge is not None and surcharge_item_id is None:
        problems.append(
            (
                ErrorCode.MISSING_SURCHARGE_ITEM,
                ErrorDetail(
                    reason="the order has a surcharge but the integration has no surcharge_item_id",
                    path="surcharge",
                ),
            )
        )
    problems.extend((ErrorCode.UNMAPPED_TAX_RATE, d) for d in _unmapped_rates(transaction, mappings))
    if not problems:
        return None
    code = problems[0][0]
    summary = "; ".join(detail.reason for _, detail in problems)
    return MappingFailure(
        code=code,
        message=summary,
        details=tuple(d for _, d in problems),
        codes=tuple(c for c, _ in problems),
    )


def _unmapped_rates(transaction: Order | Invoice, mappings: Mappings) -> list[ErrorDetail]:
    """One detail per rate the integration's ``tax_codes`` does not map (at its first line)."""
    if mappings.tax_codes is None:
        return []
    details: list[ErrorDetail] = []
    reported: set[Decimal] = set()
    for path, rate in _line_rates(transaction):
        if _code_for(mappings, rate) is None and _key(rate) not in reported:
            reported.add(_key(rate))
            details.append(
                ErrorDetail(
                    reason=f"tax rate {rate} has no NetSuite tax code in the integration's tax_codes",
                    path=path,
                )
            )
    return details


def _tax_code(entry: dict[str, Any], mappings: Mappings, rate: Decimal | None) -> dict[str, Any]:
    code = _code_for(mappings, _rate(rate))
    if code is not None:
        entry["taxCode"] = {"id": code}
    return entry


def _charge(item_id: str, amount: Decimal, description: str) -> dict[str, Any]:
    """A one-off charge line (freight, surcharge): quantity 1 at the amount."""
    return {
        "item": {"id": item_id},
        "quantity": Decimal(1),
        "rate": _money(amount),
        "amount": _money(amount),
        "description": description,
    }


def build_body(
    kind: SyncKind,
    transaction: Order | Invoice,
    mappings: Mappings,
    *,
    external_id: str,
    surcharge_item_id: str | None,
    closed: bool = False,
) -> TransactionBody:
    """The full body for an upsert by external id (call only after `check_mappings` passed).

    Lines are the product lines in order, then freight, then surcharge; the caller sends them
    with ``replace=item`` so an update replaces the line set instead of appending to it. With
    ``tax_codes`` resolved, every line carries the ``taxCode`` of its rate.
    """
    lines: list[dict[str, Any]] = []
    for line in transaction.lines:
        item_id = mappings.products[line.product.id]
        entry: dict[str, Any] = {
            "item": {"id": item_id},
            "quantity": _money(line.quantity),
            "rate": _money(line.unit_price),
            "amount": _money(line_amount(line.quantity, line.unit_price)),
        }
        if line.description:
            entry["description"] = line.description
        lines.append(_tax_code(entry, mappings, line.tax_rate))
    freight_item = transaction.resolved_property("netsuite_freight_item_id")
    if transaction.freight is not None and freight_item is not None:
        freight = _charge(freight_item, transaction.freight.amount, "Freight")
        lines.append(_tax_code(freight, mappings, transaction.freight.tax_rate))
    if transaction.surcharge is not None and surcharge_item_id is not None:
        description = transaction.surcharge.description or "Surcharge"
        surcharge = _charge(surcharge_item_id, transaction.surcharge.amount, description)
        lines.append(_tax_code(surcharge, mappings, None))
    if closed:
        for entry in lines:
            entry["isClosed"] = True
    body: dict[str, Any] = {
        "externalId": external_id,
        "entity": {"id": mappings.customer},
        "memo": memo_for(kind, transaction),
        "item": {"items": lines},
    }
    # tranDate: the calendar date in the event's own offset (CONTRACTS additions of 2026-12-07):
    # an Australian morning is that day, not the previous UTC day.
    if isinstance(transaction, Invoice):
        body["tranDate"] = transaction.issued_at.date().isoformat()
        if transaction.due_date is not None:
            body["dueDate"] = transaction.due_date.isoformat()
    else:
        body["tranDate"] = transaction.placed_at.date().isoformat()
    if transaction.delivery_date is not None:
        body["shipDate"] = transaction.delivery_date.isoformat()
    if transaction.purchase_order_number:
        body["otherRefNum"] = transaction.purchase_order_number
    if mappings.currency is not None:
        body["currency"] = {"id": mappings.currency}
    for field_name, prop in _CLASSIFICATION:
        ref = _ref(transaction.resolved_property(prop))
        if ref is not None:
            body[field_name] = ref
    return TransactionBody(record_type=record_type_for(kind), external_id=external_id, body=body)


def ordermentum_totals(transaction: Order | Invoice) -> TransactionTotals:
    """Ordermentum's totals in the terms NetSuite reports: before tax (freight and surcharge
    lines included), tax, total, and the number of NetSuite lines the body has."""
    totals = transaction.totals
    lines = len(transaction.lines) + (transaction.freight is not None) + (transaction.surcharge is not None)
    return TransactionTotals(
        subtotal=totals.total - totals.tax, tax=totals.tax, total=totals.total, lines=lines
    )


def totals_differ(ordermentum: TransactionTotals, netsuite: TransactionTotals) -> list[str]:
    """What differs, one phrase each ('tax 14.25 in Ordermentum, 15.74 in NetSuite'); [] when equal.

    Money compares by value ('127.5' equals '127.50'); lines only when both sides know them.
    """
    found: list[str] = []
    for name in ("total", "tax"):
        ours, theirs = getattr(ordermentum, name), getattr(netsuite, name)
        if ours != theirs:
            found.append(f"{name} {ours} in Ordermentum, {theirs} in NetSuite")
    if ordermentum.lines is not None and netsuite.lines is not None and ordermentum.lines != netsuite.lines:
        found.append(f"{ordermentum.lines} lines in Ordermentum, {netsuite.lines} in NetSuite")
    return found


_SOURCE_TEXT = {
    "tab": "{kind} mapping tab of the integration",
    "property": "netsuite_id property on the {kind} in the event",
    "upserted": "latest {kind}.upserted event",
    "operator": "operator import (omctl mappings import)",
}


def source_text(kind: str, source: str | None) -> str:
    """A resolution source of `om_platform.mappings` in words; None means unmapped."""
    if source is None:
        return "unmapped"
    return _SOURCE_TEXT.get(source, source).format(kind=kind)


def decisions(
    transaction: Order | Invoice,
    mappings: Mappings,
    *,
    customer_source: str | None,
    product_sources: Mapping[str, str | None],
    surcharge_item_id: str | None,
) -> list[Decision]:
    """Every NetSuite id the body would carry and where it came from (None value: unmapped)."""
    out = [Decision("entity", mappings.customer, source_text("customer", customer_source))]
    for index, line in enumerate(transaction.lines):
        product_id = line.product.id
        out.append(
            Decision(
                f"item.items[{index}].item ({product_id})",
                mappings.products.get(product_id),
                source_text("product", product_sources.get(product_id)),
            )
        )
    for field_name, prop in (*_CLASSIFICATION, ("freight item", "netsuite_freight_item_id")):
        own = transaction.property(prop)
        value = transaction.resolved_property(prop)
        if value is not None:
            whose = "order" if isinstance(transaction, Order) else "invoice"
            where = (
                f"{prop} property on the {whose}" if own is not None else f"{prop} property on the customer"
            )
            out.append(Decision(field_name, value, where))
    if transaction.surcharge is not None:
        out.append(Decision("surcharge item", surcharge_item_id, "surcharge_item_id of the integration"))
    out.append(
        Decision("currency", mappings.currency, f"NetSuite currency with symbol {transaction.currency}")
    )
    if mappings.tax_codes is not None:
        for path, rate in _line_rates(transaction):
            out.append(Decision(f"taxCode of {path}", _code_for(mappings, rate), f"tax_codes[{rate}]"))
    return out
