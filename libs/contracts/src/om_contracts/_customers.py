"""``ordermentum.customers.v1``: ``customer.upserted`` (CONTRACTS.md, ``customer``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from om_contracts._base import InboundModel
from om_contracts._envelope import Envelope
from om_contracts._ids import OrdermentumId
from om_contracts._properties import HasProperties, Properties


class Customer(InboundModel, HasProperties):
    """An Ordermentum customer (a venue buying from the supplier)."""

    id: OrdermentumId
    name: str = Field(description="Customer (trading) name.")
    email: str | None = Field(default=None, description="Accounts e-mail address.")
    properties: Properties = Field(default_factory=dict)


class CustomerUpserted(Envelope[Customer]):
    """A customer was created or changed in Ordermentum."""

    event_type: Literal["customer.upserted"] = Field(
        default="customer.upserted", description="Always 'customer.upserted'."
    )


CustomerEvent = CustomerUpserted
