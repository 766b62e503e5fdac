"""``netsuite.catalog.v1``: NetSuite customers and items, published so suppliers can map them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from om_contracts._base import OutboundModel
from om_contracts._envelope import OutboundEnvelope
from om_contracts._ids import NetSuiteId, OrdermentumId


class NetSuiteCustomer(OutboundModel):
    """A NetSuite customer record."""

    netsuite_id: NetSuiteId
    name: str = Field(description="Customer name (companyName or entityId).")
    email: str | None = Field(default=None, description="Customer e-mail.")
    is_inactive: bool = Field(description="Whether the record is inactive in NetSuite.")
    ordermentum_id: OrdermentumId | None = Field(
        default=None, description="Mapped Ordermentum customer id, when mapped."
    )


class NetSuiteItem(OutboundModel):
    """A NetSuite item record."""

    netsuite_id: NetSuiteId
    name: str = Field(description="Item display name.")
    sku: str | None = Field(default=None, description="Item name/number (itemId).")
    is_inactive: bool = Field(description="Whether the record is inactive in NetSuite.")
    ordermentum_id: OrdermentumId | None = Field(
        default=None, description="Mapped Ordermentum product id, when mapped."
    )


class NetSuiteCustomerChanged(OutboundEnvelope[NetSuiteCustomer]):
    """A NetSuite customer was created or changed."""

    event_type: Literal["netsuite.customer.changed"] = Field(
        default="netsuite.customer.changed", description="Always 'netsuite.customer.changed'."
    )


class NetSuiteItemChanged(OutboundEnvelope[NetSuiteItem]):
    """A NetSuite item was created or changed."""

    event_type: Literal["netsuite.item.changed"] = Field(
        default="netsuite.item.changed", description="Always 'netsuite.item.changed'."
    )


CatalogEvent = Annotated[NetSuiteCustomerChanged | NetSuiteItemChanged, Field(discriminator="event_type")]
