"""Auto-reconciliation: how an Ordermentum payment lands in NetSuite (pure decisions).

The cascade is Ordermentum's own (help article "How auto-reconciliation works with NetSuite"):

* invoice sync: find the invoice (by number, or by our external id) and apply the payment,
  otherwise record it unapplied against the customer;
* order sync: find the sales order by external id and apply to its invoice(s); a payment for one
  order not yet invoiced becomes a customer deposit on that sales order (outcome ``deposited``),
  which NetSuite applies to the invoice when the order is billed (Oracle Help "Customer
  Deposit": "After the order is filled, the deposit is applied against the invoice"); a payment
  over several orders none of which is invoiced stays unapplied (a deposit names one order);
* no invoice/order: match the customer and record the payment unapplied;
* no customer: record nothing; the payment is reported `unmatched` for manual review.

Amounts are exact decimals. Each allocation is applied line by line, never more than the
allocation, the invoice's amount due or what is left of the payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from om_contracts import (
    Allocation,
    AppliedAmount,
    Payment,
    PaymentReconciliation,
    ReconciliationOutcome,
    SyncType,
    TransactionClassification,
)

ZERO = Decimal(0)


@dataclass(frozen=True)
class OpenInvoice:
    """A NetSuite invoice a payment may be applied to (`currency_id`: its currency's internal id)."""

    netsuite_id: str
    entity_id: str | None
    amount_due: Decimal
    currency_id: str | None = None


@dataclass(frozen=True)
class AllocationMatch:
    """What NetSuite holds for one allocation: the invoice, or the order and its invoices."""

    allocation: Allocation
    label: str
    found: bool
    entity_id: str | None = None
    invoices: tuple[OpenInvoice, ...] = ()
    order: FoundOrder | None = None


@dataclass(frozen=True)
class FoundInvoice:
    """An invoice NetSuite holds under one of our external ids or invoice numbers (tranId)."""

    external_id: str | None
    tran_id: str | None
    invoice: OpenInvoice


@dataclass(frozen=True)
class FoundOrder:
    """A sales order NetSuite holds under our external id, with the invoices billed from it."""

    entity_id: str | None
    invoices: tuple[OpenInvoice, ...] = ()
    netsuite_id: str | None = None
    currency_id: str | None = None


@dataclass(frozen=True)
class RecordedRef:
    """Our payment as NetSuite holds it: a customer payment (``CustPymt``) or deposit (``CustDep``)."""

    id: str
    kind: str


@dataclass(frozen=True)
class InvoiceLookup:
    """The invoices a payment's allocations name, in NetSuite id order, and our payment if held."""

    invoices: tuple[FoundInvoice, ...]
    recorded_payment: RecordedRef | None


@dataclass(frozen=True)
class OrderLookup:
    """The sales orders (by external id) a payment's allocations name, and our payment if held."""

    orders: dict[str, FoundOrder]
    recorded_payment: RecordedRef | None


@dataclass(frozen=True)
class RecordedPayment:
    """A payment NetSuite holds: its customer and (NetSuite invoice id, amount) applied; or a
    customer deposit (`customer_deposit`) on a sales order."""

    customer_id: str
    applied: tuple[tuple[str, Decimal], ...]
    sales_order_id: str | None = None
    customer_deposit: bool = False


@dataclass(frozen=True)
class Application:
    invoice_id: str | None
    netsuite_invoice_id: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentPlan:
    """What to record: the NetSuite customer (None = unmatched) and the applications."""

    outcome: ReconciliationOutcome
    customer_id: str | None
    applications: tuple[Application, ...] = ()
    reasons: tuple[str, ...] = field(default=())
    sales_order_id: str | None = None
    """The sales order a ``deposited`` payment's customer deposit is linked to."""
    currency_id: str | None = None
    """The NetSuite currency of the documents paid (None: NetSuite's default, the customer's)."""

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) or None

    def to_document(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "customer_id": self.customer_id,
            "applications": [
                {
                    "invoice_id": a.invoice_id,
                    "netsuite_invoice_id": a.netsuite_invoice_id,
                    "amount": str(a.amount),
                }
                for a in self.applications
            ],
            "reasons": list(self.reasons),
            "sales_order_id": self.sales_order_id,
            "currency_id": self.currency_id,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> PaymentPlan:
        return cls(
            outcome=document["outcome"],
            customer_id=document.get("customer_id"),
            applications=tuple(
                Application(a.get("invoice_id"), a["netsuite_invoice_id"], Decimal(a["amount"]))
                for a in document.get("applications", [])
            ),
            reasons=tuple(document.get("reasons", [])),
            sales_order_id=document.get("sales_order_id"),
            currency_id=document.get("currency_id"),
        )


def allocation_label(allocation: Allocation, sync_type: SyncType) -> str:
    if sync_type == SyncType.ORDERS:
        return f"order {allocation.order_id}" if allocation.order_id else "an allocation without an order id"
    name = allocation.invoice_number or allocation.invoice_id
    return f"invoice {name}" if name else "an allocation without an invoice"


def _not_applicable(match: AllocationMatch, customer: str) -> str | None:
    """Why an allocation's invoices cannot take any of the payment (None: they can)."""
    if not match.found:
        return f"{match.label} was not found in NetSuite"
    if match.entity_id is not None and match.entity_id != customer:
        return f"{match.label} belongs to another NetSuite customer"
    if not match.invoices:
        return f"{match.label} is not invoiced yet"
    return None


def plan_payment(
    payment: Payment,
    sync_type: SyncType,
    matches: Sequence[AllocationMatch],
    mapped_customer_id: str | None,
) -> PaymentPlan:
    """Decide how `payment` is recorded, following the cascade in the module docstring."""
    customer = mapped_customer_id or next((m.entity_id for m in matches if m.found and m.entity_id), None)
    if customer is None:
        return PaymentPlan(
            outcome="unmatched",
            customer_id=None,
            reasons=(
                f"customer {payment.customer.id} is not mapped to a NetSuite customer and no "
                "invoice or order of the payment was found in NetSuite",
            ),
        )
    reasons: list[str] = []
    if not matches:
        reasons.append("the payment has no allocations")
    applied: dict[str, Decimal] = {}
    currencies = {i.netsuite_id: i.currency_id for m in matches for i in m.invoices}
    om_ids: dict[str, str | None] = {}
    due: dict[str, Decimal] = {}
    payment_left = payment.amount
    for match in matches:
        skipped = _not_applicable(match, customer)
        if skipped is not None:
            reasons.append(skipped)
            continue
        left = match.allocation.amount
        for invoice in match.invoices:
            if invoice.entity_id is not None and invoice.entity_id != customer:
                continue
            available = due.get(invoice.netsuite_id, invoice.amount_due)
            amount = min(left, available, payment_left)
            if amount <= 0:
                continue
            applied[invoice.netsuite_id] = applied.get(invoice.netsuite_id, ZERO) + amount
            om_ids.setdefault(invoice.netsuite_id, match.allocation.invoice_id)
            due[invoice.netsuite_id] = available - amount
            left -= amount
            payment_left -= amount
        if left > 0:
            reasons.append(f"{left} of {match.label} exceeds what is due and stays unapplied")
    applications = tuple(Application(om_ids[ns_id], ns_id, amount) for ns_id, amount in applied.items())
    currency = next(
        (currencies[a.netsuite_invoice_id] for a in applications if currencies.get(a.netsuite_invoice_id)),
        None,
    )
    if not applications and sync_type == SyncType.ORDERS:
        deposit = _deposit_on_order(matches, customer)
        if deposit is not None:
            return PaymentPlan(
                outcome="deposited",
                customer_id=customer,
                reasons=(
                    f"{deposit.label} is not invoiced yet: recorded as a customer deposit on its sales order",
                ),
                sales_order_id=deposit.order.netsuite_id if deposit.order else None,
                currency_id=deposit.order.currency_id if deposit.order else None,
            )
    return PaymentPlan(
        outcome="applied" if applications else "unapplied",
        customer_id=customer,
        applications=applications,
        reasons=tuple(reasons),
        currency_id=currency,
    )


def _deposit_on_order(matches: Sequence[AllocationMatch], customer: str) -> AllocationMatch | None:
    """The one order of the customer's that the payment is for, when none is invoiced yet."""
    found = [m for m in matches if m.found and (m.entity_id is None or m.entity_id == customer)]
    orders = {m.order.netsuite_id for m in found if m.order is not None}
    if len(found) != len(matches) or len(orders) != 1 or any(m.invoices for m in found):
        return None
    return found[0]


def adopt_recorded(
    customer_id: str,
    applied: Sequence[tuple[str, Decimal]],
    invoice_ids: dict[str, str | None],
    *,
    sales_order_id: str | None = None,
    customer_deposit: bool = False,
) -> PaymentPlan:
    """The plan of a payment NetSuite already holds (ledger lost or never written): kept as it is.

    Re-planning it would see its own applications already reducing the amounts due and could
    rewrite them; the record in NetSuite is the truth.
    """
    if customer_deposit:
        return PaymentPlan(
            outcome="deposited",
            customer_id=customer_id,
            reasons=("the payment was already recorded in NetSuite as a customer deposit; it is kept",),
            sales_order_id=sales_order_id,
        )
    applications = tuple(Application(invoice_ids.get(ns_id), ns_id, amount) for ns_id, amount in applied)
    return PaymentPlan(
        outcome="applied" if applications else "unapplied",
        customer_id=customer_id,
        applications=applications,
        reasons=("the payment was already recorded in NetSuite; its applications are kept",),
    )


def _booking_date(moment: datetime) -> str:
    """The calendar date of a source timestamp in its own offset (CONTRACTS.md, 2026-12-07):
    ``2026-11-27T08:02:11+11:00`` books 2026-11-27, not the UTC date 2026-11-26."""
    return moment.date().isoformat()


def customer_payment_body(
    payment: Payment, plan: PaymentPlan, classification: TransactionClassification
) -> dict[str, Any]:
    """The NetSuite customerPayment (REST field names, 2026.1 REST API Browser ``customerPayment``).

    ``autoApply`` false: NetSuite pre-fills ``apply`` with every open invoice of the customer and
    would otherwise apply the payment to the oldest; the lines sent (keyed by ``doc``, Oracle
    Help "Deposit Application": apply lines are identified by ``doc``) apply exactly our invoices,
    the others stay unapplied. ``undepFunds`` is left out: the browser types it as an object
    whose values are unpublished, and NetSuite's default posts a payment to Undeposited Funds,
    which the payout's bank deposit then collects (UNCONFIRMED without a sandbox).
    """
    body: dict[str, Any] = {
        "customer": {"id": plan.customer_id},
        "payment": payment.amount,
        "tranDate": _booking_date(payment.paid_at),
        "autoApply": False,
        "memo": f"Ordermentum payment {payment.reference or payment.id}",
    }
    if plan.currency_id:
        body["currency"] = {"id": plan.currency_id}
    body.update(_classification(classification))
    if plan.applications:
        body["apply"] = {
            "items": [
                {"doc": {"id": a.netsuite_invoice_id}, "apply": True, "amount": a.amount}
                for a in plan.applications
            ]
        }
    return body


def customer_deposit_body(
    payment: Payment, plan: PaymentPlan, classification: TransactionClassification
) -> dict[str, Any]:
    """The NetSuite customerDeposit of a payment for an order not yet invoiced (2026.1 browser
    ``customerDeposit``: ``customer``, ``salesOrder``, ``payment``, ``currency``, ``tranDate``)."""
    body: dict[str, Any] = {
        "customer": {"id": plan.customer_id},
        "salesOrder": {"id": plan.sales_order_id},
        "payment": payment.amount,
        "tranDate": _booking_date(payment.paid_at),
        "memo": f"Ordermentum payment {payment.reference or payment.id}",
    }
    if plan.currency_id:
        body["currency"] = {"id": plan.currency_id}
    body.update(_classification(classification))
    return body


@dataclass(frozen=True)
class FeeBooking:
    """Whether a payout's fees go on its deposit: ``booked`` is None when there are no fees."""

    booked: bool | None
    reason: str | None = None


NO_FEES_ACCOUNT = (
    "the integration's auto_reconciliation has no fees_account_id: the deposit is booked gross "
    "(the payments' total) and the fees are left for the supplier to book"
)


def fee_booking(fees: Decimal, fees_account_id: str | None) -> FeeBooking:
    """Fees are booked on the deposit when the integration names an account for them."""
    if fees <= 0:
        return FeeBooking(None)
    if fees_account_id is None:
        return FeeBooking(False, NO_FEES_ACCOUNT)
    return FeeBooking(True)


def deposit_body(
    account_id: str,
    payment_ids: Sequence[str],
    tran_date: str,
    memo: str,
    classification: TransactionClassification,
    *,
    fees: Decimal = ZERO,
    fees_account_id: str | None = None,
) -> dict[str, Any]:
    """The NetSuite bank deposit holding the given customer payments (or customer deposits).

    Payment lines are keyed by the payment's internal ``id`` (an integer) with ``deposit`` true
    (2026.1 REST API Browser ``deposit-paymentElement``: it has no ``doc``). With a fees account,
    the payout's fees are a ``cashback`` line to it (``deposit-cashbackElement``: money withheld
    from the deposit), so the deposit equals the amount that reached the bank.
    """
    body: dict[str, Any] = {
        "account": {"id": account_id},
        "tranDate": tran_date,
        "memo": memo,
        "payment": {"items": [{"id": int(pid), "deposit": True} for pid in payment_ids]},
    }
    body.update(_classification(classification))
    if fee_booking(fees, fees_account_id).booked and fees_account_id is not None:
        line: dict[str, Any] = {"account": {"id": fees_account_id}, "amount": fees, "memo": f"Fees: {memo}"}
        line.update(_classification(classification))
        body["cashback"] = {"items": [line]}
    return body


def _classification(classification: TransactionClassification) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if classification.class_id:
        out["class"] = {"id": classification.class_id}
    if classification.location_id:
        out["location"] = {"id": classification.location_id}
    if classification.department_id:
        out["department"] = {"id": classification.department_id}
    return out


def reconciliation_data(payment_id: str, plan: PaymentPlan, netsuite_id: str | None) -> PaymentReconciliation:
    """The outcome event's data; `netsuite_id` is the customer payment, or the customer deposit
    when the payment was ``deposited``."""
    deposited = plan.outcome == "deposited"
    return PaymentReconciliation(
        payment_id=payment_id,
        outcome=plan.outcome,
        netsuite_payment_id=None if deposited else netsuite_id,
        netsuite_customer_deposit_id=netsuite_id if deposited else None,
        applied_to=tuple(
            AppliedAmount(invoice_id=a.invoice_id, netsuite_invoice_id=a.netsuite_invoice_id, amount=a.amount)
            for a in plan.applications
        ),
        reason=plan.reason,
    )
