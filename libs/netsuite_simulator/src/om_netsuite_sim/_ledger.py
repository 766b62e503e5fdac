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
from typing import TYPE_CHECKING, Any

from . import _tax
from ._responses import ApiError
from ._types import RECORD_TYPES, RecordType

if TYPE_CHECKING:
    from ._records import RecordStore

__all__ = ["after_save", "before_delete", "before_save", "snapshot", "transform", "void_invoice"]

Record = dict[str, Any]
ZERO = Decimal(0)
_APPLY_SUBLISTS = ("apply", "credit", "deposit")


def snapshot(record: Record) -> Record:
    """A shallow copy with copied sublists, to compare before and after an update."""
    return {k: ([dict(x) for x in v] if isinstance(v, list) else v) for k, v in record.items()}


def _user_error(detail: str, path: str | None = None) -> ApiError:
    return ApiError(400, "USER_ERROR", detail, path)


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


def _applications(store: RecordStore) -> dict[str, dict[str, Decimal]]:
    """Index invoice id -> {applying transaction id -> amount} kept on the store."""
    return store.applied


def _deposited(store: RecordStore) -> dict[str, str]:
    """Index payment id -> id of the bank deposit holding it."""
    return store.deposited


def invoice_paid(store: RecordStore, invoice_id: str, *, excluding: str | None = None) -> Decimal:
    paid = _applications(store).get(invoice_id, {})
    return sum((amount for src, amount in paid.items() if src != excluding), ZERO)


def _so_status(record: Record) -> str:
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


def _check_applications(
    store: RecordStore, record: Record, customer_field: str, available: Decimal | None
) -> Decimal:
    """Validate ``apply`` lines against open invoices; return the total applied."""
    applied = ZERO
    customer = (record.get(customer_field) or {}).get("id")
    for i, line in enumerate(record.get("apply") or []):
        if line.get("apply") is False:
            continue
        path = f"apply.items[{i}]"
        doc = (line.get("doc") or {}).get("id")
        invoice = store.find("transaction", doc) if doc else None
        if invoice is None or invoice["_type"] != "invoice":
            raise ApiError(
                400,
                "INVALID_CONTENT",
                f"Invalid Field Value {doc} for the following field: doc",
                f"{path}.doc",
            )
        if customer is not None and (invoice.get("entity") or {}).get("id") != customer:
            raise _user_error(f"Invoice {doc} belongs to another customer.", f"{path}.doc")
        remaining = invoice["total"] - invoice_paid(store, str(doc), excluding=record.get("id"))
        amount = line.get("amount")
        if amount is None:
            amount = remaining if available is None else min(remaining, available - applied)
            line["amount"] = amount
        if amount <= 0 or amount > remaining:
            raise _user_error(
                f"The amount applied to invoice {doc} ({amount}) exceeds the amount due ({remaining}).",
                f"{path}.amount",
            )
        line["apply"] = True
        applied += amount
    if available is not None and applied > available:
        raise _user_error("The total amount applied exceeds the payment amount.", "apply")
    return applied


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
        raise _user_error(f"Please enter value(s) for: {label}", field)


def _item_totals(store: RecordStore, record: Record) -> None:
    """Lines present and naming an item; subtotal, legacy tax and total (voided: zero amounts)."""
    lines = record.get("item") or []
    if not lines:
        raise _user_error("You must enter at least one line item for this transaction.", "item")
    for i, line in enumerate(lines):
        if not line.get("item"):
            raise _user_error("Please enter value(s) for: Item", f"item.items[{i}].item")
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
    was_billed = before is not None and _so_status(before) == "G"
    newly_closed = before is not None and any(
        line.get("isClosed") and not old.get("isClosed")
        for line, old in zip(record.get("item") or [], before.get("item") or [], strict=False)
    )
    if was_billed and newly_closed:
        raise _user_error("You cannot close this sales order because it has already been billed.", "item")
    record["status"] = _so_status(record)


def _save_invoice(store: RecordStore, record: Record, _before: Record | None) -> None:
    _require(record, "entity", "Customer")
    _item_totals(store, record)
    if not record.get("dueDate"):
        record["dueDate"] = record.get("tranDate")
    paid = invoice_paid(store, record["id"])
    if record["total"] < paid:
        raise _user_error("The invoice total is less than the amount already paid.")
    _set_invoice_amounts(record, paid, store)


def _save_credit_memo(store: RecordStore, record: Record, _before: Record | None) -> None:
    _item_totals(store, record)
    _require(record, "entity", "Customer")
    applied = _check_applications(store, record, "entity", record["total"])
    record["applied"], record["unapplied"] = applied, record["total"] - applied
    record["status"] = "B" if record["unapplied"] == 0 else "A"


def _save_customer_payment(store: RecordStore, record: Record, before: Record | None) -> None:
    _require(record, "customer", "Customer")
    _prefill_apply(store, record, creating=before is None)
    payment = record.get("payment")
    applied = _check_applications(store, record, "customer", payment)
    if payment is None:
        record["payment"] = payment = applied
    record["applied"], record["unapplied"], record["total"] = applied, payment - applied, payment
    record["status"] = "C" if record["id"] in _deposited(store) else "B"


def _save_customer_deposit(store: RecordStore, record: Record, _before: Record | None) -> None:
    _require(record, "customer", "Customer")
    _check_deposit_order(store, record)
    record["total"] = record.get("payment") or ZERO
    applied = sum(store.deposit_applied.get(record["id"], {}).values(), ZERO)
    record["applied"], record["unapplied"] = applied, record["total"] - applied
    record["status"] = _customer_deposit_status(store, record)


def _save_deposit_application(store: RecordStore, record: Record, _before: Record | None) -> None:
    deposit = store.find("transaction", str((record.get("deposit") or {}).get("id", "")))
    if deposit is None or deposit["_type"] != "customerDeposit":
        raise _user_error("Please enter value(s) for: Deposit", "deposit")
    record.setdefault("customer", deposit["customer"])
    left = deposit["total"] - sum(
        (a for src, a in store.deposit_applied.get(deposit["id"], {}).items() if src != record["id"]),
        ZERO,
    )
    applied = _check_applications(store, record, "customer", left)
    record["applied"], record["total"] = applied, applied


def _save_deposit(store: RecordStore, record: Record, _before: Record | None) -> None:
    _check_deposit(store, record)


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
            raise _user_error("Please enter value(s) for: First Name, Last Name.")
    elif not record.get("companyName"):
        raise _user_error("Please enter value(s) for: Company Name.", "companyName")


def _set_invoice_amounts(record: Record, paid: Decimal, store: RecordStore) -> None:
    record["amountPaid"] = paid
    record["amountRemaining"] = record["total"] - paid
    record["status"] = "B" if record["amountRemaining"] <= 0 and record["total"] > 0 else "A"
    _index_open(store, record)


def _index_open(store: RecordStore, invoice: Record, *, gone: bool = False) -> None:
    """Keep ``store.open_invoices`` (customer id -> {invoice id: invoice with money due})."""
    for by_id in store.open_invoices.values():
        if by_id.pop(invoice["id"], None) is not None:
            break
    customer = (invoice.get("entity") or {}).get("id")
    if not gone and customer is not None and invoice["amountRemaining"] > ZERO:
        store.open_invoices.setdefault(customer, {})[invoice["id"]] = invoice


def _check_deposit(store: RecordStore, record: Record) -> None:
    if not record.get("account"):
        raise _user_error("Please enter value(s) for: Account", "account")
    total = ZERO
    deposited = _deposited(store)
    for i, line in enumerate(record.get("payment") or []):
        if line.get("deposit") is False:
            continue
        path = f"payment.items[{i}]"
        pid = str(line["id"]) if line.get("id") is not None else None
        payment = store.find("transaction", pid) if pid else None
        if payment is None or payment["_type"] not in ("customerPayment", "customerDeposit"):
            raise ApiError(
                400, "INVALID_CONTENT", f"Invalid Field Value {pid} for the following field: id",
                f"{path}.id",
            )  # fmt: skip
        holder = deposited.get(str(pid))
        if holder is not None and holder != record["id"]:
            raise _user_error(f"Payment {pid} has already been deposited.", path)
        line["id"] = int(str(pid)) if str(pid).isdigit() else pid
        line["deposit"] = True
        line["paymentAmount"] = payment["total"]
        total += payment["total"]
    for i, line in enumerate(record.get("other") or []):
        if not line.get("account") or line.get("amount") is None:
            raise _user_error("Please enter value(s) for: Account, Amount", f"other.items[{i}]")
        total += line["amount"]
    for i, line in enumerate(record.get("cashback") or []):
        if not line.get("account") or line.get("amount") is None:
            raise _user_error("Please enter value(s) for: Account, Amount", f"cashback.items[{i}]")
        total -= line["amount"]
    if total < 0:
        raise _user_error("The total of the deposit cannot be negative.", "cashback")
    record["total"] = total


def _prefill_apply(store: RecordStore, record: Record, *, creating: bool) -> None:
    """The ``apply`` sublist keyed by ``doc``: a line sent for an invoice replaces the one listed.

    NetSuite lists every open invoice of the customer on a new payment, unapplied; only the
    applied lines are stored here and the others are listed when the payment is read
    (`listed_apply_lines`), so a write costs nothing per open invoice. With ``autoApply`` true
    the payment goes to the oldest open invoices first.
    """
    lines: dict[str, Record] = {}
    for line in record.get("apply") or []:
        doc = str((line.get("doc") or {}).get("id", ""))
        lines[doc] = {**lines.get(doc, {}), **line}
    if creating and record.get("autoApply") is True:
        left = (record.get("payment") or ZERO) - sum(
            (line.get("amount") or ZERO for line in lines.values() if line.get("apply")), ZERO
        )
        for rid, inv in sorted(_open_of(store, record).items(), key=lambda pair: int(pair[0])):
            if rid in lines or left <= 0:
                continue
            amount = min(left, inv["amountRemaining"])
            lines[rid] = {"doc": {"id": rid}, "apply": True, "amount": amount}
            left -= amount
    if lines:
        for number, line in enumerate(lines.values(), start=1):
            line["line"] = number
        record["apply"] = list(lines.values())


def _open_of(store: RecordStore, payment: Record) -> dict[str, Record]:
    return store.open_invoices.get(str((payment.get("customer") or {}).get("id")), {})


def listed_apply_lines(store: RecordStore, payment: Record) -> list[Record]:
    """A customer payment's ``apply`` sublist as NetSuite lists it: its lines, then every other
    open invoice of the customer, unapplied (``due``, ``total``)."""
    lines = list(payment.get("apply") or [])
    listed = {str((line.get("doc") or {}).get("id")) for line in lines}
    number = max((int(line.get("line") or 0) for line in lines), default=0)
    for rid in sorted(_open_of(store, payment), key=int):
        if rid in listed:
            continue
        number += 1
        inv = store.open_invoices[str(payment["customer"]["id"])][rid]
        lines.append({"doc": {"id": rid}, "apply": False, "due": inv["amountRemaining"], "total": inv["total"],
                      "line": number})  # fmt: skip
    return lines


def _check_deposit_order(store: RecordStore, record: Record) -> None:
    so_id = (record.get("salesOrder") or {}).get("id")
    if so_id is None:
        return
    order = store.find("transaction", so_id)
    if order is None or order["_type"] != "salesOrder":
        raise ApiError(
            400, "INVALID_CONTENT", f"Invalid Field Value {so_id} for the following field: salesOrder",
            "salesOrder",
        )  # fmt: skip
    if (order.get("entity") or {}).get("id") != (record.get("customer") or {}).get("id"):
        raise _user_error(f"Sales order {so_id} belongs to another customer.", "salesOrder")


def _customer_deposit_status(store: RecordStore, record: Record) -> str:
    """A Not Deposited, B Deposited, C Fully Applied (customerDeposit ``status``)."""
    unapplied = record.get("unapplied")
    if record["total"] > 0 and unapplied is not None and unapplied <= 0:
        return "C"
    return "B" if record["id"] in _deposited(store) else "A"


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


def after_save(store: RecordStore, rtype: RecordType, record: Record) -> None:
    """Propagate a saved transaction to the records it touches (without their lastModifiedDate)."""
    if rtype.name in ("customerPayment", "creditMemo", "depositApplication"):
        _reapply(store, record["id"], record.get("apply") or [])
    elif rtype.name == "deposit":
        _redeposit(store, record)
    if rtype.name == "depositApplication":
        _reapply_deposit(store, record)


def _reapply_deposit(store: RecordStore, application: Record) -> None:
    deposit_id = str(application["deposit"]["id"])
    store.deposit_applied.setdefault(deposit_id, {})[application["id"]] = application.get("applied", ZERO)
    deposit = store.find("transaction", deposit_id)
    if deposit is not None:
        applied = sum(store.deposit_applied[deposit_id].values(), ZERO)
        deposit["applied"], deposit["unapplied"] = applied, deposit["total"] - applied
        deposit["status"] = _customer_deposit_status(store, deposit)
        store.touch_derived(RECORD_TYPES["customerdeposit"], deposit)


def _reapply(store: RecordStore, source_id: str, lines: list[Record]) -> None:
    index = _applications(store)
    touched = {inv for inv, sources in index.items() if source_id in sources}
    for inv in touched:
        index[inv].pop(source_id, None)
    for line in lines:
        if line.get("apply") is False:
            continue
        doc = line["doc"]["id"]
        index.setdefault(doc, {})[source_id] = line["amount"]
        touched.add(doc)
    invoice_type = RECORD_TYPES["invoice"]
    for inv in touched:
        invoice = store.find("transaction", inv)
        if invoice is not None:
            _set_invoice_amounts(invoice, invoice_paid(store, inv), store)
            store.touch_derived(invoice_type, invoice)


def _redeposit(store: RecordStore, record: Record) -> None:
    deposited = _deposited(store)
    now_held = {str(line["id"]) for line in record.get("payment") or [] if line.get("deposit")}
    touched = {pid for pid, holder in deposited.items() if holder == record["id"]} | now_held
    for pid in list(deposited):
        if deposited[pid] == record["id"]:
            del deposited[pid]
    for pid in now_held:
        deposited[pid] = record["id"]
    for pid in touched:
        payment = store.find("transaction", pid)
        if payment is None:
            continue
        held = pid in deposited
        if payment["_type"] == "customerPayment":
            payment["status"] = "C" if held else "B"
        else:
            payment["status"] = _customer_deposit_status(store, payment)
        store.touch_derived(RECORD_TYPES[payment["_type"].lower()], payment)


def before_delete(store: RecordStore, rtype: RecordType, record: Record) -> None:
    if rtype.name == "invoice" and _applications(store).get(record["id"]):
        raise _user_error("This invoice has payments or credits applied and cannot be deleted.")
    if record["id"] in _deposited(store):
        raise _user_error("This payment has been deposited and cannot be deleted.")
    if rtype.name in ("customerPayment", "creditMemo", "depositApplication"):
        _reapply(store, record["id"], [])
    if rtype.name == "depositApplication":
        store.deposit_applied.get(str(record["deposit"]["id"]), {}).pop(record["id"], None)
    if rtype.name == "deposit":
        record["payment"] = []
        _redeposit(store, record)
    if rtype.name == "invoice" and not record.get("voided"):  # a voided one is unbilled already
        _unbill(store, record)
    if rtype.name == "invoice":
        _index_open(store, record, gone=True)


def _unbill(store: RecordStore, invoice: Record) -> None:
    so_id = (invoice.get("createdFrom") or {}).get("id")
    order = store.find("transaction", so_id) if so_id else None
    if order is None or order["_type"] != "salesOrder":
        return
    by_line = {int(line["line"]): line for line in order.get("item") or []}
    for line in invoice.get("item") or []:
        source = by_line.get(int(line.get("orderLine") or 0))
        if source is not None:
            source["quantityBilled"] = (source.get("quantityBilled") or ZERO) - line["quantity"]
    order["status"] = _so_status(order)
    store.touch_derived(RECORD_TYPES["salesorder"], order)


def void_invoice(store: RecordStore, invoice: Record) -> None:
    """Void an invoice (amounts to zero, ``voided`` true; its sales order can be billed again).

    Voiding changes the invoice's lastModifiedDate, like any edit.
    """
    if invoice.get("voided"):
        return
    if _applications(store).get(invoice["id"]):
        raise _user_error("This invoice has payments or credits applied and cannot be voided.")
    _unbill(store, invoice)
    store.update(RECORD_TYPES["invoice"], invoice["id"], {"voided": True}, set())


def close_sales_order(store: RecordStore, order: Record) -> None:
    """Close every open line (what the UI's Close button does)."""
    if _so_status(order) == "G":
        raise _user_error("You cannot close this sales order because it has already been billed.")
    for line in order.get("item") or []:
        line["isClosed"] = True
    order["status"] = _so_status(order)
    order["_modified"] = store.now()
    store.touch_derived(RECORD_TYPES["salesorder"], order)


def cancel_sales_order(store: RecordStore, order: Record) -> None:
    if any((line.get("quantityBilled") or ZERO) > 0 for line in order.get("item") or []):
        raise _user_error("You cannot cancel this sales order because it has been billed.")
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
            raise _user_error(f"Invoice {source['id']} is already paid in full.")
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
    status = _so_status(order)
    if status in ("C", "H", "G", "A"):
        raise _user_error(f"You can not initialize invoice: invalid reference {order['id']}.")
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
            raise _user_error(f"You cannot bill more than the remaining quantity on line {line['line']}.")
        copy = _line_copy(line)
        copy.pop("amount", None)
        copy["quantity"] = quantity
        copy["orderLine"] = int(line["line"])
        lines.append(copy)
    if not lines:
        raise _user_error(f"You can not initialize invoice: invalid reference {order['id']}.")
    out["item"] = {"items": lines + extra}
    return out


def mark_billed(store: RecordStore, order: Record, invoice: Record) -> None:
    by_line = {int(line["line"]): line for line in order.get("item") or []}
    for line in invoice.get("item") or []:
        source = by_line.get(int(line.get("orderLine") or 0))
        if source is not None:
            source["quantityBilled"] = (source.get("quantityBilled") or ZERO) + line["quantity"]
    order["status"] = _so_status(order)
    store.touch_derived(RECORD_TYPES["salesorder"], order)
