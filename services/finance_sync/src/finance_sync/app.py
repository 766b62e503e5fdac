"""Wiring of finance_sync: consumers, publishers, stores and the hourly scheduler on one runtime."""

# The docstring above is the AsyncAPI document's description (keep it as it is). `wire` builds the
# adapters, the use cases and the entry points and registers them with the runtime; nothing here
# decides anything (see `entrypoints` and `service_layer`).

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from finance_sync.adapters.metrics import PrometheusRunMetrics
from finance_sync.adapters.mongo import (
    CURSORS,
    CursorCodec,
    InvoiceVersionStore,
    JobRuns,
    PublishedStore,
    ReconciliationLedger,
)
from finance_sync.adapters.netsuite_gateway import FinanceGateways
from finance_sync.adapters.time_zones import AccountZones
from finance_sync.domain.cursors import Cursor
from finance_sync.domain.features import Feature
from finance_sync.entrypoints import Entrypoints
from finance_sync.service_layer.feature_runs import FeatureRuns, FeedOptions
from finance_sync.service_layer.hourly_runs import EveryEnabledFeature, HourlyRuns, ScheduleOptions, SlotRuns
from finance_sync.service_layer.parked_redrive import ParkedRedrive
from finance_sync.service_layer.polling import WindowOptions
from finance_sync.service_layer.reconcile import Reconciler
from finance_sync.settings import Settings
from om_contracts import (
    CREDIT_NOTES_TOPIC,
    INVOICE_PAYMENTS_TOPIC,
    NETSUITE_INVOICES_TOPIC,
    PAYMENTS_TOPIC,
    RECONCILIATION_TOPIC,
    IntegrationSettings,
    InvoiceDocumentEvent,
    NetSuiteCreditNoteCreated,
    NetSuiteInvoicePaid,
    ReconciliationEvent,
)
from om_netsuite import NetSuiteSession
from om_platform.adapters.mongo.cursors import MongoCursors
from om_platform.adapters.mongo.database import late_collection
from om_platform.adapters.mongo.freshness import slots_freshness
from om_platform.adapters.mongo.integrations import IntegrationStore
from om_platform.adapters.mongo.leases import LeaseStore
from om_platform.adapters.mongo.mappings import MappingStore
from om_platform.core.connections import ConnectionView
from om_platform.core.decoding import contract_decoder
from om_platform.core.ports import Integrations, Leases
from om_platform.core.supplier_jobs import SupplierJobs
from om_platform.runtime import ServiceRuntime

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Wired:
    """The wired service: its runtime, entry points and what the CLI, benchmark and tests reach."""

    runtime: ServiceRuntime
    entrypoints: Entrypoints
    # The projections and stores (usable once the runtime started), for tests to look into:
    integrations: IntegrationStore
    mappings: MappingStore
    cursors: MongoCursors[Cursor]
    job_runs: JobRuns
    # (the feature runs' de-duplication and the reconciliation ledger)
    published: PublishedStore
    ledger: ReconciliationLedger
    versions: InvoiceVersionStore
    # The use cases tests and the benchmark drive directly:
    scheduler: HourlyRuns
    reconciler: Reconciler
    run_feature: FeatureRuns
    zones: AccountZones
    """Each account's learnt SuiteQL time-zone offset (``account_time_zones``)."""


def wire(settings: Settings, *, clock: Clock = _utc_now, owner: str | None = None) -> Wired:
    runtime = ServiceRuntime(settings, title="finance_sync", description=__doc__ or "")
    # Leases and job records carry the process identity: a restart takes its own leases back at once.
    identity = owner or settings.instance_identity
    integrations = runtime.consume_integrations()
    mappings = runtime.consume_mappings(
        ("customer", "product"),
        descriptions={
            "customer": "Customers, for the NetSuite customer mapping of payments and credit notes.",
            "product": "Products, to map NetSuite items on invoices and credit notes back to Ordermentum.",
        },
    )
    cursors = MongoCursors(late_collection(runtime, CURSORS), CursorCodec(), stream_field="feature")
    job_runs = JobRuns(runtime)
    published, ledger = PublishedStore(runtime), ReconciliationLedger(runtime)
    versions = InvoiceVersionStore(runtime)
    zones = AccountZones(runtime, timedelta(minutes=settings.finance_time_zone_relearn_minutes), clock)

    def session_for(supplier_id: str, integration: IntegrationSettings) -> NetSuiteSession:
        return runtime.netsuite.session(supplier_id, integration)  # built in the runtime's lifespan

    gateways = FinanceGateways(session_for, zones, settings.finance_page_size)

    run_feature = _feature_runs(runtime, settings, gateways, mappings, versions, cursors, published, clock)
    scheduler = _hourly(runtime, settings, integrations, job_runs, run_feature, clock, identity)
    reconciler = Reconciler(
        integrations=integrations,
        ledger=ledger,
        mappings=mappings,
        netsuite=gateways,
        publisher=runtime.publisher(RECONCILIATION_TOPIC, schema=ReconciliationEvent).publish,
    )
    redrive = ParkedRedrive(
        reconciler=reconciler,
        ledger=ledger,
        connections=runtime.connections,
        send=functools.partial(runtime.republish, PAYMENTS_TOPIC),
        retry_s=settings.finance_schedule_poll_s,
    )
    entrypoints = Entrypoints(reconciler, scheduler, redrive, cursors)

    runtime.consume(
        PAYMENTS_TOPIC,
        decode=contract_decoder(PAYMENTS_TOPIC, _payment_or_payout_id),
        handle=entrypoints.on_payment,
        # Twice the NetSuite budget in lanes: while some payments do their MongoDB bookkeeping the
        # others keep the budget's slots busy (the shared budget still caps NetSuite requests).
        limit_for=lambda supplier_id: 2 * integrations.limit_for(supplier_id),
        description="Payments and payouts recorded in NetSuite (auto-reconciliation); lane = payment/payout id.",
    )

    runtime.connections.on_recovered(entrypoints.on_connection_back)
    integrations.watch(entrypoints.on_settings_change)
    runtime.on_start(published.ensure_indexes)
    runtime.on_start(ledger.ensure_indexes)
    runtime.freshness("job_runs", lambda: slots_freshness(job_runs.collection))
    runtime.supervise("finance-scheduler", entrypoints.run_hourly_slots)
    runtime.supervise("finance-redrive", entrypoints.run_parked_redrive)
    runtime.serve_commands(
        {"run_finance": entrypoints.run_finance, "rewind_cursor": entrypoints.rewind_cursor}
    )
    return Wired(
        runtime, entrypoints, integrations, mappings, cursors, job_runs, published, ledger, versions,
        scheduler, reconciler, run_feature, zones,
    )  # fmt: skip


def _hourly(
    runtime: ServiceRuntime,
    settings: Settings,
    integrations: IntegrationStore,
    job_runs: JobRuns,
    run_feature: FeatureRuns,
    clock: Clock,
    identity: str,
) -> HourlyRuns:
    """The hourly slots of every supplier and their scheduler (leases carry the process identity)."""
    options = ScheduleOptions(
        owner=identity,
        lease_ttl_s=settings.finance_lease_ttl_s,
        max_catch_up_hours=settings.finance_max_catch_up_hours,
        concurrency=settings.finance_concurrent_runs,
        poll_s=settings.finance_schedule_poll_s,
    )
    slots = SlotRuns(job_runs=job_runs, run_window=run_feature, clock=clock, options=options)
    return HourlyRuns(
        integrations=integrations,
        jobs=hourly_jobs(
            integrations,
            LeaseStore(late_collection(runtime, "leases"), owner=identity),
            runtime.connections,
            slots,
            clock,
        ),
        slots=slots,
        connections=runtime.connections,
    )


def _feature_runs(
    runtime: ServiceRuntime,
    settings: Settings,
    gateways: FinanceGateways,
    mappings: MappingStore,
    versions: InvoiceVersionStore,
    cursors: MongoCursors[Cursor],
    published: PublishedStore,
    clock: Clock,
) -> FeatureRuns:
    """One window of a supplier's polled feature, published on the feature's topic."""
    invoices = runtime.publisher(NETSUITE_INVOICES_TOPIC, schema=InvoiceDocumentEvent)
    return FeatureRuns(
        netsuite=gateways,
        mappings=mappings,
        versions=versions,
        cursors=cursors,
        published=published,
        publishers={
            Feature.FINALISED_INVOICES: invoices.publish,
            Feature.INVOICE_CHANGES: invoices.publish,
            Feature.CREDIT_NOTES: runtime.publisher(
                CREDIT_NOTES_TOPIC, schema=NetSuiteCreditNoteCreated
            ).publish,
            Feature.PAID_INVOICES: runtime.publisher(
                INVOICE_PAYMENTS_TOPIC, schema=NetSuiteInvoicePaid
            ).publish,
        },
        metrics=PrometheusRunMetrics(runtime.metrics),
        window=WindowOptions(
            overlap=timedelta(minutes=settings.finance_overlap_minutes),
            max_rows=settings.finance_max_rows_per_run,
            page_size=settings.finance_page_size,
            initial_lookback=timedelta(hours=settings.finance_initial_lookback_hours),
        ),
        options=FeedOptions(
            default_currency=settings.finance_default_currency,
            paid_lookback=timedelta(days=settings.finance_paid_invoice_max_age_days),
        ),
        clock=clock,
    )


def hourly_jobs(
    integrations: Integrations, leases: Leases, connections: ConnectionView, slots: SlotRuns, clock: Clock
) -> SupplierJobs[list[datetime]]:
    """The hourly schedule's runner: `slots.run_slots` for every enabled feature of every
    configured supplier, under the lease ``finance:<feature>:<supplier>``."""
    return SupplierJobs(
        "finance",
        integrations=integrations,
        leases=leases,
        due=EveryEnabledFeature(),
        run=slots.run_slots,
        connections=connections,
        clock=clock,
        concurrency=slots.options.concurrency,
        lease_ttl_s=slots.options.lease_ttl_s,
        tick_s=slots.options.poll_s,
        rounds=True,
    )


def _payment_or_payout_id(event: Any) -> str:
    """The lane of a payments event: events of one payment or payout apply in order."""
    return str(event.data.id)


def build(settings: Settings) -> ServiceRuntime:
    return wire(settings).runtime
