"""Stock levels as read from NetSuite, their fingerprint for change detection, and the event.

Pure: no I/O, no clock, no random ids (the caller passes `as_of`; event ids are derived).

What makes two stock events the same: the supplier, the product, the view (field and locations),
the levels (the fingerprint) and the item's change number. The change number counts the changes
published for the item; it advances only once a change's snapshot is saved, so a republication
after a crash, a retry or by a second replica carries the same `event_id`, while the same levels
reached again later (A -> B -> A) are a new change with a new id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from om_contracts import (
    LocationQuantity,
    NetSuiteStockChanged,
    StockField,
    StockLevel,
    StockSettings,
    derived_event_id,
)


class BadConfiguration(ValueError):
    """The supplier's stock settings cannot be run as they are (reason in the message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class StockView:
    """What a supplier asked to see: one NetSuite figure at an ordered list of locations."""

    field: StockField
    location_ids: tuple[str, ...]

    @classmethod
    def from_settings(cls, stock: StockSettings) -> StockView:
        """The view of `stock`; raises `BadConfiguration` for an empty location list."""
        locations = tuple(stock.location_ids)
        if not locations:
            raise BadConfiguration("NO_LOCATIONS", "stock sync is enabled but no location ids are configured")
        if len(set(locations)) != len(locations):
            raise BadConfiguration("DUPLICATE_LOCATIONS", f"location ids repeat: {','.join(locations)}")
        return cls(stock.field, locations)

    @property
    def default_location_id(self) -> str:
        return self.location_ids[0]

    @property
    def key(self) -> str:
        """A stable text form of the view, stored with each snapshot."""
        return f"{self.field.value}@{','.join(self.location_ids)}"


@dataclass(frozen=True, slots=True)
class ItemLevels:
    """One NetSuite item's quantity at each location of a view, in the view's order."""

    item_id: str
    quantities: tuple[Decimal, ...]


def canonical(quantity: Decimal) -> str:
    """A quantity as text that does not depend on how NetSuite wrote it ("5", "5.0", "5.00")."""
    if quantity == quantity.to_integral_value():
        return str(quantity.quantize(Decimal(1)))
    return format(quantity.normalize(), "f")


def fingerprint(view: StockView, product_id: str, levels: ItemLevels) -> str:
    """Hash of everything a published event says; a different view or product means "changed"."""
    text = "|".join((view.key, product_id, levels.item_id, *(canonical(q) for q in levels.quantities)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Published:
    """An item's levels (fingerprint) and change number as consumers may have seen them last."""

    fingerprint: str
    seq: int


def next_change(digest: str, snapshot: Published | None, pending: Published | None) -> int | None:
    """The change number to publish levels `digest` under, or None when consumers have them.

    `snapshot` is the last change saved after publishing (absent: never published; stored before
    change numbers existed: seq 0). `pending` is a change that was about to be published when the
    snapshot was last left behind, maybe published, maybe not (a crash between publish and save):
    - the same levels again: republish under the pending number (same id, a no-op for consumers
      that saw it, the change itself for those that did not);
    - other levels, even the snapshot's own (A, B maybe published, back to A): a new change after
      it, so consumers that saw B are brought back to A.
    """
    base = snapshot
    if pending is not None and (snapshot is None or pending.seq > snapshot.seq):
        if digest == pending.fingerprint:
            return pending.seq
        base = pending
    if base is None:
        return 1
    if base is snapshot and digest == base.fingerprint:
        return None
    return base.seq + 1


def stock_event_id(supplier_id: str, product_id: str, view: StockView, seq: int, digest: str) -> str:
    """The `event_id` of change `seq` (levels `digest`) of a product: the same change, the same id."""
    return derived_event_id("netsuite.stock.changed", supplier_id, product_id, view.key, str(seq), digest)


def stock_event(
    *,
    supplier_id: str,
    product_id: str,
    levels: ItemLevels,
    view: StockView,
    as_of: datetime,
    event_id: str,
) -> NetSuiteStockChanged:
    """The `netsuite.stock.changed` event for one product (CONTRACTS.md, stock-levels)."""
    locations = tuple(
        LocationQuantity(location_id=location, quantity=quantity)
        for location, quantity in zip(view.location_ids, levels.quantities, strict=True)
    )
    return NetSuiteStockChanged(
        event_id=event_id,
        occurred_at=as_of,
        supplier_id=supplier_id,
        data=StockLevel(
            product_id=product_id,
            netsuite_item_id=levels.item_id,
            field=view.field,
            quantity=levels.quantities[0],
            default_location_id=view.default_location_id,
            locations=locations,
            as_of=as_of,
        ),
    )
