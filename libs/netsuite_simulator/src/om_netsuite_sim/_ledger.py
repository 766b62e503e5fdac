"""Transaction business rules: totals, statuses, applications of payments and credits, deposits.

What NetSuite does that the services must cope with, reproduced here:

* sales order status follows its lines: B Pending Fulfillment, E partly billed, G Billed,
  H Closed when every line is closed, C Cancelled; a billed order cannot be closed;
* invoice ``amountRemaining`` falls as customer payments and credit memos are applied, status
  goes A (Open) to B (Paid In Full), and the invoice's ``lastModifiedDate`` does **not** change;
* a new customer payment's ``apply`` sublist is pre-filled with the customer's open invoices
  (``apply`` false; Help "Accepting Customer Payments": the Apply subtab lists every open
  invoice of the customer), lines are keyed by ``doc``; with ``autoApply`` true the payment
  is applied to the oldest first (Help: Accounting Preferences "Auto Apply");
* payments may be left (partly) unapplied; a bank deposit holds payments (``payment`` sublist,
  lines keyed by the payment's ``id`` (integer) with ``deposit`` and ``paymentAmount``, 2026.1
  REST API Browser ``deposit-paymentElement``) and moves them to Deposited, plus ``other`` lines
  (money added) and ``cashback`` lines (money withheld: account, amount, memo;
  ``deposit-cashbackElement``): total = payments + other - cash back;
* a customer deposit may name its ``salesOrder`` (``customerDeposit.salesOrder``, 2026.1
  browser); when that order is billed NetSuite applies the deposit to the new invoice with a
  deposit application (``depositApplication``: ``deposit``, ``apply`` sublist), which pays
  the invoice (public accounts: Packt "NetSuite for Consultants" ch. 15, Prolecto blog
  2015-10-07 "Applying NetSuite Sales Order Customer Deposits");
* sales transactions carry legacy tax (``_tax``): ``total`` = lines + tax, ``taxTotal``;
* a voided invoice keeps its lines with zero amounts (``voided`` true) and stops billing its
  sales order; one with payments or credits applied cannot be voided.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from . import _tax
from ._applications import (
    ZERO,
    Record,
    applications,
    check_applications,
    check_deposit,
    check_deposit_order,
    customer_deposit_status,
    deposit_holders,
    index_open,
    invoice_paid,
    prefill_apply,
    reapply,
    reapply_deposit,
    redeposit,
    set_invoice_amounts,
    user_error,
)
from ._responses import ApiError
from ._types import RECORD_TYPES, RecordType

if TYPE_CHECKING:
    from ._records import RecordStore

__all__ = ["after_save", "before_delete", "before_save", "snapshot", "so_status", "unbill"]


def snapshot(record: Record) -> Record:
    """A shallow copy with copied sublists, to compare before and after an update."""
    return {k: ([dict(x) for x in v] if isinstance(v, list) else v) for k, v in record.items()}


def _price_lines(record: Record) -> Decimal:
    total = ZERO
    for line in record.get("item") or []:
        quantity, rate, amount = line.get("quantity"), line.get("rate"), line.get("amount")
        if amount is None and quantity is not None and rate is not None:
            line["amount"] = amount = (quantity * rate).quantize(Decimal("0.01"))
        if rate is None and amount is not None and quantity:
            line["rate"] = amount / quantity
        if quantity is None and amount is not None:
            line["quantity"] = Decimal(1)
        total += amount or ZERO
    return total


def so_status(record: Record) -> str:
    if record.get("_cancelled"):
        return "C"
    lines = record.get("item") or []
    if lines and all(line.get("isClosed") for line in lines):
        return "H"
    open_lines = [line for line in lines if not line.get("isClosed")]
    billed = [line for line in lines if (line.get("quantityBilled") or ZERO) > 0]
    if open_lines and all(
        (line.get("quantityBilled") or ZERO) >= (line.get("quantity") or ZERO) for line in open_lines
    ):
        return "G" if billed else "B"
    if billed:
        return "E"
    order_status = record.get("orderStatus")
    if isinstance(order_status, dict):
        order_status = order_status.get("id")
    return "A" if order_status == "A" else "B"


def before_save(store: RecordStore, rtype: RecordType, record: Record, before: Record | None) -> None:
    """Validate and derive totals and statuses; raises ``ApiError`` before anything is stored."""
    _check_dates(record)
    if rtype.family in ("transaction", "customer"):
        # NetSuite fills these from the subsidiary (single-subsidiary account, base currency 1).
        record.setdefault("subsidiary", {"id": "1"})
        if rtype.family == "transaction":
            record.setdefault("currency", {"id": "1"})
    rule = _BEFORE_SAVE.get(rtype.name)
    if rule is not None:
        rule(store, record, before)


def _require(record: Record, field: str, label: str) -> None:
    if not record.get(field):
        raise user_error(f"Please enter value(s) for: {label}", field)


def _item_totals(store: RecordStore, record: Record) -> None:
    """Lines present and naming an item; subtotal, legacy tax and total (voided: zero amounts)."""
    lines = record.get("item") or []
    if not lines:
        raise user_error("You must enter at least one line item for this transaction.", "item")
    for i, line in enumerate(lines):
        if not line.get("item"):
            raise user_error("Please enter value(s) for: Item", f"item.items[{i}].item")
    if record.get("voided"):
        for line in lines:
            line["amount"] = ZERO
    subtotal = _price_lines(record)
    tax = _tax.apply_tax(store, record)
    record["subtotal"] = subtotal
    record["taxTotal"] = tax
    record["total"] = (
        subtotal + (record.get("shippingCost") or ZERO) + (record.get("handlingCost") or ZERO) + tax
    )


def _save_customer(_store: RecordStore, record: Record, _before: Record | None) -> None:
    _check_customer(record)


def _save_sales_order(store: RecordStore, record: Record, before: Record | None) -> None:
    _require(record, "entity", "Customer")
    _item_totals(store, record)
    was_billed = before is not None and so_status(before) == "G"
    newly_closed = before is not None and any(
        line.get("isClosed") and not old.get("isClosed")
        for line, old in zip(record.get("item") or [], before.get("item") or [], strict=False)
    )
    if was_billed and newly_closed:
        raise user_error("You cannot close this sales order because it has already been billed.", "item")
    record["status"] = so_status(record)


def _save_invoice(store: RecordStore, record: Record, _before: Record | None) -> None:
    _require(record, "entity", "Customer")
    _item_totals(store, record)
    if not record.get("dueDate"):
        record["dueDate"] = record.get("tranDate")
    paid = invoice_paid(store, record["id"])
    if record["total"] < paid:
        raise user_error("The invoice total is less than the amount already paid.")
    set_invoice_amounts(record, paid, store)


def _save_credit_memo(store: RecordStore, record: Record, _before: Record | None) -> None:
    _item_totals(store, record)
    _require(record, "entity", "Customer")
    applied = check_applications(store, record, "entity", record["total"])
    record["applied"], record["unapplied"] = applied, record["total"] - applied
    record["status"] = "B" if record["unapplied"] == 0 else "A"


def _save_customer_payment(store: RecordStore, record: Record, before: Record | None) -> None:
    _require(record, "customer", "Customer")
    prefill_apply(store, record, creating=before is None)
    payment = record.get("payment")
    applied = check_applications(store, record, "customer", payment)
    if payment is None:
        record["payment"] = payment = applied
    record["applied"], record["unapplied"], record["total"] = applied, payment - applied, payment
    record["status"] = "C" if record["id"] in deposit_holders(store) else "B"


def _save_customer_deposit(store: RecordStore, record: Record, _before: Record | None) -> None:
    _require(record, "customer", "Customer")
    check_deposit_order(store, record)
    record["total"] = record.get("payment") or ZERO
    applied = sum(store.deposit_applied.get(record["id"], {}).values(), ZERO)
    record["applied"], record["unapplied"] = applied, record["total"] - applied
    record["status"] = customer_deposit_status(store, record)


def _save_deposit_application(store: RecordStore, record: Record, _before: Record | None) -> None:
    deposit = store.find("transaction", str((record.get("deposit") or {}).get("id", "")))
    if deposit is None or deposit["_type"] != "customerDeposit":
        raise user_error("Please enter value(s) for: Deposit", "deposit")
    record.setdefault("customer", deposit["customer"])
    left = deposit["total"] - sum(
        (a for src, a in store.deposit_applied.get(deposit["id"], {}).items() if src != record["id"]),
        ZERO,
    )
    applied = check_applications(store, record, "customer", left)
    record["applied"], record["total"] = applied, applied


def _save_deposit(store: RecordStore, record: Record, _before: Record | None) -> None:
    check_deposit(store, record)


# The rules each record type's save runs (after dates, subsidiary and currency), by record type.
_BEFORE_SAVE: dict[str, Callable[[RecordStore, Record, Record | None], None]] = {
    "customer": _save_customer,
    "salesOrder": _save_sales_order,
    "invoice": _save_invoice,
    "creditMemo": _save_credit_memo,
    "customerPayment": _save_customer_payment,
    "customerDeposit": _save_customer_deposit,
    "depositApplication": _save_deposit_application,
    "deposit": _save_deposit,
}


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_dates(record: Record) -> None:
    """REST dates are ``YYYY-MM-DD`` (Help section_157305090645)."""
    for field in ("tranDate", "dueDate", "shipDate"):
        value = record.get(field)
        if value is None:
            continue
        try:
            ok = bool(_DATE_RE.match(str(value))) and date.fromisoformat(str(value)) is not None
        except ValueError:
            ok = False
        if not ok:
            raise ApiError(
                400,
                "INVALID_CONTENT",
                f"Error while accessing a resource. Invalid date value {value} for field {field}.",
                field,
            )


def _check_customer(record: Record) -> None:
    # Reported NetSuite text (reference 3.8): persons need both names, companies a name.
    if record.get("isPerson"):
        if not (record.get("firstName") and record.get("lastName")):
            raise user_error("Please enter value(s) for: First Name, Last Name.")
    elif not record.get("companyName"):
        raise user_error("Please enter value(s) for: Company Name.", "companyName")


def after_save(store: RecordStore, rtype: RecordType, record: Record) -> None:
    """Propagate a saved transaction to the records it touches (without their lastModifiedDate)."""
    if rtype.name in ("customerPayment", "creditMemo", "depositApplication"):
        reapply(store, record["id"], record.get("apply") or [])
    elif rtype.name == "deposit":
        redeposit(store, record)
    if rtype.name == "depositApplication":
        reapply_deposit(store, record)


def before_delete(store: RecordStore, rtype: RecordType, record: Record) -> None:
    if rtype.name == "invoice" and applications(store).get(record["id"]):
        raise user_error("This invoice has payments or credits applied and cannot be deleted.")
    if record["id"] in deposit_holders(store):
        raise user_error("This payment has been deposited and cannot be deleted.")
    if rtype.name in ("customerPayment", "creditMemo", "depositApplication"):
        reapply(store, record["id"], [])
    if rtype.name == "depositApplication":
        store.deposit_applied.get(str(record["deposit"]["id"]), {}).pop(record["id"], None)
    if rtype.name == "deposit":
        record["payment"] = []
        redeposit(store, record)
    if rtype.name == "invoice" and not record.get("voided"):  # a voided one is unbilled already
        unbill(store, record)
    if rtype.name == "invoice":
        index_open(store, record, gone=True)


def unbill(store: RecordStore, invoice: Record) -> None:
    so_id = (invoice.get("createdFrom") or {}).get("id")
    order = store.find("transaction", so_id) if so_id else None
    if order is None or order["_type"] != "salesOrder":
        return
    by_line = {int(line["line"]): line for line in order.get("item") or []}
    for line in invoice.get("item") or []:
        source = by_line.get(int(line.get("orderLine") or 0))
        if source is not None:
            source["quantityBilled"] = (source.get("quantityBilled") or ZERO) - line["quantity"]
    order["status"] = so_status(order)
    store.touch_derived(RECORD_TYPES["salesorder"], order)
