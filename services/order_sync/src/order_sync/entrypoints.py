"""order_sync's entry points: what the runtime calls (consumers, commands, jobs), each calling one use case.

The edge decoded and validated every event before it arrives here, and owns its retries
(`RecordContext.attempt` / `is_last_attempt`); these only pass what they got to a use case.
`app.wire` builds the use cases (over the adapters it built) and these entry points once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from om_contracts import ErrorCode
from om_platform.core.mappings import Kind, MappedEntity
from om_platform.core.records import RecordContext
from om_platform.core.settings_changes import SettingsChange
from om_platform.core.supplier_jobs import SupplierJobs
from order_sync.service_layer.catalog import CatalogRefresh
from order_sync.service_layer.events import TransactionEvent, payload_of, source_of
from order_sync.service_layer.heal import Healing
from order_sync.service_layer.resync import Resync
from order_sync.service_layer.sync import TransactionSync

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entrypoints:
    """The handlers `app.wire` registers: consumers (`on_<event>`), operator commands
    (`on_<command>_command`) and supervised jobs (`run_<job>`)."""

    sync: TransactionSync
    resync: Resync
    """Reads fresh settings (an operator's re-sync must see the settings just changed)."""
    heal: Healing
    recheck: bool
    """HEAL_ENABLED: a failed event's missing mapping that arrived meanwhile asks for a heal."""
    catalog: CatalogRefresh
    catalog_jobs: SupplierJobs[int]
    """`CatalogRefresh.run_job` for every configured supplier, a round every `catalog_interval_s`."""

    # -- consumers -----------------------------------------------------------------------------

    async def on_transaction_event(self, event: TransactionEvent, ctx: RecordContext) -> None:
        """Apply an order/invoice event; with healing on, `recheck` its failure."""
        outcome = await self.sync.sync_event(
            source_of(event), payload_of(event), attempt=ctx.attempt, is_last_attempt=ctx.is_last_attempt
        )
        if outcome is not None and self.recheck:
            await self.heal.recheck(outcome)

    async def on_mapping(self, supplier_id: str, kind: Kind, entity: MappedEntity) -> None:
        """A customer/product upsert was stored (`ServiceRuntime.consume_mappings`)."""
        await self.heal.after_mapping(supplier_id, kind, entity)

    async def on_settings_change(self, supplier_id: str, change: SettingsChange) -> None:
        await self.heal.after_settings_change(supplier_id, change)

    async def on_connection_back(self, supplier_id: str) -> None:
        """The supplier's NetSuite connection came back: re-sync what was parked meanwhile."""
        await self.heal.when_connected.on_recovered(supplier_id)

    # -- operator commands (omctl) -------------------------------------------------------------

    async def on_resync_command(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl resync <supplier> [--record id] [--code CODE]`."""
        if not supplier_id:
            raise ValueError("resync needs a supplier id")
        code = args.get("code")
        report = await self.resync.records(
            supplier_id,
            ordermentum_id=args.get("ordermentum_id"),
            code=ErrorCode(code) if code else None,
            concurrency=None,  # the supplier's
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
        return {"requested": sorted(await self.heal.request_import_heals(supplier_id, ids))}

    async def on_catalog_command(
        self, supplier_id: str | None, _args: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """`omctl run catalog <supplier>`."""
        if not supplier_id:
            raise ValueError("run_catalog needs a supplier id")
        return {"published": await self.catalog.refresh(supplier_id)}

    # -- supervised jobs -----------------------------------------------------------------------

    async def run_catalog(self) -> None:
        """Every `catalog_interval_s`, a round of `CatalogRefresh.run_job` over the configured suppliers."""
        await self.catalog_jobs.loop()

    async def run_heal(self) -> None:
        """Re-sync what waits for a mapping, a connection or an integration once it arrives."""
        await self.heal.heal_forever()
