"""Wiring of order_sync: consumers, publishers, stores, use cases and jobs on one ServiceRuntime.

Consumes ordermentum.orders.v1 and ordermentum.invoices.v1 (one lane per order/invoice, up to the
supplier's NetSuite concurrency limit), ordermentum.customers.v1 / ordermentum.products.v1 (the
mapping store) and the integrations topic; publishes netsuite.sync-results.v1 and
netsuite.catalog.v1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from om_contracts import (
    CATALOG_TOPIC,
    INVOICES_TOPIC,
    ORDERS_TOPIC,
    SYNC_RESULTS_TOPIC,
    CatalogEvent,
    SyncResultEvent,
    new_event_id,
)
from om_platform.adapters.currencies import currency_ids
from om_platform.adapters.mongo.freshness import ledger_freshness
from om_platform.adapters.mongo.integrations import IntegrationStore
from om_platform.adapters.mongo.leases import LeaseStore
from om_platform.adapters.mongo.mappings import MappingStore
from om_platform.adapters.mongo.reference_data import ReferenceDataStore, Refresher
from om_platform.core.decoding import contract_decoder
from om_platform.core.settings_changes import SettingsChange
from om_platform.core.supplier_jobs import EverySupplier, SupplierJobs
from om_platform.runtime import ServiceRuntime
from order_sync.adapters.counters import PrometheusCounters
from order_sync.adapters.cursors import MongoCursors
from order_sync.adapters.heal_requests import MongoHealRequests
from order_sync.adapters.ledger import MongoLedger
from order_sync.adapters.mappings import FreshIntegrations, StoreMappings
from order_sync.adapters.netsuite_gateway import Gateways
from order_sync.entrypoints import Deps, Entrypoints
from order_sync.service_layer.catalog import CatalogDeps
from order_sync.service_layer.heal import HealDeps
from order_sync.service_layer.sync import SyncDeps
from order_sync.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Wired:
    """The wired service: its runtime, its entry points and the stores tests look into."""

    runtime: ServiceRuntime
    settings: Settings
    entrypoints: Entrypoints
    integrations: IntegrationStore
    mappings: MappingStore


def wire(settings: Settings, *, clock: Callable[[], datetime] = _now, owner: str | None = None) -> Wired:
    """Build order_sync on a runtime; its stores open once the runtime has started (its lifespan)."""
    runtime = ServiceRuntime(settings, title="order_sync", description=__doc__ or "")
    integrations = runtime.consume_integrations()
    counters = PrometheusCounters(runtime.metrics.registry, runtime.metrics.failures)
    results = runtime.publisher(
        SYNC_RESULTS_TOPIC, schema=SyncResultEvent, description="Outcome of every order/invoice event."
    )
    catalog_events = runtime.publisher(
        CATALOG_TOPIC, schema=CatalogEvent, description="NetSuite customers and items that changed."
    )
    entrypoints = Entrypoints(settings, runtime.metrics.job_seconds)
    refreshers: list[Refresher] = []  # the one refresher, built once MongoDB is connected

    async def on_settings_change(supplier_id: str, change: SettingsChange) -> None:
        for refresher in refreshers:  # a newly configured account: its currencies, off the order path
            await refresher.on_settings_change(supplier_id, change)

    async def run_reference_data() -> None:
        await refreshers[0].run(runtime.integrations_ready)

    async def start() -> None:
        db = runtime.db
        ledger = MongoLedger(
            db["ledger"], window_s=settings.ledger_window_s, limit_for=integrations.limit_for
        )
        await ledger.ensure_indexes()
        heal_requests = MongoHealRequests(db["heal_requests"])
        await heal_requests.ensure_indexes()
        references = ReferenceDataStore(
            db["reference_data"], {"currencies": currency_ids}, refresh_s=settings.reference_refresh_s
        )
        refreshers.append(
            Refresher(
                references,
                integrations,
                runtime.netsuite.session,
                scan_s=settings.reference_scan_s,
                concurrency=settings.reference_concurrency,
            )
        )
        gateways = Gateways(runtime.netsuite.session, references, read_window_s=settings.tranid_read_window_s)
        sync = SyncDeps(
            ledger=ledger,
            integrations=integrations,
            mappings=StoreMappings(mappings),
            netsuite=gateways,
            publish=results.publish,
            counters=counters,
            new_event_id=new_event_id,
            clock=clock,
        )
        leases = LeaseStore(db["leases"], owner=owner or settings.instance_identity)
        entrypoints.start(
            Deps(
                sync=sync,
                heal=HealDeps(
                    sync=dataclasses.replace(sync, integrations=FreshIntegrations(integrations)),
                    requests=heal_requests,
                    claim_ttl_s=settings.resync_claim_ttl_s,
                    connections=runtime.connections,
                ),
                catalog=CatalogDeps(
                    cursors=MongoCursors(db["catalog_cursors"]),
                    mappings=mappings,
                    publish=catalog_events.publish,
                    integrations=integrations,
                    netsuite=gateways,
                    new_event_id=new_event_id,
                    clock=clock,
                    overlap_s=settings.catalog_overlap_s,
                ),
                catalog_jobs=SupplierJobs(
                    "order_sync.catalog",  # leases `order_sync.catalog:<supplier>`
                    integrations=integrations,
                    leases=leases,
                    due=EverySupplier(),
                    run=entrypoints.run_catalog_job,
                    connections=runtime.connections,
                    clock=clock,
                    concurrency=1,  # one supplier after another
                    lease_ttl_s=settings.catalog_lease_ttl_s,
                    tick_s=settings.catalog_interval_s,
                    rounds=True,
                    on_round=entrypoints.on_catalog_round,
                ),
                leases=leases,
                connections=runtime.connections,
            )
        )

    runtime.on_start(start)  # before the supervised jobs start, which use what it builds
    for topic in (ORDERS_TOPIC, INVOICES_TOPIC):
        runtime.consume(
            topic,
            decode=contract_decoder(topic, lambda event: event.data.id),
            handle=entrypoints.on_transaction_event,
            # More records in flight than NetSuite slots: each also spends time in MongoDB, the
            # broker and the tranId batch; the NetSuite budget still admits `limit` requests.
            limit_for=lambda supplier_id: (
                settings.records_per_netsuite_slot * integrations.limit_for(supplier_id)
            ),
        )
    mappings = runtime.consume_mappings(
        on_mapping=entrypoints.on_mapping if settings.heal_enabled else None,
        lanes=16,  # MongoDB only; no NetSuite budget involved
        descriptions={"customer": None, "product": None},
    )
    runtime.freshness("ledger", lambda: ledger_freshness(runtime.db["ledger"]))
    runtime.serve_commands(
        {
            "resync": entrypoints.on_resync_command,
            "run_catalog": entrypoints.on_catalog_command,
            "heal": entrypoints.on_heal_command,
        }
    )
    integrations.watch(on_settings_change)
    runtime.supervise("reference_data", run_reference_data)  # starts after `start`, which builds it
    if settings.catalog_enabled:
        runtime.supervise("catalog", entrypoints.run_catalog)
    if settings.heal_enabled:
        integrations.watch(entrypoints.on_settings_change)
        runtime.connections.on_recovered(entrypoints.on_connection_back)
        runtime.supervise("heal", entrypoints.run_heal)
    return Wired(
        runtime=runtime,
        settings=settings,
        entrypoints=entrypoints,
        integrations=integrations,
        mappings=mappings,
    )


def build(settings: Settings) -> ServiceRuntime:
    return wire(settings).runtime
