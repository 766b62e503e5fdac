"""Applications of payments, credits and deposits to invoices, and the bank deposits that hold
payments (the rules are listed in ``_ledger``'s docstring, with their sources)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._responses import ApiError
from ._types import RECORD_TYPES

if TYPE_CHECKING:
    from ._records import RecordStore

Record = dict[str, Any]
ZERO = Decimal(0)


_APPLY_SUBLISTS = ("apply", "credit", "deposit")


def user_error(detail: str, path: str | None = None) -> ApiError:
    return ApiError(400, "USER_ERROR", detail, path)


def applications(store: RecordStore) -> dict[str, dict[str, Decimal]]:
    """Index invoice id -> {applying transaction id -> amount} kept on the store."""
    return store.applied


def deposit_holders(store: RecordStore) -> dict[str, str]:
    """Index payment id -> id of the bank deposit holding it."""
    return store.deposited


def invoice_paid(store: RecordStore, invoice_id: str, *, excluding: str | None = None) -> Decimal:
    paid = applications(store).get(invoice_id, {})
    return sum((amount for src, amount in paid.items() if src != excluding), ZERO)


def check_applications(
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
            raise user_error(f"Invoice {doc} belongs to another customer.", f"{path}.doc")
        remaining = invoice["total"] - invoice_paid(store, str(doc), excluding=record.get("id"))
        amount = line.get("amount")
        if amount is None:
            amount = remaining if available is None else min(remaining, available - applied)
            line["amount"] = amount
        if amount <= 0 or amount > remaining:
            raise user_error(
                f"The amount applied to invoice {doc} ({amount}) exceeds the amount due ({remaining}).",
                f"{path}.amount",
            )
        line["apply"] = True
        applied += amount
    if available is not None and applied > available:
        raise user_error("The total amount applied exceeds the payment amount.", "apply")
    return applied


def set_invoice_amounts(record: Record, paid: Decimal, store: RecordStore) -> None:
    record["amountPaid"] = paid
    record["amountRemaining"] = record["total"] - paid
    record["status"] = "B" if record["amountRemaining"] <= 0 and record["total"] > 0 else "A"
    index_open(store, record)


def index_open(store: RecordStore, invoice: Record, *, gone: bool = False) -> None:
    """Keep ``store.open_invoices`` (customer id -> {invoice id: invoice with money due})."""
    for by_id in store.open_invoices.values():
        if by_id.pop(invoice["id"], None) is not None:
            break
    customer = (invoice.get("entity") or {}).get("id")
    if not gone and customer is not None and invoice["amountRemaining"] > ZERO:
        store.open_invoices.setdefault(customer, {})[invoice["id"]] = invoice


def check_deposit(store: RecordStore, record: Record) -> None:
    if not record.get("account"):
        raise user_error("Please enter value(s) for: Account", "account")
    total = ZERO
    deposited = deposit_holders(store)
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
            raise user_error(f"Payment {pid} has already been deposited.", path)
        line["id"] = int(str(pid)) if str(pid).isdigit() else pid
        line["deposit"] = True
        line["paymentAmount"] = payment["total"]
        total += payment["total"]
    for i, line in enumerate(record.get("other") or []):
        if not line.get("account") or line.get("amount") is None:
            raise user_error("Please enter value(s) for: Account, Amount", f"other.items[{i}]")
        total += line["amount"]
    for i, line in enumerate(record.get("cashback") or []):
        if not line.get("account") or line.get("amount") is None:
            raise user_error("Please enter value(s) for: Account, Amount", f"cashback.items[{i}]")
        total -= line["amount"]
    if total < 0:
        raise user_error("The total of the deposit cannot be negative.", "cashback")
    record["total"] = total


def prefill_apply(store: RecordStore, record: Record, *, creating: bool) -> None:
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


def check_deposit_order(store: RecordStore, record: Record) -> None:
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
        raise user_error(f"Sales order {so_id} belongs to another customer.", "salesOrder")


def customer_deposit_status(store: RecordStore, record: Record) -> str:
    """A Not Deposited, B Deposited, C Fully Applied (customerDeposit ``status``)."""
    unapplied = record.get("unapplied")
    if record["total"] > 0 and unapplied is not None and unapplied <= 0:
        return "C"
    return "B" if record["id"] in deposit_holders(store) else "A"


def reapply_deposit(store: RecordStore, application: Record) -> None:
    deposit_id = str(application["deposit"]["id"])
    store.deposit_applied.setdefault(deposit_id, {})[application["id"]] = application.get("applied", ZERO)
    deposit = store.find("transaction", deposit_id)
    if deposit is not None:
        applied = sum(store.deposit_applied[deposit_id].values(), ZERO)
        deposit["applied"], deposit["unapplied"] = applied, deposit["total"] - applied
        deposit["status"] = customer_deposit_status(store, deposit)
        store.touch_derived(RECORD_TYPES["customerdeposit"], deposit)


def reapply(store: RecordStore, source_id: str, lines: list[Record]) -> None:
    index = applications(store)
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
            set_invoice_amounts(invoice, invoice_paid(store, inv), store)
            store.touch_derived(invoice_type, invoice)


def redeposit(store: RecordStore, record: Record) -> None:
    deposited = deposit_holders(store)
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
            payment["status"] = customer_deposit_status(store, payment)
        store.touch_derived(RECORD_TYPES[payment["_type"].lower()], payment)
