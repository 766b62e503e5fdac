"""``netsuite.stock-levels.v1``: ``netsuite.stock.changed`` (published only on change)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from om_contracts._base import OutboundModel
from om_contracts._envelope import EventId, OutboundEnvelope
from om_contracts._ids import NetSuiteId, OrdermentumId
from om_contracts._integrations import StockField
from om_contracts._money import Quantity


class LocationQuantity(OutboundModel):
    """Stock of one item at one NetSuite location."""

    location_id: NetSuiteId
    quantity: Quantity


class StockLevel(OutboundModel):
    """Stock of one product, from NetSuite."""

    product_id: OrdermentumId = Field(description="Ordermentum product id.")
    netsuite_item_id: NetSuiteId
    field: StockField = Field(description="Which NetSuite figure: 'available' or 'on_hand'.")
    quantity: Quantity = Field(description="Quantity at the default location.")
    default_location_id: NetSuiteId = Field(description="The first configured location.")
    locations: tuple[LocationQuantity, ...] = Field(
        description="Quantity at every configured location, in configured order."
    )
    as_of: AwareDatetime = Field(description="When NetSuite was read (RFC 3339).")


class NetSuiteStockChanged(OutboundEnvelope[StockLevel]):
    """An item's stock changed in NetSuite since the last poll.

    Two stock events are the same change, and carry the same ``event_id``, when they report the
    same supplier, product, view (``field`` and the configured ``locations``, in order), levels
    and change number: the count of changes published for that NetSuite item. A republication
    after a crash, a retry or by a second replica is the same change with the same id (only
    ``occurred_at``/``as_of`` may differ: when NetSuite was read). The same levels reached again
    later (A, then B, then A) are a new change with a new id, so a consumer that de-duplicates
    on ``event_id`` applies every change once and ends at NetSuite's level.
    """

    event_id: EventId = Field(
        description="Same id = same change: derived from supplier, product, view, levels and the "
        "item's change number, so a republication keeps it and a new change (even back to earlier "
        "levels) gets a new one. Consumers de-duplicate on it."
    )
    event_type: Literal["netsuite.stock.changed"] = Field(
        default="netsuite.stock.changed", description="Always 'netsuite.stock.changed'."
    )


StockLevelEvent = NetSuiteStockChanged
