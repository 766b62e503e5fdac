"""stock_sync's own ports; adapters implement them, unit tests fake them.

The ports every service shares (integrations, leases, publishing) are `om_platform.ports`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from om_contracts import IntegrationSettings
from stock_sync.domain.levels import ItemLevels, Published, StockView
from stock_sync.domain.run_report import RunReport
from stock_sync.domain.schedule import Schedule


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


class StockReaders(Protocol):
    """The `StockReader` of each supplier's NetSuite account."""

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> StockReader: ...


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


@dataclass(frozen=True, slots=True)
class InterruptedRun:
    """A run that ended without recording an outcome (a crash or a lost lease)."""

    owner: str | None
    started_at: datetime | None


class RunLog(Protocol):
    """Each supplier's schedule and current or last run (`stock_runs`)."""

    async def schedules(self, supplier_ids: Sequence[str]) -> dict[str, Schedule]:
        """The schedule of each supplier that has one (a supplier never run has none)."""
        ...

    async def request(self, supplier_id: str, at: datetime) -> None: ...

    async def waiting(self, supplier_id: str, since: datetime) -> None:
        """The supplier's runs are held back: its NetSuite connection is down (cleared at its next start)."""
        ...

    async def started(self, supplier_id: str, at: datetime, owner: str) -> InterruptedRun | None:
        """Mark the run started; returns the interrupted run it replaces (state still running)."""
        ...

    async def finished(self, report: RunReport, *, next_run_at: datetime) -> None:
        """Record the run's outcome and when the supplier is due next."""
        ...


Clock = Callable[[], datetime]
