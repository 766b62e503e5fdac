"""Wiring of order_sync: consumers, publishers, stores, use cases and jobs on one ServiceRuntime.

Consumes ordermentum.orders.v1 and ordermentum.invoices.v1 (one lane per order/invoice, up to the
supplier's NetSuite concurrency limit), ordermentum.customers.v1 / ordermentum.products.v1 (the
mapping store) and the integrations topic; publishes netsuite.sync-results.v1 and
netsuite.catalog.v1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from om_contracts import (
    CATALOG_TOPIC,
    INVOICES_TOPIC,
    ORDERS_TOPIC,
    SYNC_RESULTS_TOPIC,
    CatalogEvent,
    IntegrationSettings,
    SyncResultEvent,
    new_event_id,
)
from om_netsuite import NetSuiteSession
from om_platform.adapters.currencies import currency_ids
from om_platform.adapters.mongo.cursors import MongoCursors
from om_platform.adapters.mongo.database import late_collection
from om_platform.adapters.mongo.freshness import ledger_freshness
from om_platform.adapters.mongo.integrations import IntegrationStore
from om_platform.adapters.mongo.leases import LeaseStore
from om_platform.adapters.mongo.mappings import MappingStore
from om_platform.adapters.mongo.reference_data import ReferenceDataStore, Refresher
from om_platform.core.decoding import contract_decoder
from om_platform.core.mappings import Kind, MappedEntity
from om_platform.core.supplier_jobs import EverySupplier, JobOutcome, SupplierJobs
from om_platform.runtime import ServiceRuntime
from order_sync.adapters.counters import PrometheusCounters
from order_sync.adapters.cursors import HighWaterCodec
from order_sync.adapters.heal_requests import MongoHealRequests
from order_sync.adapters.ledger import MongoLedger
from order_sync.adapters.mappings import FreshIntegrations, StoreMappings
from order_sync.adapters.netsuite_gateway import Gateways
from order_sync.entrypoints import Entrypoints
from order_sync.service_layer.catalog import CatalogRefresh
from order_sync.service_layer.heal import Healing
from order_sync.service_layer.resync import Resync
from order_sync.service_layer.sync import TransactionSync
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


@dataclass(frozen=True)
class _Adapters:
    """What the use cases run over, built once at wiring (MongoDB is reached at first use)."""

    ledger: MongoLedger
    heal_requests: MongoHealRequests
    references: ReferenceDataStore
    refresher: Refresher
    gateways: Gateways
    leases: LeaseStore
    cursors: MongoCursors[str]


def _adapters(
    runtime: ServiceRuntime, settings: Settings, integrations: IntegrationStore, owner: str
) -> _Adapters:
    def session_for(supplier_id: str, integration: IntegrationSettings) -> NetSuiteSession:
        return runtime.netsuite.session(supplier_id, integration)  # built in the runtime's lifespan

    references = ReferenceDataStore(
        late_collection(runtime, "reference_data"),
        {"currencies": currency_ids},
        refresh_s=settings.reference_refresh_s,
    )
    return _Adapters(
        ledger=MongoLedger(
            late_collection(runtime, "ledger"),
            window_s=settings.ledger_window_s,
            limit_for=integrations.limit_for,
        ),
        heal_requests=MongoHealRequests(late_collection(runtime, "heal_requests")),
        references=references,
        refresher=Refresher(
            references,
            integrations,
            session_for,
            scan_s=settings.reference_scan_s,
            concurrency=settings.reference_concurrency,
        ),
        gateways=Gateways(session_for, references, read_window_s=settings.tranid_read_window_s),
        leases=LeaseStore(late_collection(runtime, "leases"), owner=owner),
        cursors=MongoCursors(
            late_collection(runtime, "catalog_cursors"), HighWaterCodec(), stream_field="kind"
        ),
    )


def _entrypoints(
    runtime: ServiceRuntime,
    settings: Settings,
    integrations: IntegrationStore,
    mappings: MappingStore,
    adapters: _Adapters,
    clock: Callable[[], datetime],
) -> Entrypoints:
    results = runtime.publisher(
        SYNC_RESULTS_TOPIC, schema=SyncResultEvent, description="Outcome of every order/invoice event."
    )
    catalog_events = runtime.publisher(
        CATALOG_TOPIC, schema=CatalogEvent, description="NetSuite customers and items that changed."
    )
    sync = TransactionSync(
        ledger=adapters.ledger,
        integrations=integrations,
        mappings=StoreMappings(mappings),
        netsuite=adapters.gateways,
        publish=results.publish,
        counters=PrometheusCounters(runtime.metrics.registry, runtime.metrics.failures),
        new_event_id=new_event_id,
        clock=clock,
    )
    fresh = Resync(
        TransactionSync(**{**vars(sync), "integrations": FreshIntegrations(integrations)}),
        claim_ttl_s=settings.resync_claim_ttl_s,
    )
    catalog = CatalogRefresh(
        cursors=adapters.cursors,
        mappings=mappings,
        publish=catalog_events.publish,
        integrations=integrations,
        netsuite=adapters.gateways,
        new_event_id=new_event_id,
        clock=clock,
        overlap_s=settings.catalog_overlap_s,
    )
    job_seconds = runtime.metrics.job_seconds

    async def on_catalog_round(_outcomes: Sequence[JobOutcome[int]], seconds: float) -> None:
        job_seconds.labels("catalog", "succeeded").observe(seconds)

    return Entrypoints(
        sync=sync,
        resync=fresh,
        heal=Healing(
            fresh,
            adapters.heal_requests,
            adapters.leases,
            runtime.connections,
            poll_s=settings.heal_poll_s,
            lease_ttl_s=settings.heal_lease_ttl_s,
        ),
        recheck=settings.heal_enabled,
        catalog=catalog,
        catalog_jobs=SupplierJobs(
            "order_sync.catalog",  # leases `order_sync.catalog:<supplier>`
            integrations=integrations,
            leases=adapters.leases,
            due=EverySupplier(),
            run=catalog.run_job,
            connections=runtime.connections,
            clock=clock,
            concurrency=1,  # one supplier after another
            lease_ttl_s=settings.catalog_lease_ttl_s,
            tick_s=settings.catalog_interval_s,
            rounds=True,
            on_round=on_catalog_round,
        ),
    )


def wire(settings: Settings, *, clock: Callable[[], datetime] = _now, owner: str | None = None) -> Wired:
    """Build order_sync on a runtime; its stores reach MongoDB once the runtime has started."""
    runtime = ServiceRuntime(settings, title="order_sync", description=__doc__ or "")
    integrations = runtime.consume_integrations()

    async def on_mapping(supplier_id: str, kind: Kind, entity: MappedEntity) -> None:
        await entrypoints.on_mapping(supplier_id, kind, entity)  # built below, before anything runs

    mappings = runtime.consume_mappings(
        on_mapping=on_mapping if settings.heal_enabled else None,
        lanes=16,  # MongoDB only; no NetSuite budget involved
        descriptions={"customer": None, "product": None},
    )
    adapters = _adapters(runtime, settings, integrations, owner or settings.instance_identity)
    entrypoints = _entrypoints(runtime, settings, integrations, mappings, adapters, clock)
    runtime.on_start(adapters.ledger.ensure_indexes)
    runtime.on_start(adapters.heal_requests.ensure_indexes)
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
    runtime.freshness("ledger", lambda: ledger_freshness(runtime.db["ledger"]))
    runtime.serve_commands(
        {
            "resync": entrypoints.on_resync_command,
            "run_catalog": entrypoints.on_catalog_command,
            "heal": entrypoints.on_heal_command,
        }
    )
    integrations.watch(
        adapters.refresher.on_settings_change
    )  # a new account's currencies, off the order path
    runtime.supervise("reference_data", lambda: adapters.refresher.run(runtime.integrations_ready))
    if settings.catalog_enabled:
        runtime.supervise("catalog", entrypoints.run_catalog)
    if settings.heal_enabled:
        integrations.watch(entrypoints.on_settings_change)
        runtime.connections.on_recovered(entrypoints.on_connection_back)
        runtime.supervise("heal", entrypoints.run_heal)
    return Wired(runtime, settings, entrypoints, integrations, mappings)


def build(settings: Settings) -> ServiceRuntime:
    return wire(settings).runtime
