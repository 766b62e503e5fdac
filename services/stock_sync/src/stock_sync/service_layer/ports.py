"""The ports the stock use cases need; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from om_contracts import IntegrationSettings, NetSuiteStockChanged
from stock_sync.domain.levels import ItemLevels, StockView


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
    """What was last published for one item: its fingerprint and the product it went to."""

    item_id: str
    product_id: str
    fingerprint: str
    view_key: str
    quantities: tuple[str, ...]
    event_id: str
    as_of: datetime


class SnapshotStore(Protocol):
    async def fingerprints(self, supplier_id: str, item_ids: Sequence[str]) -> dict[str, str]: ...

    async def save(self, supplier_id: str, snapshots: Sequence[Snapshot]) -> None: ...


class ProductMap(Protocol):
    async def products_for(
        self, supplier_id: str, integration: IntegrationSettings, item_ids: Iterable[str]
    ) -> dict[str, str]:
        """Ordermentum product id per mapped NetSuite item id (unmapped ones absent)."""
        ...


Publish = Callable[[NetSuiteStockChanged], Awaitable[None]]
Clock = Callable[[], datetime]
NewId = Callable[[], str]


class LeaseCheck(Protocol):
    def check(self) -> None:
        """Raise if the run's lease was lost (another replica may be running the supplier)."""
        ...
