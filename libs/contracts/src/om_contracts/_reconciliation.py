"""``netsuite.reconciliation.v1``: how Ordermentum payments and payouts landed in NetSuite.

Outcome ``applied`` (customer payment applied to invoices), ``unapplied`` (payment recorded
against the customer, no invoice to apply it to), ``deposited`` (a payment for an order not yet
invoiced in NetSuite, recorded as a customer deposit on its sales order, which NetSuite applies
to the invoice when the order is billed; addition of 2026-12-07) or ``unmatched`` (no customer
found: flagged for manual review). Payouts become bank deposits, their fees cash-back lines.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from om_contracts._base import OutboundModel
from om_contracts._envelope import OutboundEnvelope
from om_contracts._ids import NetSuiteId, OrdermentumId
from om_contracts._money import Money

ReconciliationOutcome = Literal["applied", "unapplied", "deposited", "unmatched"]


class AppliedAmount(OutboundModel):
    """Part of a payment applied to one NetSuite invoice."""

    invoice_id: OrdermentumId | None = Field(default=None, description="Ordermentum invoice id.")
    netsuite_invoice_id: NetSuiteId
    amount: Money


class PaymentReconciliation(OutboundModel):
    """The result of recording one Ordermentum payment in NetSuite."""

    payment_id: OrdermentumId = Field(description="Ordermentum payment id.")
    outcome: ReconciliationOutcome = Field(
        description="'applied', 'unapplied', 'deposited' (a customer deposit on the order's sales order) "
        "or 'unmatched'."
    )
    netsuite_payment_id: NetSuiteId | None = Field(
        default=None, description="NetSuite customer payment id (absent when deposited or unmatched)."
    )
    netsuite_customer_deposit_id: NetSuiteId | None = Field(
        default=None,
        description=(
            "NetSuite customer deposit id, when the outcome is 'deposited': NetSuite applies it to the "
            "order's invoice when the order is billed (the invoice is then reported paid)."
        ),
    )
    applied_to: tuple[AppliedAmount, ...] = Field(
        default=(), description="Invoices the payment was applied to."
    )
    reason: str | None = Field(default=None, description="Why the payment is unapplied or unmatched.")


class PayoutDeposit(OutboundModel):
    """The bank deposit recorded for an Ordermentum payout."""

    payout_id: OrdermentumId = Field(description="Ordermentum payout id.")
    netsuite_deposit_id: NetSuiteId
    amount: Money
    fees: Money | None = Field(default=None, description="The payout's fees, when it had any.")
    fees_booked: bool | None = Field(
        default=None,
        description=(
            "Whether the fees were booked on the deposit's cash-back lines (to the integration's "
            "fees_account_id), so that the deposit equals the net amount; false: the deposit is gross."
        ),
    )
    reason: str | None = Field(default=None, description="Why the fees were not booked, when they were not.")


class NetSuitePaymentReconciled(OutboundEnvelope[PaymentReconciliation]):
    """An Ordermentum payment was recorded (or flagged) in NetSuite."""

    event_type: Literal["netsuite.payment.reconciled"] = Field(
        default="netsuite.payment.reconciled", description="Always 'netsuite.payment.reconciled'."
    )


class NetSuitePayoutDeposited(OutboundEnvelope[PayoutDeposit]):
    """An Ordermentum payout was recorded as a NetSuite deposit."""

    event_type: Literal["netsuite.payout.deposited"] = Field(
        default="netsuite.payout.deposited", description="Always 'netsuite.payout.deposited'."
    )


ReconciliationEvent = Annotated[
    NetSuitePaymentReconciled | NetSuitePayoutDeposited, Field(discriminator="event_type")
]
