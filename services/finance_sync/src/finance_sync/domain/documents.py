"""NetSuite finance documents as read from SuiteQL, and the outbound events built from them.

Rows arrive as plain dataclasses (the gateway parses SuiteQL text into `Decimal`, `datetime`
and `date`); these functions only decide what to publish. Event ids are derived from the
supplier, feature, NetSuite id and version, so a re-run after a crash republishes the same event
id and Ordermentum's de-duplication on `event_id` absorbs it.

A finalised invoice's published state is remembered as a fingerprint of what NetSuite holds
(tranId, due date, currency, lines, totals: not the amount due, which payments move, nor the
product mapping of its lines). An edit that changes the fingerprint is published again as
`netsuite.invoice.updated`; a void or a deletion as `netsuite.invoice.voided`, once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from finance_sync.domain.cursors import Position
from om_contracts import (
    CreditNote,
    DocumentLine,
    DocumentTotals,
    ExternalIdKind,
    FinalisedInvoice,
    InvoicePaid,
    NetSuiteCreditNoteCreated,
    NetSuiteFinalisedInvoiceVoided,
    NetSuiteInvoiceFinalised,
    NetSuiteInvoicePaid,
    NetSuiteInvoiceUpdated,
    VoidedInvoice,
    VoidReason,
    derived_event_id,
    parse_external_id,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """`value` written with at least cents ('127.5' -> '127.50'); never rounds."""
    exponent = value.as_tuple().exponent
    return value.quantize(CENT) if isinstance(exponent, int) and exponent > -2 else value


@dataclass(frozen=True)
class LineRow:
    """One item line of an invoice or credit memo (`transactionline`, signs already normalised)."""

    line: int
    item_id: str | None
    description: str | None
    quantity: Decimal
    rate: Decimal | None
    amount: Decimal
    is_tax: bool = False


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice header with what tells whether Ordermentum knows it."""

    id: str
    tran_id: str
    created_at: dt.datetime
    entity_id: str | None
    external_id: str | None
    order_external_id: str | None
    currency: str | None
    due_date: dt.date | None
    total: Decimal
    amount_paid: Decimal
    amount_unpaid: Decimal
    lines: tuple[LineRow, ...] = field(default=())
    modified_at: dt.datetime | None = None
    voided: bool = False


@dataclass(frozen=True)
class DeletedInvoice:
    """An invoice NetSuite logged as deleted (SuiteQL ``deletedrecord``)."""

    id: str
    deleted_at: dt.datetime


@dataclass(frozen=True)
class InvoiceVersion:
    """What was last published about a finalised invoice (kept by the service)."""

    invoice_id: str
    order_id: str
    tran_id: str | None
    fingerprint: str
    state: Literal["finalised", "updated", "voided"]


@dataclass(frozen=True)
class CreditMemoRow:
    id: str
    tran_id: str
    created_at: dt.datetime
    entity_id: str | None
    currency: str | None
    total: Decimal
    invoice_external_id: str | None
    invoice_order_external_id: str | None
    lines: tuple[LineRow, ...] = field(default=())


@dataclass(frozen=True)
class PaymentChange:
    """A customer payment or credit memo changed in the window: its customer may have paid invoices."""

    id: str
    entity_id: str | None
    at: dt.datetime

    @property
    def position(self) -> Position:
        return Position(self.at, int(self.id))


def ordermentum_id(external_id: str | None, kind: ExternalIdKind) -> str | None:
    """The Ordermentum id inside one of our external ids of `kind` (None if not ours/hashed)."""
    if not external_id:
        return None
    parsed = parse_external_id(external_id)
    if parsed is None or parsed.kind != kind:
        return None
    return parsed.ordermentum_id


def known_invoice_id(invoice_external_id: str | None, order_external_id: str | None) -> str | None:
    """The Ordermentum id an invoice is known by: its invoice id (invoice sync) or its order id."""
    return ordermentum_id(invoice_external_id, ExternalIdKind.INVOICE) or ordermentum_id(
        order_external_id, ExternalIdKind.ORDER
    )


def document_lines(lines: Iterable[LineRow], products: Mapping[str, str]) -> tuple[DocumentLine, ...]:
    """Item lines mapped back to Ordermentum products (`products`: NetSuite item id -> product id)."""
    out: list[DocumentLine] = []
    for line in sorted(lines, key=lambda x: x.line):
        if line.is_tax or line.item_id is None:
            continue
        rate = line.rate
        if rate is None:
            rate = line.amount / line.quantity if line.quantity else line.amount
        out.append(
            DocumentLine(
                product_id=products.get(line.item_id),
                netsuite_item_id=line.item_id,
                description=line.description,
                quantity=line.quantity,
                unit_price=rate,
                amount=line.amount,
            )
        )
    return tuple(out)


def totals(total: Decimal, lines: Iterable[LineRow]) -> DocumentTotals:
    """Total from the header, tax from tax lines, subtotal = total - tax (freight included)."""
    tax = sum((line.amount for line in lines if line.is_tax), ZERO)
    return DocumentTotals(subtotal=total - tax, tax=tax, total=total)


def finalised_invoice(
    row: InvoiceRow, products: Mapping[str, str], default_currency: str
) -> FinalisedInvoice | None:
    """The published form of an invoice billed from one of our sales orders (None: not ours)."""
    order_id = ordermentum_id(row.order_external_id, ExternalIdKind.ORDER)
    if order_id is None:
        return None
    return FinalisedInvoice(
        order_id=order_id,
        netsuite_invoice_id=row.id,
        tran_id=row.tran_id,
        issued_at=row.created_at,
        due_date=row.due_date,
        currency=row.currency or default_currency,
        lines=document_lines(row.lines, products),
        totals=totals(row.total, row.lines),
        amount_due=row.amount_unpaid,
    )


def finalised_invoice_event(
    supplier_id: str, row: InvoiceRow, products: Mapping[str, str], default_currency: str
) -> NetSuiteInvoiceFinalised | None:
    """`netsuite.invoice.finalised` for an invoice billed from one of our sales orders."""
    data = finalised_invoice(row, products, default_currency)
    if data is None:
        return None
    return NetSuiteInvoiceFinalised(
        event_id=derived_event_id(supplier_id, "finalised", row.id),
        occurred_at=row.created_at,
        supplier_id=supplier_id,
        data=data,
    )


def invoice_fingerprint(data: FinalisedInvoice) -> str:
    """32 hex digits over what NetSuite holds: tranId, due date, currency, lines and totals.

    Not the amount due (payments move it without editing the invoice) nor the lines' Ordermentum
    product ids (a mapping made later is not an edit in NetSuite).
    """
    facts = data.model_dump(mode="json", include={"tran_id", "due_date", "currency", "lines", "totals"})
    for line in facts["lines"]:
        line.pop("product_id", None)
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


InvoiceDocument = NetSuiteInvoiceFinalised | NetSuiteInvoiceUpdated | NetSuiteFinalisedInvoiceVoided


def version_of(event: InvoiceDocument) -> InvoiceVersion:
    """What to remember once an invoice event was published (a voided one needs no fingerprint)."""
    if isinstance(event, NetSuiteFinalisedInvoiceVoided):
        voided = event.data
        return InvoiceVersion(voided.netsuite_invoice_id, voided.order_id, voided.tran_id, "", "voided")
    data = event.data
    state: Literal["finalised", "updated"] = (
        "finalised" if isinstance(event, NetSuiteInvoiceFinalised) else "updated"
    )
    return InvoiceVersion(
        data.netsuite_invoice_id, data.order_id, data.tran_id, invoice_fingerprint(data), state
    )


def invoice_change_event(
    supplier_id: str,
    row: InvoiceRow,
    known: InvoiceVersion | None,
    products: Mapping[str, str],
    default_currency: str,
) -> tuple[str, NetSuiteInvoiceUpdated | NetSuiteFinalisedInvoiceVoided | None]:
    """(de-duplication key, event) for an invoice modified in NetSuite.

    Nothing for an invoice never published as finalised (the finalised feed publishes its
    current state), one already voided, or one whose fingerprint did not change.
    """
    if row.voided:
        key = f"{row.id}@voided"
        if known is None or known.state == "voided":
            return key, None
        return key, voided_event(supplier_id, known, row.modified_at or row.created_at, "voided")
    data = finalised_invoice(row, products, default_currency)
    if data is None or known is None or known.state == "voided":
        return f"{row.id}@unknown", None
    fingerprint = invoice_fingerprint(data)
    key = f"{row.id}@{fingerprint}"
    if fingerprint == known.fingerprint:
        return key, None
    return key, NetSuiteInvoiceUpdated(
        event_id=derived_event_id(supplier_id, "updated", row.id, fingerprint),
        occurred_at=row.modified_at or row.created_at,
        supplier_id=supplier_id,
        data=data,
    )


def invoice_deleted_event(
    supplier_id: str, deleted: DeletedInvoice, known: InvoiceVersion | None
) -> tuple[str, NetSuiteFinalisedInvoiceVoided | None]:
    """(key, `netsuite.invoice.voided`) for a deleted invoice we published as finalised."""
    key = f"{deleted.id}@voided"
    if known is None or known.state == "voided":
        return key, None
    return key, voided_event(supplier_id, known, deleted.deleted_at, "deleted")


def voided_event(
    supplier_id: str, known: InvoiceVersion, at: dt.datetime, reason: VoidReason
) -> NetSuiteFinalisedInvoiceVoided:
    """`netsuite.invoice.voided` for a finalised invoice; one event id per invoice, whatever the reason."""
    return NetSuiteFinalisedInvoiceVoided(
        event_id=derived_event_id(supplier_id, "voided", known.invoice_id),
        occurred_at=at,
        supplier_id=supplier_id,
        data=VoidedInvoice(
            order_id=known.order_id,
            netsuite_invoice_id=known.invoice_id,
            tran_id=known.tran_id,
            voided_at=at,
            reason=reason,
        ),
    )


def credit_note_event(
    supplier_id: str,
    row: CreditMemoRow,
    customer_id: str | None,
    products: Mapping[str, str],
    default_currency: str,
) -> NetSuiteCreditNoteCreated | None:
    """`netsuite.credit_note.created`; None when the NetSuite customer maps to no Ordermentum one."""
    if customer_id is None:
        return None
    return NetSuiteCreditNoteCreated(
        event_id=derived_event_id(supplier_id, "credit_note", row.id),
        occurred_at=row.created_at,
        supplier_id=supplier_id,
        data=CreditNote(
            netsuite_credit_memo_id=row.id,
            tran_id=row.tran_id,
            customer_id=customer_id,
            invoice_id=known_invoice_id(row.invoice_external_id, row.invoice_order_external_id),
            created_at=row.created_at,
            currency=row.currency or default_currency,
            lines=document_lines(row.lines, products),
            total=row.total,
        ),
    )


def is_paid_in_full(row: InvoiceRow) -> bool:
    return row.total > 0 and row.amount_unpaid <= 0


def invoice_paid_event(supplier_id: str, row: InvoiceRow, paid_at: dt.datetime) -> NetSuiteInvoicePaid | None:
    """`netsuite.invoice.paid` for a known invoice paid in full; None otherwise."""
    invoice_id = known_invoice_id(row.external_id, row.order_external_id)
    if invoice_id is None or not is_paid_in_full(row):
        return None
    return NetSuiteInvoicePaid(
        event_id=derived_event_id(supplier_id, "paid", row.id),
        occurred_at=paid_at,
        supplier_id=supplier_id,
        data=InvoicePaid(
            invoice_id=invoice_id,
            netsuite_invoice_id=row.id,
            paid_at=paid_at,
            amount_paid=row.amount_paid or row.total,
        ),
    )
