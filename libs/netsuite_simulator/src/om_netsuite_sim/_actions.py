"""What a NetSuite user does to a transaction: bill a sales order (``!transform`` to an invoice,
applying the order's customer deposits), credit or pay an invoice, void it, close or cancel an order
(rules and sources in ``_ledger``'s docstring)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._applications import ZERO, Record, applications, invoice_paid, user_error
from ._ledger import so_status, unbill
from ._responses import ApiError
from ._types import RECORD_TYPES

if TYPE_CHECKING:
    from ._records import RecordStore

__all__ = [
    "apply_order_deposits",
    "cancel_sales_order",
    "close_sales_order",
    "mark_billed",
    "transform",
    "void_invoice",
]


def apply_order_deposits(store: RecordStore, order: Record, invoice: Record) -> list[str]:
    """What NetSuite does when an order with customer deposits is billed: each deposit with
    money left is applied to the new invoice by a deposit application; returns their ids."""
    created: list[str] = []
    deposits = sorted(
        (
            d
            for d in store.by_family.get("transaction", {}).values()
            if d["_type"] == "customerDeposit" and (d.get("salesOrder") or {}).get("id") == order["id"]
        ),
        key=lambda d: int(d["id"]),
    )
    for deposit in deposits:
        remaining = invoice["total"] - invoice_paid(store, invoice["id"])
        amount = min(deposit.get("unapplied", deposit["total"]), remaining)
        if amount <= 0:
            continue
        body = {
            "deposit": {"id": deposit["id"]},
            "customer": {"id": deposit["customer"]["id"]},
            "apply": {"items": [{"doc": {"id": invoice["id"]}, "apply": True, "amount": amount}]},
        }
        created.append(store.create(RECORD_TYPES["depositapplication"], body))
    return created


def void_invoice(store: RecordStore, invoice: Record) -> None:
    """Void an invoice (amounts to zero, ``voided`` true; its sales order can be billed again).

    Voiding changes the invoice's lastModifiedDate, like any edit.
    """
    if invoice.get("voided"):
        return
    if applications(store).get(invoice["id"]):
        raise user_error("This invoice has payments or credits applied and cannot be voided.")
    unbill(store, invoice)
    store.update(RECORD_TYPES["invoice"], invoice["id"], {"voided": True}, set())


def close_sales_order(store: RecordStore, order: Record) -> None:
    """Close every open line (what the UI's Close button does)."""
    if so_status(order) == "G":
        raise user_error("You cannot close this sales order because it has already been billed.")
    for line in order.get("item") or []:
        line["isClosed"] = True
    order["status"] = so_status(order)
    order["_modified"] = store.now()
    store.touch_derived(RECORD_TYPES["salesorder"], order)


def cancel_sales_order(store: RecordStore, order: Record) -> None:
    if any((line.get("quantityBilled") or ZERO) > 0 for line in order.get("item") or []):
        raise user_error("You cannot cancel this sales order because it has been billed.")
    order["_cancelled"] = True
    order["status"] = "C"
    order["_modified"] = store.now()
    store.touch_derived(RECORD_TYPES["salesorder"], order)


_COPY_FIELDS = ("entity", "location", "department", "class", "currency", "subsidiary", "memo",
                "otherRefNum", "salesRep", "terms")  # fmt: skip


def _ref_body(value: Any) -> Any:
    return {"id": value["id"]} if isinstance(value, dict) and "id" in value else value


def transform(source: Record, target: str, body: Record) -> Record:
    """Build the create body of ``target`` from ``source`` (Help section_157901123882)."""
    pair = (source["_type"], target)
    out: Record = {}
    if pair == ("salesOrder", "invoice"):
        out = _order_to_invoice(source, body)
    elif pair == ("invoice", "creditMemo"):
        out = {k: _ref_body(source[k]) for k in _COPY_FIELDS if k in source}
        out["item"] = {"items": [_line_copy(line) for line in source.get("item") or []]}
        remaining = source["amountRemaining"]
        if remaining > 0:
            out["apply"] = {"items": [{"doc": {"id": source["id"]}, "apply": True}]}
    elif pair == ("invoice", "customerPayment"):
        out = {"customer": _ref_body(source["entity"])}
        for k in ("department", "class", "location", "currency", "subsidiary"):
            if k in source:
                out[k] = _ref_body(source[k])
        remaining = source["amountRemaining"]
        if remaining <= 0:
            raise user_error(f"Invoice {source['id']} is already paid in full.")
        out["payment"] = remaining
        out["apply"] = {"items": [{"doc": {"id": source["id"]}, "apply": True}]}
    else:
        raise ApiError(
            400,
            "INVALID_PARAMETER",
            f"Transformation from {source['_type']} to {target} is not supported.",
        )
    for key, value in body.items():
        if key.lower() == "item" and pair == ("salesOrder", "invoice"):
            continue
        out[key] = value
    out["createdFrom"] = {"id": source["id"]}
    return out


def _line_copy(line: Record) -> Record:
    keep = ("item", "quantity", "rate", "amount", "description", "location", "department", "class",
            "taxCode")  # fmt: skip
    return {k: _ref_body(line[k]) for k in keep if k in line}


def _order_to_invoice(order: Record, body: Record) -> Record:
    status = so_status(order)
    if status in ("C", "H", "G", "A"):
        raise user_error(f"You can not initialize invoice: invalid reference {order['id']}.")
    out = {k: _ref_body(order[k]) for k in _COPY_FIELDS if k in order}
    for k in ("shippingCost", "handlingCost", "shipMethod"):
        if k in order:
            out[k] = _ref_body(order[k])
    overrides: dict[int, Decimal] = {}
    extra: list[Record] = []
    body_items = next((v for k, v in body.items() if k.lower() == "item"), None)
    for line in (body_items or {}).get("items") or []:
        if "orderLine" in line:
            overrides[int(line["orderLine"])] = Decimal(str(line.get("quantity", 0)))
        else:
            extra.append(line)
    lines: list[Record] = []
    for line in order.get("item") or []:
        if line.get("isClosed"):
            continue
        remaining = (line.get("quantity") or ZERO) - (line.get("quantityBilled") or ZERO)
        quantity = overrides.get(int(line["line"]), remaining)
        if quantity <= 0:
            continue
        if quantity > remaining:
            raise user_error(f"You cannot bill more than the remaining quantity on line {line['line']}.")
        copy = _line_copy(line)
        copy.pop("amount", None)
        copy["quantity"] = quantity
        copy["orderLine"] = int(line["line"])
        lines.append(copy)
    if not lines:
        raise user_error(f"You can not initialize invoice: invalid reference {order['id']}.")
    out["item"] = {"items": lines + extra}
    return out


def mark_billed(store: RecordStore, order: Record, invoice: Record) -> None:
    by_line = {int(line["line"]): line for line in order.get("item") or []}
    for line in invoice.get("item") or []:
        source = by_line.get(int(line.get("orderLine") or 0))
        if source is not None:
            source["quantityBilled"] = (source.get("quantityBilled") or ZERO) + line["quantity"]
    order["status"] = so_status(order)
    store.touch_derived(RECORD_TYPES["salesorder"], order)
