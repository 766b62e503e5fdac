"""Finance documents flowing NetSuite -> Ordermentum.

``netsuite.invoices.v1`` (``netsuite.invoice.finalised``, then ``netsuite.invoice.updated`` when
that invoice is edited in NetSuite and ``netsuite.invoice.voided`` when it is voided or deleted),
``netsuite.credit-notes.v1``
(``netsuite.credit_note.created``) and ``netsuite.invoice-payments.v1``
(``netsuite.invoice.paid``), CONTRACTS.md "Outbound".
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from om_contracts._base import OutboundModel
from om_contracts._envelope import OutboundEnvelope
from om_contracts._ids import NetSuiteId, OrdermentumId
from om_contracts._money import Currency, Money, Quantity


class DocumentLine(OutboundModel):
    """A line of a NetSuite invoice or credit memo."""

    product_id: OrdermentumId | None = Field(
        default=None, description="Ordermentum product id, when the item is mapped."
    )
    netsuite_item_id: NetSuiteId
    description: str | None = Field(default=None, description="Line description.")
    quantity: Quantity
    unit_price: Money = Field(description="Rate per unit.")
    amount: Money = Field(description="Line amount.")


class DocumentTotals(OutboundModel):
    """Totals of a NetSuite document."""

    subtotal: Money = Field(description="Total before tax.")
    tax: Money = Field(description="Total tax.")
    total: Money = Field(description="Total including tax.")


class FinalisedInvoice(OutboundModel):
    """A NetSuite invoice billed from a synced order."""

    order_id: OrdermentumId = Field(description="Ordermentum order id.")
    netsuite_invoice_id: NetSuiteId
    tran_id: str = Field(description="NetSuite invoice number (tranId).")
    issued_at: AwareDatetime = Field(description="When NetSuite issued it (RFC 3339).")
    due_date: dt.date | None = Field(default=None, description="Payment due date.")
    currency: Currency
    lines: tuple[DocumentLine, ...] = Field(description="Invoice lines.")
    totals: DocumentTotals = Field(description="Invoice totals.")
    amount_due: Money = Field(description="Amount remaining to be paid.")


VoidReason = Literal["voided", "deleted"]


class VoidedInvoice(OutboundModel):
    """A finalised NetSuite invoice that no longer stands: voided or deleted in NetSuite."""

    order_id: OrdermentumId = Field(description="Ordermentum order id the invoice billed.")
    netsuite_invoice_id: NetSuiteId
    tran_id: str | None = Field(default=None, description="NetSuite invoice number (tranId), if known.")
    voided_at: AwareDatetime = Field(
        description="When NetSuite voided or deleted it (its last modification or deletion time)."
    )
    reason: VoidReason = Field(description="'voided' (voided in NetSuite) or 'deleted' (deleted there).")


class CreditNote(OutboundModel):
    """A NetSuite credit memo for an Ordermentum customer."""

    netsuite_credit_memo_id: NetSuiteId
    tran_id: str = Field(description="NetSuite credit memo number (tranId).")
    customer_id: OrdermentumId = Field(description="Ordermentum customer id.")
    invoice_id: OrdermentumId | None = Field(
        default=None, description="Ordermentum invoice id, when applied to a known invoice."
    )
    created_at: AwareDatetime = Field(description="When it was created (RFC 3339).")
    currency: Currency | None = Field(default=None, description="Currency of the credit memo.")
    lines: tuple[DocumentLine, ...] = Field(description="Credit memo lines.")
    total: Money = Field(description="Total credited.")


class InvoicePaid(OutboundModel):
    """A NetSuite invoice became fully paid."""

    invoice_id: OrdermentumId = Field(description="Ordermentum invoice (or order) id.")
    netsuite_invoice_id: NetSuiteId
    paid_at: AwareDatetime = Field(description="When it became paid (RFC 3339).")
    amount_paid: Money


class NetSuiteInvoiceFinalised(OutboundEnvelope[FinalisedInvoice]):
    """NetSuite billed a synced order."""

    event_type: Literal["netsuite.invoice.finalised"] = Field(
        default="netsuite.invoice.finalised", description="Always 'netsuite.invoice.finalised'."
    )


class NetSuiteInvoiceUpdated(OutboundEnvelope[FinalisedInvoice]):
    """A finalised invoice was edited in NetSuite (lines, totals, due date): its new state."""

    event_type: Literal["netsuite.invoice.updated"] = Field(
        default="netsuite.invoice.updated", description="Always 'netsuite.invoice.updated'."
    )


class NetSuiteFinalisedInvoiceVoided(OutboundEnvelope[VoidedInvoice]):
    """A finalised invoice was voided or deleted in NetSuite.

    Same ``event_type`` as the sync result of a voided Ordermentum invoice, on another topic
    (``netsuite.invoices.v1``), with this payload.
    """

    event_type: Literal["netsuite.invoice.voided"] = Field(
        default="netsuite.invoice.voided", description="Always 'netsuite.invoice.voided'."
    )


class NetSuiteCreditNoteCreated(OutboundEnvelope[CreditNote]):
    """A credit memo was created in NetSuite."""

    event_type: Literal["netsuite.credit_note.created"] = Field(
        default="netsuite.credit_note.created", description="Always 'netsuite.credit_note.created'."
    )


class NetSuiteInvoicePaid(OutboundEnvelope[InvoicePaid]):
    """An invoice was marked paid in NetSuite."""

    event_type: Literal["netsuite.invoice.paid"] = Field(
        default="netsuite.invoice.paid", description="Always 'netsuite.invoice.paid'."
    )


InvoiceFinalisedEvent = NetSuiteInvoiceFinalised
InvoiceDocumentEvent = Annotated[
    NetSuiteInvoiceFinalised | NetSuiteInvoiceUpdated | NetSuiteFinalisedInvoiceVoided,
    Field(discriminator="event_type"),
]
"""Any event of ``netsuite.invoices.v1``."""
CreditNoteEvent = NetSuiteCreditNoteCreated
InvoicePaymentEvent = NetSuiteInvoicePaid
