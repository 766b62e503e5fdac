"""``ordermentum.payments.v1``: ``payment.succeeded`` and ``payout.settled``.

CONTRACTS.md, ``payment``/``payout``. A payment is a customer paying invoices through
Ordermentum; a payout is Ordermentum settling many payments to the supplier's bank, net of fees.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from om_contracts._base import InboundModel
from om_contracts._customers import Customer
from om_contracts._envelope import Envelope
from om_contracts._ids import OrdermentumId
from om_contracts._money import Amount, Currency
from om_contracts._timestamps import Rfc3339DateTime


class Allocation(InboundModel):
    """The part of a payment that pays one invoice."""

    invoice_id: OrdermentumId | None = Field(default=None, description="Ordermentum invoice id.")
    invoice_number: str | None = Field(default=None, description="Invoice number.")
    order_id: OrdermentumId | None = Field(default=None, description="Ordermentum order id.")
    amount: Amount = Field(description="Amount applied to this invoice.")


class Payment(InboundModel):
    """A customer payment received through Ordermentum."""

    id: OrdermentumId
    customer: Customer = Field(description="The paying customer.")
    amount: Amount = Field(description="Amount paid.")
    currency: Currency
    paid_at: Rfc3339DateTime = Field(description="When the payment succeeded (RFC 3339).")
    method: str | None = Field(default=None, description="Payment method, e.g. 'card'.")
    reference: str | None = Field(default=None, description="Ordermentum payment reference.")
    allocations: tuple[Allocation, ...] = Field(
        default=(), description="How the payment is split over invoices."
    )


class Payout(InboundModel):
    """A settlement of several payments into the supplier's bank account."""

    id: OrdermentumId
    settled_at: Rfc3339DateTime = Field(description="When the payout settled (RFC 3339).")
    amount: Amount = Field(description="Amount deposited (net of fees).")
    currency: Currency
    reference: str | None = Field(default=None, description="Settlement reference.")
    payment_ids: tuple[OrdermentumId, ...] = Field(
        default=(), description="Payments included in this payout."
    )
    fees: Amount = Field(default=Decimal("0"), description="Fees withheld by Ordermentum.")


class PaymentSucceeded(Envelope[Payment]):
    """A customer payment succeeded."""

    event_type: Literal["payment.succeeded"] = Field(
        default="payment.succeeded", description="Always 'payment.succeeded'."
    )


class PayoutSettled(Envelope[Payout]):
    """A payout reached the supplier's bank account."""

    event_type: Literal["payout.settled"] = Field(
        default="payout.settled", description="Always 'payout.settled'."
    )


PaymentEvent = Annotated[PaymentSucceeded | PayoutSettled, Field(discriminator="event_type")]
