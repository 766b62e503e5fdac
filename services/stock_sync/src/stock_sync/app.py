"""Wiring of stock_sync: consumers, publishers, stores and the scheduler on one ServiceRuntime.

Consumes the integrations (settings per supplier) and products (product -> NetSuite item
mappings, as order_sync does); publishes `netsuite.stock.changed` on `netsuite.stock-levels.v1`
from a supervised scheduler loop. `build_service` also returns the `StockSync` handle, whose
scheduler offers `run_now(supplier_id)` and `request_run(supplier_id)` for the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from om_contracts import (
    PRODUCTS_TOPIC,
    STOCK_LEVELS_TOPIC,
    IntegrationSettings,
    NetSuiteStockChanged,
    ProductUpserted,
)
from om_platform.decoding import contract_decoder
from om_platform.freshness import runs_freshness
from om_platform.integrations import IntegrationStore
from om_platform.kafka import EventPublisher, RecordContext
from om_platform.leases import LeaseStore
from om_platform.mappings import MappingStore
from om_platform.runtime import ServiceRuntime
from stock_sync.adapters.metrics import StockMetrics
from stock_sync.adapters.mongo import RUNS, MongoRuns, MongoSnapshots
from stock_sync.adapters.netsuite_gateway import NetSuiteStockReader
from stock_sync.adapters.products import StoredProductMap
from stock_sync.service_layer.ports import LeaseCheck
from stock_sync.service_layer.scheduler import StockScheduler
from stock_sync.service_layer.sync import StockRun
from stock_sync.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC)


class StockSync:
    """The service's long-lived parts; the scheduler exists once the runtime has started."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: Settings,
        integrations: IntegrationStore,
        mappings: MappingStore,
        publisher: EventPublisher,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.integrations = integrations
        self.mappings = mappings
        self.publisher = publisher
        self.metrics = StockMetrics(runtime.metrics.registry, runtime.metrics)
        self._scheduler: StockScheduler | None = None

    @property
    def scheduler(self) -> StockScheduler:
        if self._scheduler is None:
            raise RuntimeError("the scheduler is built in the lifespan; the runtime has not started")
        return self._scheduler

    async def start(self) -> None:
        db = self.runtime.db
        self.snapshots = MongoSnapshots(db)
        await self.snapshots.ensure_indexes()
        await self.mappings.ensure_indexes()
        self._scheduler = StockScheduler(
            integrations=self.integrations,
            runs=MongoRuns(db),
            leases=LeaseStore(db["leases"], owner=self.settings.instance_identity),
            make_run=self.make_run,
            clock=_now,
            max_concurrent_runs=self.settings.stock_max_concurrent_runs,
            lease_ttl_s=self.settings.stock_lease_ttl_s,
            on_finished=self.metrics.observe,
            owner=self.settings.instance_identity,
            connections=self.runtime.connections,
        )

    async def loop(self) -> None:
        await self.scheduler.loop(self.settings.stock_tick_s)

    def make_run(
        self, supplier_id: str, integration: IntegrationSettings, lease: LeaseCheck | None
    ) -> StockRun:
        session = self.runtime.netsuite.session(supplier_id, integration)
        return StockRun(
            supplier_id=supplier_id,
            integration=integration,
            reader=NetSuiteStockReader(
                session, item_types=self.settings.item_types(), page_size=self.settings.stock_page_size
            ),
            snapshots=self.snapshots,
            products=StoredProductMap(self.mappings),
            publish=self.publish,
            clock=_now,
            max_stripes=self.settings.stock_max_stripes,
            publish_concurrency=self.settings.stock_publish_concurrency,
            lease=lease,
        )

    async def publish(self, event: NetSuiteStockChanged) -> None:
        await self.publisher.publish(event, key=event.supplier_id)

    async def on_run_stock_command(
        self, supplier_id: str | None, args: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """`omctl run stock --supplier S`: run now here, or leave the trigger for the replica running it."""
        if not supplier_id:
            raise ValueError("run_stock needs a supplier id")
        report = await self.scheduler.run_now(supplier_id)
        if report is None:
            integration = await self.integrations.get(supplier_id)
            if integration is None or not integration.stock.enabled:
                raise ValueError(f"stock sync is not enabled for {supplier_id}")
            await self.scheduler.request_run(supplier_id)
            return {
                "outcome": "queued",
                "reason": "another replica is running this supplier; it runs again next",
            }
        return {
            "outcome": report.outcome,
            "code": report.code,
            "reason": report.reason,
            **report.counts.as_dict(),
        }

    async def on_product_upserted(self, event: ProductUpserted, ctx: RecordContext) -> None:
        """Remember the product's `netsuite_id` property (a mapping source, CONTRACTS.md)."""
        await self.mappings.record_entity(
            event.supplier_id,
            "product",
            event.data,
            name=event.data.name,
            occurred_at=event.occurred_at,
            event_id=event.event_id,
        )


def build_service(settings: Settings) -> tuple[ServiceRuntime, StockSync]:
    runtime = ServiceRuntime(settings, title="stock_sync", description=__doc__ or "")
    integrations = runtime.consume_integrations()
    mappings = MappingStore(runtime)
    publisher = runtime.publisher(
        STOCK_LEVELS_TOPIC,
        schema=NetSuiteStockChanged,
        description="Stock of a product at the configured NetSuite locations, published only when it changed.",
    )
    service = StockSync(runtime, settings, integrations, mappings, publisher)
    runtime.consume(
        PRODUCTS_TOPIC,
        decode=contract_decoder(PRODUCTS_TOPIC, lambda event: event.data.id),
        handle=service.on_product_upserted,
        limit_for=lambda _supplier: 8,
        description="Products: their netsuite_id property maps them to NetSuite items.",
    )
    runtime.on_start(service.start)
    runtime.freshness("stock_runs", lambda: runs_freshness(runtime.db[RUNS]))
    runtime.supervise("stock-scheduler", service.loop)
    runtime.serve_commands({"run_stock": service.on_run_stock_command})
    return runtime, service


def build(settings: Settings) -> ServiceRuntime:
    return build_service(settings)[0]
