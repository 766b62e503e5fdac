"""Ordermentum order/invoice -> NetSuite sales order/invoice body (pure).

Field names are the REST record fields of ``salesOrder`` / ``invoice`` (NetSuite Help, REST API
Browser 2026.1, "salesOrder" and "invoice" schemas; sublist write semantics section_1545142420).
Every problem found is reported at once, so one failure names every unmapped id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from om_contracts import ErrorCode, ErrorDetail, Invoice, Order, PropertyName, SyncError, SyncKind

CENT = Decimal("0.01")
_CLASSIFICATION: tuple[tuple[str, PropertyName], ...] = (
    ("department", "netsuite_department_id"),
    ("class", "netsuite_class_id"),
    ("salesRep", "netsuite_sales_rep_id"),
    ("location", "netsuite_location_id"),
)
MEMO_MAX = 999  # NetSuite's memo field length


@dataclass(frozen=True)
class Mappings:
    """What the mapping store resolved for one transaction (None = unmapped)."""

    customer: str | None
    products: dict[str, str | None]
    currency: str | None


@dataclass(frozen=True)
class MappingFailure:
    """The transaction cannot be written as it is; ``code`` is the most fundamental problem."""

    code: ErrorCode
    message: str
    details: tuple[ErrorDetail, ...]


@dataclass(frozen=True)
class TransactionBody:
    """A NetSuite write: record type, external id and the JSON body (money as strings)."""

    record_type: str
    external_id: str
    body: dict[str, Any] = field(default_factory=dict)


def record_type_for(kind: SyncKind) -> str:
    return "salesOrder" if kind == "order" else "invoice"


def _ref(value: str | None) -> dict[str, str] | None:
    return {"id": value} if value else None


def _money(value: Decimal) -> str:
    return str(value)


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
    if not problems:
        return None
    code = problems[0][0]
    summary = "; ".join(detail.reason for _, detail in problems)
    return MappingFailure(code=code, message=summary, details=tuple(d for _, d in problems))


MAPPING_CODES = frozenset(
    {
        ErrorCode.UNMAPPED_CUSTOMER,
        ErrorCode.UNMAPPED_PRODUCT,
        ErrorCode.MISSING_FREIGHT_ITEM,
        ErrorCode.MISSING_SURCHARGE_ITEM,
    }
)
"""Failures `check_mappings` reports: a mapping or item setting arriving later can fix them."""

SURCHARGE = "surcharge"


def customer_blocker(customer_id: str) -> str:
    return f"customer:{customer_id}"


def product_blocker(product_id: str) -> str:
    return f"product:{product_id}"


def freight_blocker(customer_id: str) -> str:
    return f"freight:{customer_id}"


def blockers(error: SyncError | None) -> tuple[str, ...]:
    """The settings a failure waits for, one string each (the ledger indexes them).

    ``customer:<id>`` / ``product:<id>``: that id has no NetSuite id; ``freight:<customer id>``: no
    freight item for that customer's orders; ``surcharge``: the integration has no surcharge item.
    Read from the failure's details (`check_mappings` names every problem there), so a stored
    failure tells the same as a fresh one. Other failures wait for nothing a mapping can provide.
    """
    if error is None or error.code not in MAPPING_CODES:
        return ()
    found: list[str] = []
    for detail in error.details:
        blocker = _blocker_of(detail)
        if blocker is not None and blocker not in found:
            found.append(blocker)
    return tuple(found)


def _blocker_of(detail: ErrorDetail) -> str | None:
    path, om_id = detail.path or "", detail.ordermentum_id
    if path == "surcharge":
        return SURCHARGE
    if om_id is None:
        return None
    if path == "customer":
        return customer_blocker(om_id)
    if path == "freight":
        return freight_blocker(om_id)
    if path.startswith("lines[") and path.endswith("].product"):
        return product_blocker(om_id)
    return None


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
    with ``replace=item`` so an update replaces the line set instead of appending to it.
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
        lines.append(entry)
    freight_item = transaction.resolved_property("netsuite_freight_item_id")
    if transaction.freight is not None and freight_item is not None:
        lines.append(
            {
                "item": {"id": freight_item},
                "quantity": "1",
                "rate": _money(transaction.freight.amount),
                "amount": _money(transaction.freight.amount),
                "description": "Freight",
            }
        )
    if transaction.surcharge is not None and surcharge_item_id is not None:
        lines.append(
            {
                "item": {"id": surcharge_item_id},
                "quantity": "1",
                "rate": _money(transaction.surcharge.amount),
                "amount": _money(transaction.surcharge.amount),
                "description": transaction.surcharge.description or "Surcharge",
            }
        )
    if closed:
        for entry in lines:
            entry["isClosed"] = True
    body: dict[str, Any] = {
        "externalId": external_id,
        "entity": {"id": mappings.customer},
        "memo": memo_for(kind, transaction),
        "item": {"items": lines},
    }
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
