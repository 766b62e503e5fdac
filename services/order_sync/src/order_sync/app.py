"""Wiring of order_sync: consumers, publishers and stores on one ServiceRuntime (the entry point layer).

Consumes ordermentum.orders.v1 and ordermentum.invoices.v1 (one lane per order/invoice, up to the
supplier's NetSuite concurrency limit), ordermentum.customers.v1 / ordermentum.products.v1 (the
mapping store) and the integrations topic; publishes netsuite.sync-results.v1 and
netsuite.catalog.v1.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from om_contracts import (
    CATALOG_TOPIC,
    CUSTOMERS_TOPIC,
    INVOICES_TOPIC,
    ORDERS_TOPIC,
    PRODUCTS_TOPIC,
    SYNC_RESULTS_TOPIC,
    CatalogEvent,
    CustomerUpserted,
    ErrorCode,
    IntegrationSettings,
    ProductUpserted,
    SyncResultEvent,
    new_event_id,
)
from om_platform.decoding import contract_decoder
from om_platform.freshness import ledger_freshness
from om_platform.integrations import IntegrationStore, SettingsChange
from om_platform.kafka import RecordContext
from om_platform.leases import LeaseStore
from om_platform.mappings import MappingStore
from om_platform.runtime import ServiceRuntime
from order_sync.adapters.counters import PrometheusCounters
from order_sync.adapters.currencies import CurrencyStore
from order_sync.adapters.cursors import MongoCursors
from order_sync.adapters.heal_requests import MongoHealRequests
from order_sync.adapters.ledger import MongoLedger
from order_sync.adapters.mappings import FreshIntegrations, StoreMappings
from order_sync.adapters.netsuite_gateway import Gateways
from order_sync.domain import healing
from order_sync.domain.outcomes import Outcome
from order_sync.service_layer import catalog, heal
from order_sync.service_layer.events import TransactionEvent, payload_of, source_of
from order_sync.service_layer.resync import ResyncReport, republish_abandoned, resync
from order_sync.service_layer.sync import Attempt, SyncDeps, sync_event
from order_sync.settings import Settings

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class OrderSync:
    """The wired service: its runtime plus the operations an operator CLI calls.

    `resync` and `refresh_catalog` need the runtime started (MongoDB, broker and NetSuite access
    are connected in its lifespan).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime = ServiceRuntime(settings, title="order_sync", description=__doc__ or "")
        self.integrations: IntegrationStore = self.runtime.consume_integrations()
        self.mappings = MappingStore(self.runtime)
        self.counters = PrometheusCounters(self.runtime.metrics.registry, self.runtime.metrics.failures)
        self._results = self.runtime.publisher(
            SYNC_RESULTS_TOPIC, schema=SyncResultEvent, description="Outcome of every order/invoice event."
        )
        self._catalog = self.runtime.publisher(
            CATALOG_TOPIC, schema=CatalogEvent, description="NetSuite customers and items that changed."
        )
        self._deps: SyncDeps | None = None
        self._heal: heal.HealDeps | None = None
        self._heal_requests: MongoHealRequests | None = None
        self._catalog_deps: catalog.CatalogDeps | None = None
        self._leases: LeaseStore | None = None
        for topic in (ORDERS_TOPIC, INVOICES_TOPIC):
            self.runtime.consume(
                topic,
                decode=contract_decoder(topic, lambda event: event.data.id),
                handle=self.on_transaction_event,
                limit_for=self._lanes_for,
            )
        for topic in (CUSTOMERS_TOPIC, PRODUCTS_TOPIC):
            self.runtime.consume(
                topic,
                decode=contract_decoder(topic, lambda event: event.data.id),
                handle=self.on_entity_upserted,
                limit_for=lambda _supplier: 16,  # MongoDB only; no NetSuite budget involved
            )
        self.runtime.on_start(self._start)
        self.runtime.freshness("ledger", lambda: ledger_freshness(self.runtime.db["ledger"]))
        self.runtime.serve_commands(
            {
                "resync": self.on_resync_command,
                "run_catalog": self.on_catalog_command,
                "heal": self.on_heal_command,
            }
        )
        if settings.catalog_enabled:
            self.runtime.supervise("catalog", self._catalog_loop)
        if settings.heal_enabled:
            self.integrations.watch(self.on_settings_change)
            self.runtime.connections.on_recovered(self.on_connection_back)
            self.runtime.supervise("heal", self._heal_loop)

    def _lanes_for(self, supplier_id: str) -> int:
        # More records in flight than NetSuite slots: each record also spends time in MongoDB,
        # the broker and the tranId batch, and with only `limit` records in flight the account's
        # slots would sit idle meanwhile. The NetSuite budget still admits `limit` requests.
        return self.settings.records_per_netsuite_slot * self.integrations.limit_for(supplier_id)

    # -- lifecycle ---------------------------------------------------------------------------

    async def _start(self) -> None:
        db = self.runtime.db
        ledger = MongoLedger(db["ledger"])
        await ledger.ensure_indexes()
        await self.mappings.ensure_indexes()
        gateways = Gateways(self.runtime.netsuite.session, CurrencyStore(db["currencies"]))
        self._gateways = gateways
        self._deps = SyncDeps(
            ledger=ledger,
            integrations=self.integrations,
            mappings=StoreMappings(self.mappings),
            netsuite=gateways,
            publish=self._publish_outcome,
            counters=self.counters,
            new_event_id=new_event_id,
            clock=_now,
        )
        self._catalog_deps = catalog.CatalogDeps(
            cursors=MongoCursors(db["catalog_cursors"]),
            mappings=self.mappings,
            publish=self._publish_catalog,
            new_event_id=new_event_id,
            clock=_now,
            overlap_s=self.settings.catalog_overlap_s,
        )
        self._leases = LeaseStore(db["leases"], owner=self.settings.instance_identity)
        self._heal_requests = MongoHealRequests(db["heal_requests"])
        await self._heal_requests.ensure_indexes()
        self._heal = heal.HealDeps(
            sync=dataclasses.replace(self._deps, integrations=FreshIntegrations(self.integrations)),
            requests=self._heal_requests,
            claim_ttl_s=self.settings.resync_claim_ttl_s,
            connections=self.runtime.connections,
        )

    @property
    def deps(self) -> SyncDeps:
        if self._deps is None:
            raise RuntimeError("order_sync has not started")
        return self._deps

    @property
    def heal_deps(self) -> heal.HealDeps:
        if self._heal is None:
            raise RuntimeError("order_sync has not started")
        return self._heal

    async def _publish_outcome(self, outcome: Outcome) -> None:
        await self._results.publish(outcome, key=outcome.supplier_id)

    async def _publish_catalog(self, event: catalog.CatalogEvent) -> None:
        await self._catalog.publish(event, key=event.supplier_id)

    # -- subscribers (thin) ------------------------------------------------------------------

    async def on_transaction_event(self, event: TransactionEvent, ctx: RecordContext) -> None:
        attempt = Attempt(ctx.attempt, is_last=ctx.is_last_attempt)  # the edge's retry state
        outcome = await sync_event(self.deps, source_of(event), payload_of(event), attempt)
        await self._recheck(outcome)

    async def _recheck(self, outcome: Outcome | None) -> None:
        """A mapping failure may have read a mapping being stored at that moment (heal.recheck)."""
        if outcome is not None and self.settings.heal_enabled:
            await heal.recheck(self.heal_deps, outcome)

    async def on_entity_upserted(self, event: CustomerUpserted | ProductUpserted, ctx: RecordContext) -> None:
        kind: Literal["customer", "product"] = (
            "customer" if isinstance(event, CustomerUpserted) else "product"
        )
        stored = await self.mappings.record_entity(
            event.supplier_id,
            kind,
            event.data,
            name=event.data.name,
            occurred_at=event.occurred_at,
            event_id=event.event_id,
        )
        if stored and self.settings.heal_enabled:
            await heal.request_heals(
                self.heal_deps, event.supplier_id, healing.provided_by_entity(kind, event.data)
            )

    async def on_settings_change(self, supplier_id: str, change: SettingsChange) -> None:
        """New mappings in the integration's tabs, or a new surcharge item: heal what they unblock."""
        provided = healing.provided_by_settings(
            change.customers, change.products, surcharge_item=change.surcharge_item
        )
        if change.connected:  # mappings stored while disconnected could not heal anything then
            provided += tuple(await self.heal_deps.sync.ledger.blocking(supplier_id, None))
            await heal.request_code_heal(self.heal_deps, supplier_id, healing.INTEGRATION)
        if change.credentials:  # refused logins may pass now (an open breaker waits for its probe)
            await heal.request_code_heal(self.heal_deps, supplier_id, healing.CONNECTION)
        await heal.request_heals(self.heal_deps, supplier_id, provided)

    async def on_connection_back(self, supplier_id: str) -> None:
        """The supplier's NetSuite connection came back: re-sync what was parked meanwhile."""
        await heal.request_code_heal(self.heal_deps, supplier_id, healing.CONNECTION)

    async def _catch_up_heals(self) -> None:
        """At start: what a recovery or an integration would have healed while no replica ran.

        A connection that came back, or settings that arrived, while this service was down (or
        between its transition and its heal request) left records failed with a code they heal.
        """
        ledger = self.heal_deps.sync.ledger
        parked = await ledger.failing_with(healing.WAITING_FOR[healing.CONNECTION])
        states = await self.runtime.connections.load(parked)
        for supplier_id in parked:
            if not states[supplier_id].breaker_open:
                await heal.request_code_heal(self.heal_deps, supplier_id, healing.CONNECTION)
        for supplier_id in await ledger.failing_with(healing.WAITING_FOR[healing.INTEGRATION]):
            if await self.integrations.get(supplier_id, fresh=True) is not None:
                await heal.request_code_heal(self.heal_deps, supplier_id, healing.INTEGRATION)

    # -- operations --------------------------------------------------------------------------

    async def resync(
        self, supplier_id: str, *, ordermentum_id: str | None = None, code: ErrorCode | None = None
    ) -> ResyncReport:
        """Re-sync one record, or all failed records of a supplier (optionally only one code)."""
        integration = await self.integrations.get(supplier_id, fresh=True)
        return await resync(
            self.heal_deps.sync,
            supplier_id,
            ordermentum_id=ordermentum_id,
            code=code,
            concurrency=integration.concurrency_limit if integration else 1,
            claim_ttl_s=self.settings.resync_claim_ttl_s,
        )

    async def refresh_catalog(self, supplier_id: str, integration: IntegrationSettings | None = None) -> int:
        """Publish the supplier's NetSuite customers and items changed since the last poll, now."""
        if self._catalog_deps is None:
            raise RuntimeError("order_sync has not started")
        integration = integration or await self.integrations.get(supplier_id)
        if integration is None:
            raise LookupError(f"supplier {supplier_id} has no NetSuite integration configured")
        session = self.runtime.netsuite.session(supplier_id, integration)

        def query(query: str, params: list[object], page_size: int) -> AsyncIterator[dict[str, Any]]:
            return session.suiteql(query, params, page_size=page_size)

        kinds: tuple[catalog.CatalogKind, ...] = ("customer", "item")
        total = 0
        for kind in kinds:
            total += await catalog.publish_changes(self._catalog_deps, supplier_id, integration, query, kind)
        return total

    async def on_resync_command(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl resync <supplier> [--record id] [--code CODE]`."""
        if not supplier_id:
            raise ValueError("resync needs a supplier id")
        code = args.get("code")
        report = await self.resync(
            supplier_id,
            ordermentum_id=args.get("ordermentum_id"),
            code=ErrorCode(code) if code else None,
        )
        failed = [r.data.ordermentum_id for r in report.failed]
        return {
            "resynced": len(report.outcomes),
            "synced": report.synced,
            "still_failed": failed,
            "errors": report.errors,
        }

    async def on_heal_command(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl mappings import` queues it with the Ordermentum ids it mapped (`customers`, `products`)."""
        if not supplier_id:
            raise ValueError("heal needs a supplier id")
        ids = {kind: [str(i) for i in args.get(f"{kind}s") or ()] for kind in ("customer", "product")}
        provided = healing.provided_by_import({"customer": ids["customer"], "product": ids["product"]})
        return {"requested": sorted(await heal.request_heals(self.heal_deps, supplier_id, provided))}

    async def on_catalog_command(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl run catalog <supplier>`."""
        if not supplier_id:
            raise ValueError("run_catalog needs a supplier id")
        return {"published": await self.refresh_catalog(supplier_id)}

    async def _catalog_loop(self) -> None:
        while True:
            started = time.monotonic()
            await self._catalog_round()
            self.runtime.metrics.job_seconds.labels("catalog", "done").observe(time.monotonic() - started)
            await asyncio.sleep(self.settings.catalog_interval_s)

    async def _catalog_round(self) -> None:
        if self._leases is None:
            return
        async for supplier_id, integration in self.integrations.configured():
            if self.runtime.connections.is_open(supplier_id):
                continue  # its breaker is open: the probe finds out when it is back
            try:
                async with self._leases.hold(
                    f"order_sync.catalog:{supplier_id}", self.settings.catalog_lease_ttl_s
                ) as lease:
                    if lease is None:
                        continue  # another replica polls this supplier now
                    count = await self.refresh_catalog(supplier_id, integration)
                    log.info("catalog published %d record(s)", count, extra={"supplier_id": supplier_id})
            except asyncio.CancelledError:
                raise
            except Exception:
                # One supplier's outage must not stop the others' catalogs; the next round retries.
                log.exception("catalog poll failed", extra={"supplier_id": supplier_id})

    async def _heal_loop(self) -> None:
        """Heal every supplier with pending requests, each in its own task (one replica per supplier)."""
        running: dict[str, asyncio.Task[None]] = {}
        requests = self._heal_requests
        assert requests is not None  # started before the supervised loops
        caught_up = False
        try:
            while True:
                if not caught_up:
                    try:
                        await self._catch_up_heals()
                        caught_up = True
                    except Exception:
                        log.exception("catching up on heals at start failed; retrying")
                try:
                    await republish_abandoned(self.heal_deps.sync, self.settings.resync_claim_ttl_s)
                    for supplier_id in await requests.suppliers():
                        if supplier_id not in running:
                            running[supplier_id] = asyncio.create_task(
                                self._heal_one(supplier_id), name=f"heal:{supplier_id}"
                            )
                except Exception:
                    log.exception("looking for heal requests failed; retrying")
                for supplier_id in [s for s, task in running.items() if task.done()]:
                    running.pop(supplier_id)
                await requests.wait(self.settings.heal_poll_s)
        finally:
            for task in running.values():
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*running.values(), return_exceptions=True)

    async def _heal_one(self, supplier_id: str) -> None:
        assert self._leases is not None
        try:
            async with self._leases.hold(
                f"order_sync.heal:{supplier_id}", self.settings.heal_lease_ttl_s
            ) as lease:
                if lease is not None:  # else another replica heals this supplier now
                    await heal.heal_supplier(self.heal_deps, supplier_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The requests stay pending: the next round tries again.
            log.exception("heal failed", extra={"supplier_id": supplier_id})


def wire(settings: Settings) -> OrderSync:
    return OrderSync(settings)


def build(settings: Settings) -> ServiceRuntime:
    return wire(settings).runtime
