"""``ordermentum.products.v1``: ``product.upserted`` (CONTRACTS.md, ``product``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from om_contracts._base import InboundModel
from om_contracts._envelope import Envelope
from om_contracts._ids import OrdermentumId
from om_contracts._properties import HasProperties, Properties


class Product(InboundModel, HasProperties):
    """An Ordermentum product."""

    id: OrdermentumId
    sku: str | None = Field(default=None, description="Supplier SKU.")
    name: str = Field(description="Product name.")
    properties: Properties = Field(default_factory=dict)


class ProductUpserted(Envelope[Product]):
    """A product was created or changed in Ordermentum."""

    event_type: Literal["product.upserted"] = Field(
        default="product.upserted", description="Always 'product.upserted'."
    )


ProductEvent = ProductUpserted
