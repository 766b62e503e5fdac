"""order_sync's entry points: what the runtime calls (consumers, commands, jobs), each calling one use case.

The edge decoded and validated every event before it arrives here, and owns its retries
(`RecordContext.attempt` / `is_last_attempt`); these only pass what they got to a use case.
`app.wire` registers them and installs `Deps` once the runtime has started.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import Histogram

from om_contracts import ErrorCode
from om_platform.core.mappings import Kind, MappedEntity
from om_platform.core.ports import LeaseCheck, Leases
from om_platform.core.records import RecordContext
from om_platform.core.settings_changes import SettingsChange
from om_platform.core.supplier_jobs import JobOutcome, SupplierJob, SupplierJobs
from order_sync.domain.healing import CONNECTION
from order_sync.service_layer import catalog, heal
from order_sync.service_layer.catalog import CatalogDeps
from order_sync.service_layer.events import TransactionEvent
from order_sync.service_layer.heal import HealDeps
from order_sync.service_layer.ports import ConnectionStates
from order_sync.service_layer.resync import resync
from order_sync.service_layer.sync import SyncDeps
from order_sync.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deps:
    """The use cases' ports, built once the runtime has started (MongoDB and NetSuite access are
    connected in its lifespan)."""

    sync: SyncDeps
    heal: HealDeps
    catalog: CatalogDeps
    catalog_jobs: SupplierJobs[int]
    """`run_catalog_job` for every configured supplier, a round every `catalog_interval_s`."""
    leases: Leases
    connections: ConnectionStates


class Entrypoints:
    """The handlers `app.wire` registers: consumers (`on_<event>`), operator commands
    (`on_<command>_command`) and supervised jobs (`run_<job>`)."""

    def __init__(self, settings: Settings, job_seconds: Histogram) -> None:
        self._settings = settings
        self._job_seconds = job_seconds
        self._deps: Deps | None = None

    def start(self, deps: Deps) -> None:
        self._deps = deps

    @property
    def deps(self) -> Deps:
        if self._deps is None:
            raise RuntimeError("order_sync has not started")
        return self._deps

    @property
    def _heal(self) -> HealDeps | None:
        return self.deps.heal if self._settings.heal_enabled else None

    # -- consumers -----------------------------------------------------------------------------

    async def on_transaction_event(self, event: TransactionEvent, ctx: RecordContext) -> None:
        await heal.sync_and_recheck(
            self.deps.sync, self._heal, event, attempt=ctx.attempt, is_last_attempt=ctx.is_last_attempt
        )

    async def on_mapping(self, supplier_id: str, kind: Kind, entity: MappedEntity) -> None:
        """A customer/product upsert was stored (`ServiceRuntime.consume_mappings`)."""
        await heal.after_mapping(self.deps.heal, supplier_id, kind, entity)

    async def on_settings_change(self, supplier_id: str, change: SettingsChange) -> None:
        await heal.after_settings_change(self.deps.heal, supplier_id, change)

    async def on_connection_back(self, supplier_id: str) -> None:
        """The supplier's NetSuite connection came back: re-sync what was parked meanwhile."""
        await heal.request_code_heal(self.deps.heal, supplier_id, CONNECTION)

    # -- operator commands (omctl) -------------------------------------------------------------

    async def on_resync_command(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl resync <supplier> [--record id] [--code CODE]`."""
        if not supplier_id:
            raise ValueError("resync needs a supplier id")
        code = args.get("code")
        report = await resync(
            self.deps.heal.sync,  # reads fresh settings
            supplier_id,
            ordermentum_id=args.get("ordermentum_id"),
            code=ErrorCode(code) if code else None,
            concurrency=None,  # the supplier's
            claim_ttl_s=self._settings.resync_claim_ttl_s,
        )
        return {
            "resynced": len(report.outcomes),
            "synced": report.synced,
            "still_failed": [r.data.ordermentum_id for r in report.failed],
            "errors": report.errors,
        }

    async def on_heal_command(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl mappings import` queues it with the Ordermentum ids it mapped (`customers`, `products`)."""
        if not supplier_id:
            raise ValueError("heal needs a supplier id")
        ids: dict[Literal["customer", "product"], list[str]] = {
            "customer": [str(i) for i in args.get("customers") or ()],
            "product": [str(i) for i in args.get("products") or ()],
        }
        return {"requested": sorted(await heal.request_import_heals(self.deps.heal, supplier_id, ids))}

    async def on_catalog_command(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl run catalog <supplier>`."""
        if not supplier_id:
            raise ValueError("run_catalog needs a supplier id")
        return {"published": await catalog.refresh(self.deps.catalog, supplier_id)}

    # -- supervised jobs -----------------------------------------------------------------------

    async def run_catalog(self) -> None:
        """Every `catalog_interval_s`, a round of `run_catalog_job` over the configured suppliers."""
        await self.deps.catalog_jobs.loop()

    async def run_catalog_job(self, job: SupplierJob, lease: LeaseCheck) -> int:
        """One supplier's catalog poll, under its lease (`SupplierJobs`)."""
        count = await catalog.refresh(self.deps.catalog, job.supplier_id, job.integration)
        log.info("catalog published %d record(s)", count, extra={"supplier_id": job.supplier_id})
        return count

    async def on_catalog_round(self, outcomes: Sequence[JobOutcome[int]], seconds: float) -> None:
        self._job_seconds.labels("catalog", "succeeded").observe(seconds)

    async def run_heal(self) -> None:
        """Re-sync what waits for a mapping, a connection or an integration once it arrives."""
        await heal.heal_forever(
            self.deps.heal,
            self.deps.leases,
            self.deps.connections,
            poll_s=self._settings.heal_poll_s,
            lease_ttl_s=self._settings.heal_lease_ttl_s,
        )
