"""The ports the stock use cases need; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from om_contracts import IntegrationSettings, NetSuiteStockChanged
from stock_sync.domain.levels import ItemLevels, Published, StockView


class StockReadFailed(Exception):
    """NetSuite could not be read; `code` is a stable reason, `retryable` says whether waiting helps."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class StockReader(Protocol):
    """NetSuite, as far as the stock scan needs it (one supplier's account)."""

    async def known_locations(self, location_ids: tuple[str, ...]) -> set[str]: ...

    async def id_range(self) -> tuple[int, int] | None: ...

    def pages(self, view: StockView, after: int, up_to: int) -> AsyncIterator[list[ItemLevels]]: ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One item's change: its fingerprint, change number and event, and the product it went to."""

    item_id: str
    product_id: str
    fingerprint: str
    seq: int
    view_key: str
    quantities: tuple[str, ...]
    event_id: str
    as_of: datetime


class SnapshotStore(Protocol):
    async def published(self, supplier_id: str, item_ids: Sequence[str]) -> dict[str, Published]:
        """The saved snapshot of each of `item_ids` that has one."""
        ...

    async def save(self, supplier_id: str, snapshots: Sequence[Snapshot]) -> None: ...

    async def pending(self, supplier_id: str) -> dict[str, Published]:
        """Changes marked pending and not yet known to be saved (left by an interrupted run)."""
        ...

    async def mark_pending(self, supplier_id: str, snapshots: Sequence[Snapshot]) -> None:
        """Record changes about to be published, before publishing them."""
        ...

    async def clear_pending(self, supplier_id: str) -> None:
        """Forget every pending mark (a completed scan has saved or superseded them all)."""
        ...


class ProductMap(Protocol):
    async def products_for(
        self, supplier_id: str, integration: IntegrationSettings, item_ids: Iterable[str]
    ) -> dict[str, str]:
        """Ordermentum product id per mapped NetSuite item id (unmapped ones absent)."""
        ...


Publish = Callable[[NetSuiteStockChanged], Awaitable[None]]
Clock = Callable[[], datetime]


class LeaseCheck(Protocol):
    def check(self) -> None:
        """Raise if the run's lease was lost (another replica may be running the supplier)."""
        ...
