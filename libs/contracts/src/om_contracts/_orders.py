"""``ordermentum.orders.v1`` and ``ordermentum.invoices.v1`` (CONTRACTS.md, ``order``/``invoice``).

An invoice has the order's shape plus ``order_id``, ``issued_at`` and ``due_date``; its
``number`` is the invoice number. ``freight``, ``surcharge``, ``purchase_order_number``,
``notes`` and line ``description`` may be null or absent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from om_contracts._base import InboundModel
from om_contracts._customers import Customer
from om_contracts._envelope import Envelope
from om_contracts._ids import OrdermentumId
from om_contracts._money import Amount, Currency, OrderedQuantity, TaxRate, UnitPrice
from om_contracts._products import Product
from om_contracts._properties import HasProperties, Properties, PropertyName
from om_contracts._timestamps import IsoDate, Rfc3339DateTime


class OrderLine(InboundModel):
    """One product line."""

    id: OrdermentumId = Field(description="Line id, unique within the order.")
    quantity: OrderedQuantity
    unit_price: UnitPrice
    tax_rate: TaxRate | None = Field(default=None, description="Tax rate as a fraction ('0.10').")
    description: str | None = Field(default=None, description="Line description, if any.")
    product: Product = Field(description="The product ordered.")


class Freight(InboundModel):
    """Freight (delivery) charge."""

    amount: Amount = Field(description="Freight amount excluding tax.")
    tax_rate: TaxRate | None = Field(default=None, description="Tax rate as a fraction ('0.10').")


class Surcharge(InboundModel):
    """Surcharge, e.g. a card surcharge."""

    amount: Amount = Field(description="Surcharge amount.")
    description: str | None = Field(default=None, description="What the surcharge is for.")


class Totals(InboundModel):
    """Totals as computed by Ordermentum."""

    subtotal: Amount = Field(description="Sum of the lines excluding tax.")
    freight: Amount = Field(default=Decimal("0"), description="Freight excluding tax.")
    surcharge: Amount = Field(default=Decimal("0"), description="Surcharge.")
    tax: Amount = Field(description="Total tax.")
    total: Amount = Field(description="Grand total including tax.")


class _Transaction(InboundModel, HasProperties):
    id: OrdermentumId
    number: str = Field(description="Human-facing number (order number or invoice number).")
    purchase_order_number: str | None = Field(default=None, description="Customer's purchase order number.")
    delivery_date: IsoDate | None = Field(default=None, description="Requested delivery date.")
    currency: Currency
    customer: Customer = Field(description="The buying customer.")
    lines: tuple[OrderLine, ...] = Field(description="Product lines.")
    freight: Freight | None = Field(default=None, description="Freight charge, if any.")
    surcharge: Surcharge | None = Field(default=None, description="Surcharge, if any.")
    notes: str | None = Field(default=None, description="Free-text notes from the customer.")
    properties: Properties = Field(default_factory=dict)
    totals: Totals = Field(description="Totals.")

    def resolved_property(self, name: PropertyName) -> str | None:
        """The transaction's own property, else its customer's, else ``None``.

        CONTRACTS.md precedence for department, class, sales rep, freight item and location.
        """
        own = self.property(name)
        return own if own is not None else self.customer.property(name)


class Order(_Transaction):
    """An Ordermentum order (becomes a NetSuite sales order when ``sync_type`` is orders)."""

    placed_at: Rfc3339DateTime = Field(description="When the order was placed (RFC 3339).")


class Invoice(_Transaction):
    """An Ordermentum invoice (becomes a NetSuite invoice when ``sync_type`` is invoices)."""

    order_id: OrdermentumId | None = Field(default=None, description="The order this invoice bills.")
    placed_at: Rfc3339DateTime | None = Field(
        default=None, description="When the underlying order was placed (RFC 3339)."
    )
    issued_at: Rfc3339DateTime = Field(description="When the invoice was issued (RFC 3339).")
    due_date: IsoDate | None = Field(default=None, description="Payment due date.")


class OrderPlaced(Envelope[Order]):
    """A customer placed an order."""

    event_type: Literal["order.placed"] = Field(default="order.placed", description="Always 'order.placed'.")


class OrderUpdated(Envelope[Order]):
    """An order changed (lines, freight, dates, properties...)."""

    event_type: Literal["order.updated"] = Field(
        default="order.updated", description="Always 'order.updated'."
    )


class OrderCancelled(Envelope[Order]):
    """An order was cancelled."""

    event_type: Literal["order.cancelled"] = Field(
        default="order.cancelled", description="Always 'order.cancelled'."
    )


class InvoiceIssued(Envelope[Invoice]):
    """An invoice was issued."""

    event_type: Literal["invoice.issued"] = Field(
        default="invoice.issued", description="Always 'invoice.issued'."
    )


class InvoiceUpdated(Envelope[Invoice]):
    """An issued invoice changed."""

    event_type: Literal["invoice.updated"] = Field(
        default="invoice.updated", description="Always 'invoice.updated'."
    )


class InvoiceVoided(Envelope[Invoice]):
    """An invoice was voided."""

    event_type: Literal["invoice.voided"] = Field(
        default="invoice.voided", description="Always 'invoice.voided'."
    )


OrderEvent = Annotated[OrderPlaced | OrderUpdated | OrderCancelled, Field(discriminator="event_type")]
InvoiceEvent = Annotated[InvoiceIssued | InvoiceUpdated | InvoiceVoided, Field(discriminator="event_type")]
