"""One stock run for one supplier: read NetSuite page by page, publish what changed, snapshot it.

Order per page (at-least-once, never lossy): compare the page against the stored snapshots (one
query), mark the changes of already published items pending, publish the changed items and await
the broker, then write their snapshots. A NetSuite failure mid-scan leaves every earlier page
fully published and snapshotted, and nothing of the failing page published, so the next run
publishes exactly what is still different. A crash between publish and save republishes those
items under the same event ids (their change numbers did not advance), and the pending marks
make the next run publish an item that went back to its snapshot's levels in the meantime
(consumers may have seen the lost change).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from om_contracts import IntegrationSettings, NetSuiteStockChanged
from om_platform.core.ports import LeaseCheck, Publish
from stock_sync.domain.levels import (
    ItemLevels,
    Published,
    StockView,
    canonical,
    fingerprint,
    next_change,
    stock_event,
    stock_event_id,
)
from stock_sync.domain.run_report import RunCounts
from stock_sync.domain.stripes import stripe_count, stripes
from stock_sync.service_layer.ports import Clock, ProductMap, Snapshot, SnapshotStore, StockReader

log = logging.getLogger(__name__)


class UnknownLocations(Exception):
    def __init__(self, unknown: list[str]) -> None:
        super().__init__(f"NetSuite does not know location id(s) {', '.join(unknown)}")
        self.unknown = unknown


@dataclass(frozen=True)
class ScanLimits:
    """What one scan may have in flight: stripes scanned at once (at most; otherwise twice the
    supplier's concurrency limit) and stock events awaiting the broker per stripe."""

    max_stripes: int = 5
    publish_concurrency: int = 16


@dataclass
class StockRun:
    """The ports and parameters of one run (built by `StockRuns` for each run)."""

    supplier_id: str
    integration: IntegrationSettings
    reader: StockReader
    snapshots: SnapshotStore
    products: ProductMap
    publish: Publish
    clock: Clock
    limits: ScanLimits = ScanLimits()
    lease: LeaseCheck | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    _stopping: bool = False
    _pending: dict[str, Published] = field(default_factory=dict)
    _marked: bool = False

    async def execute(self) -> RunCounts:
        """Run the scan; raises `BadConfiguration`, `UnknownLocations` or `StockReadFailed`."""
        view = StockView.from_settings(self.integration.stock)
        # Both cheap queries at once: one latency instead of two before the scan starts.
        known, bounds, self._pending = await asyncio.gather(
            self.reader.known_locations(view.location_ids),
            self.reader.id_range(),
            self.snapshots.pending(self.supplier_id),
        )
        self._marked = bool(self._pending)
        unknown = [location for location in view.location_ids if location not in known]
        if unknown:
            raise UnknownLocations(unknown)
        if bounds is None:
            return self.counts
        # Keyset paging is sequential, so the id range is split into stripes scanned concurrently;
        # the shared budget, not the stripe count, bounds the requests in flight.
        parts = stripes(
            bounds[0], bounds[1], stripe_count(self.integration.concurrency_limit, self.limits.max_stripes)
        )
        self.counts.stripes = len(parts)
        # Not a TaskGroup: when one stripe fails, the others finish the page they are publishing
        # (cancelling it halfway would publish events whose snapshots are never written) and stop.
        results = await asyncio.gather(
            *(self._stripe(view, after, up_to) for after, up_to in parts), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if self._marked:
            await self.snapshots.clear_pending(self.supplier_id)
        return self.counts

    async def _stripe(self, view: StockView, after: int, up_to: int) -> None:
        try:
            async for page in _prefetched(self.reader.pages(view, after, up_to)):
                if self._stopping:
                    return
                if self.lease is not None:
                    self.lease.check()
                await self._page(view, page)
        except Exception:
            self._stopping = True
            raise

    async def _page(self, view: StockView, page: list[ItemLevels]) -> None:
        as_of = self.clock()
        self.counts.pages += 1
        self.counts.items += len(page)
        products = await self.products.products_for(
            self.supplier_id, self.integration, (levels.item_id for levels in page)
        )
        mapped = [levels for levels in page if levels.item_id in products]
        unmapped = len(page) - len(mapped)
        if unmapped:
            self.counts.unmapped += unmapped
            room = 20 - len(self.counts.unmapped_sample)
            if room > 0:
                self.counts.unmapped_sample.extend(
                    [levels.item_id for levels in page if levels.item_id not in products][:room]
                )
        if not mapped:
            return
        stored = await self.snapshots.published(self.supplier_id, [levels.item_id for levels in mapped])
        changed: list[Snapshot] = []
        for levels in mapped:
            product_id = products[levels.item_id]
            digest = fingerprint(view, product_id, levels)
            seq = next_change(digest, stored.get(levels.item_id), self._pending.get(levels.item_id))
            if seq is None:
                continue
            changed.append(
                Snapshot(
                    item_id=levels.item_id,
                    product_id=product_id,
                    fingerprint=digest,
                    seq=seq,
                    view_key=view.key,
                    quantities=tuple(canonical(q) for q in levels.quantities),
                    event_id=stock_event_id(self.supplier_id, product_id, view, seq, digest),
                    as_of=as_of,
                )
            )
        self.counts.unchanged += len(mapped) - len(changed)
        if not changed:
            return
        # Only an item consumers already know can go back to a level they no longer hold (a first
        # publication has no earlier level), so only those changes are marked before publishing.
        updates = [snap for snap in changed if snap.item_id in stored]
        if updates:
            await self.snapshots.mark_pending(self.supplier_id, updates)
            self._marked = True
        by_item = {levels.item_id: levels for levels in mapped}
        events = [
            stock_event(
                supplier_id=self.supplier_id,
                product_id=snap.product_id,
                levels=by_item[snap.item_id],
                view=view,
                as_of=as_of,
                event_id=snap.event_id,
            )
            for snap in changed
        ]
        # Every event of the page is confirmed by the broker before any snapshot is written. A few
        # dozen sends in flight fill the producer's batches; thousands only make them spin.
        window = asyncio.Semaphore(self.limits.publish_concurrency)

        async def send(event: NetSuiteStockChanged) -> None:
            async with window:
                await self.publish(event, key=self.supplier_id)

        await asyncio.gather(*(send(event) for event in events))
        self.counts.published += len(events)
        await self.snapshots.save(self.supplier_id, changed)


async def _prefetched(pages: AsyncIterator[list[ItemLevels]]) -> AsyncIterator[list[ItemLevels]]:
    """Fetch the next page while the current one is compared and published (one page ahead)."""
    queue: asyncio.Queue[list[ItemLevels] | BaseException | None] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        try:
            async for page in pages:
                await queue.put(page)
        except Exception as exc:  # handed to the consumer, which re-raises it
            await queue.put(exc)
            return
        await queue.put(None)

    task = asyncio.create_task(pump())
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()
        # asyncio.wait neither raises the pump's cancellation nor swallows our own.
        await asyncio.wait([task])
