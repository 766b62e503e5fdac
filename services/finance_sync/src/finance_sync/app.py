"""Wiring of finance_sync: consumers, publishers, stores and the hourly scheduler on one runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from finance_sync.adapters.mongo import (
    CursorStore,
    InvoiceVersionStore,
    JobRuns,
    PublishedStore,
    ReconciliationLedger,
)
from finance_sync.adapters.netsuite_gateway import FinanceGateway
from finance_sync.domain.schedule import Feature, enabled_features
from finance_sync.service_layer.features import feed
from finance_sync.service_layer.polling import RunResult, WindowOptions, run_window
from finance_sync.service_layer.reconcile import Reconciler
from finance_sync.service_layer.scheduling import FinanceScheduler, RunWindow, ScheduleOptions, rewind_cursor
from finance_sync.settings import Settings
from om_contracts import (
    CREDIT_NOTES_TOPIC,
    CUSTOMERS_TOPIC,
    INVOICE_PAYMENTS_TOPIC,
    NETSUITE_INVOICES_TOPIC,
    PAYMENTS_TOPIC,
    PRODUCTS_TOPIC,
    RECONCILIATION_TOPIC,
    CustomerUpserted,
    IntegrationSettings,
    InvoiceDocumentEvent,
    NetSuiteCreditNoteCreated,
    NetSuiteInvoicePaid,
    ProductUpserted,
    ReconciliationEvent,
)
from om_platform.decoding import contract_decoder
from om_platform.freshness import slots_freshness
from om_platform.integrations import IntegrationStore, SettingsChange
from om_platform.kafka import EventPublisher, RecordContext
from om_platform.leases import Lease, LeaseStore
from om_platform.mappings import MappingStore
from om_platform.runtime import ServiceRuntime

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FinanceService:
    """Everything the service wires, for the entry point, the CLI and the tests."""

    runtime: ServiceRuntime
    integrations: IntegrationStore
    mappings: MappingStore
    cursors: CursorStore
    job_runs: JobRuns
    published: PublishedStore
    ledger: ReconciliationLedger
    scheduler: FinanceScheduler
    reconciler: Reconciler
    run_feature: RunWindow
    versions: InvoiceVersionStore

    async def run_now(self, supplier_id: str, feature: Feature) -> RunResult:
        """Run one supplier's feature up to now (what `omctl finance run-now` calls)."""
        integration = await self.integrations.get(supplier_id)
        if integration is None:
            raise LookupError(f"supplier {supplier_id} has no NetSuite integration")
        return await self.scheduler.run_now(supplier_id, integration, feature)

    async def command_run(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl run finance <supplier> [--feature F]`: the feature, or every enabled one, now."""
        if not supplier_id:
            raise ValueError("run_finance needs a supplier id")
        integration = await self.integrations.get(supplier_id)
        if integration is None:
            raise LookupError(f"supplier {supplier_id} has no NetSuite integration")
        features = [Feature(args["feature"])] if args.get("feature") else enabled_features(integration)
        result: dict[str, Any] = {}
        for feature in features:
            run = await self.scheduler.run_now(supplier_id, integration, feature)
            result[str(feature)] = {"rows": run.rows, "published": run.published}
        return result

    async def command_rewind(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl cursor rewind <supplier> --service finance_sync --job F --to T`."""
        if not supplier_id:
            raise ValueError("rewind_cursor needs a supplier id")
        feature = Feature(args["job"])
        to = datetime.fromisoformat(str(args["to"]))
        if to.tzinfo is None:
            raise ValueError("the rewind time needs an offset (RFC 3339)")
        await rewind_cursor(self.cursors, supplier_id, feature, to)
        return {"job": str(feature), "to": to.astimezone(UTC).isoformat()}


def build_service(settings: Settings, *, clock: Clock = _utc_now, owner: str | None = None) -> FinanceService:
    runtime = ServiceRuntime(settings, title="finance_sync", description=__doc__ or "")
    # Leases and job records carry the process identity: a restart takes its own leases back at once.
    identity = owner or settings.instance_identity
    integrations = runtime.consume_integrations()
    mappings = MappingStore(runtime)
    cursors, job_runs = CursorStore(runtime), JobRuns(runtime)
    published, ledger = PublishedStore(runtime), ReconciliationLedger(runtime)
    versions = InvoiceVersionStore(runtime)
    invoices = runtime.publisher(NETSUITE_INVOICES_TOPIC, schema=InvoiceDocumentEvent)
    publishers = {
        Feature.FINALISED_INVOICES: invoices,
        Feature.INVOICE_CHANGES: invoices,
        Feature.CREDIT_NOTES: runtime.publisher(CREDIT_NOTES_TOPIC, schema=NetSuiteCreditNoteCreated),
        Feature.PAID_INVOICES: runtime.publisher(INVOICE_PAYMENTS_TOPIC, schema=NetSuiteInvoicePaid),
    }
    reconciliation: EventPublisher = runtime.publisher(RECONCILIATION_TOPIC, schema=ReconciliationEvent)
    window = WindowOptions(
        overlap=timedelta(minutes=settings.finance_overlap_minutes),
        max_rows=settings.finance_max_rows_per_run,
        page_size=settings.finance_page_size,
        initial_lookback=timedelta(hours=settings.finance_initial_lookback_hours),
    )

    def gateway(supplier_id: str, integration: IntegrationSettings) -> FinanceGateway:
        return FinanceGateway(runtime.netsuite.session(supplier_id, integration), settings.finance_page_size)

    async def run_feature(
        supplier_id: str, integration: IntegrationSettings, feature: Feature, until: datetime
    ) -> RunResult:
        fetch = feed(
            feature,
            supplier_id,
            integration,
            gateway(supplier_id, integration),
            mappings,
            default_currency=settings.finance_default_currency,
            paid_lookback=timedelta(days=settings.finance_paid_invoice_max_age_days),
            versions=versions,
        )
        started = time.monotonic()
        outcome = "failed"
        try:
            result = await run_window(
                supplier_id,
                str(feature),
                until,
                fetch,
                cursors=cursors,
                published=published,
                publisher=publishers[feature],
                options=window,
            )
            outcome = "complete" if result.complete else "partial"
            return result
        finally:
            job = f"finance.{feature}"
            runtime.metrics.job_seconds.labels(job, outcome).observe(time.monotonic() - started)
            # How far behind the window just worked is: ~0 on the hour, hours while catching up.
            runtime.metrics.cursor_age_seconds.labels(job).set((clock() - until).total_seconds())

    scheduler = FinanceScheduler(
        connections=runtime.connections,
        integrations=integrations,
        leases=_RuntimeLeases(runtime, identity),
        cursors=cursors,
        job_runs=job_runs,
        run_window=run_feature,
        clock=clock,
        options=ScheduleOptions(
            owner=identity,
            lease_ttl_s=settings.finance_lease_ttl_s,
            max_catch_up_hours=settings.finance_max_catch_up_hours,
            concurrency=settings.finance_concurrent_runs,
        ),
    )
    reconciler = Reconciler(
        integrations=integrations,
        ledger=ledger,
        mappings=mappings,
        gateway_for=gateway,
        publisher=reconciliation,
    )

    async def on_customer(event: CustomerUpserted, ctx: RecordContext) -> None:
        await mappings.record_entity(
            event.supplier_id, "customer", event.data, name=event.data.name,
            occurred_at=event.occurred_at, event_id=event.event_id,
        )  # fmt: skip

    async def on_product(event: ProductUpserted, ctx: RecordContext) -> None:
        await mappings.record_entity(
            event.supplier_id, "product", event.data, name=event.data.name,
            occurred_at=event.occurred_at, event_id=event.event_id,
        )  # fmt: skip

    def by_id(event: Any) -> str:
        return str(event.data.id)

    runtime.consume(
        CUSTOMERS_TOPIC,
        decode=contract_decoder(CUSTOMERS_TOPIC, by_id),
        handle=on_customer,
        limit_for=lambda _supplier: 8,
        description="Customers, for the NetSuite customer mapping of payments and credit notes.",
    )
    runtime.consume(
        PRODUCTS_TOPIC,
        decode=contract_decoder(PRODUCTS_TOPIC, by_id),
        handle=on_product,
        limit_for=lambda _supplier: 8,
        description="Products, to map NetSuite items on invoices and credit notes back to Ordermentum.",
    )
    runtime.consume(
        PAYMENTS_TOPIC,
        decode=contract_decoder(PAYMENTS_TOPIC, by_id),
        handle=reconciler.handle,
        # Twice the NetSuite budget in lanes: while some payments do their MongoDB bookkeeping the
        # others keep the budget's slots busy (the shared budget still caps NetSuite requests).
        limit_for=lambda supplier_id: 2 * integrations.limit_for(supplier_id),
        description="Payments and payouts recorded in NetSuite (auto-reconciliation); lane = payment/payout id.",
    )

    async def ensure_indexes() -> None:
        await mappings.ensure_indexes()
        await published.ensure_indexes()
        await ledger.ensure_indexes()

    wake = asyncio.Event()

    async def redrive(supplier_id: str, value: bytes) -> None:
        await runtime.republish(PAYMENTS_TOPIC, supplier_id, value)

    # Suppliers whose parked payment events are to be sent again: the listeners only note them (they
    # run inside the request or poll that saw the change); a supervised loop sends them.
    to_redrive: set[str] = set()
    redrive_wanted = asyncio.Event()

    def want_redrive(supplier_id: str) -> None:
        to_redrive.add(supplier_id)
        redrive_wanted.set()

    async def on_connection_back(supplier_id: str) -> None:
        wake.set()  # the slots skipped while the connection was down run now, not at the next poll
        want_redrive(supplier_id)

    async def on_settings_change(supplier_id: str, change: SettingsChange) -> None:
        # New credentials may pass where the old were refused; an open breaker waits for its probe.
        if change.credentials and not runtime.connections.is_open(supplier_id):
            want_redrive(supplier_id)

    async def redrive_forever() -> None:
        # At start: what a recovery seen by no running replica left parked (breaker closed now).
        parked = sorted({entry["supplier_id"] for entry in await ledger.parked()})
        for supplier_id, status in (await runtime.connections.load(parked)).items():
            if not status.breaker_open:
                want_redrive(supplier_id)
        while True:
            await redrive_wanted.wait()
            redrive_wanted.clear()
            for supplier_id in sorted(to_redrive):
                to_redrive.discard(supplier_id)
                try:
                    await reconciler.redrive_parked(supplier_id, redrive)
                except Exception:
                    log.exception("sending parked payments again failed", extra={"supplier_id": supplier_id})
                    to_redrive.add(supplier_id)
            if to_redrive:
                await asyncio.sleep(settings.finance_schedule_poll_s)  # a failed send: try again later
                redrive_wanted.set()

    runtime.connections.on_recovered(on_connection_back)
    integrations.watch(on_settings_change)

    async def schedule_forever() -> None:
        while True:
            wake.clear()
            try:
                await scheduler.tick()
            except Exception:
                # Listing suppliers failed (MongoDB blip): nothing was marked done, so the next
                # tick runs the same slots; per-supplier failures are handled inside tick().
                log.exception("finance scheduler tick failed; retrying at the next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), settings.finance_schedule_poll_s)

    service = FinanceService(
        runtime,
        integrations,
        mappings,
        cursors,
        job_runs,
        published,
        ledger,
        scheduler,
        reconciler,
        run_feature,
        versions,
    )
    runtime.on_start(ensure_indexes)
    runtime.freshness("job_runs", lambda: slots_freshness(job_runs.collection))
    runtime.supervise("finance-scheduler", schedule_forever)
    runtime.supervise("finance-redrive", redrive_forever)
    runtime.serve_commands({"run_finance": service.command_run, "rewind_cursor": service.command_rewind})
    return service


class _RuntimeLeases:
    """Leases in the runtime's `leases` collection, reached once MongoDB is connected (lifespan)."""

    def __init__(self, runtime: ServiceRuntime, owner: str) -> None:
        self._runtime = runtime
        self._owner = owner
        self._store: LeaseStore | None = None

    def hold(self, name: str, ttl_s: float = 60.0) -> AbstractAsyncContextManager[Lease | None]:
        # One store for the life of the process: it is this process's incarnation of the identity.
        if self._store is None:
            self._store = LeaseStore(self._runtime.db["leases"], owner=self._owner)
        return self._store.hold(name, ttl_s)


def build(settings: Settings) -> ServiceRuntime:
    return build_service(settings).runtime
