"""finance_sync's entry points: what the runtime calls (consumers, listeners, commands, jobs).

Each one is thin: the edge decoded the event (or the command's arguments arrive as a mapping),
and it hands over to one use case of `service_layer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from finance_sync.domain.cursors import Cursor
from finance_sync.domain.features import Feature
from finance_sync.service_layer.hourly_runs import HourlyRuns, rewind_cursor
from finance_sync.service_layer.parked_redrive import ParkedRedrive
from finance_sync.service_layer.reconcile import Reconciler
from om_contracts import PaymentSucceeded, PayoutSettled
from om_platform.core.ports import Cursors
from om_platform.core.records import RecordContext
from om_platform.core.settings_changes import SettingsChange


@dataclass(frozen=True)
class Entrypoints:
    reconciler: Reconciler
    scheduler: HourlyRuns
    redrive: ParkedRedrive
    cursors: Cursors[Cursor]

    # -- consumers ----------------------------------------------------------------------------

    async def on_payment(self, event: PaymentSucceeded | PayoutSettled, _ctx: RecordContext) -> None:
        await self.reconciler.handle(event)

    # -- listeners ----------------------------------------------------------------------------

    async def on_connection_back(self, supplier_id: str) -> None:
        # The slots skipped while the connection was down run now, not at the next poll; its
        # parked payments are sent again.
        self.scheduler.wake()
        await self.redrive.when_connected.on_recovered(supplier_id)

    async def on_settings_change(self, supplier_id: str, change: SettingsChange) -> None:
        self.redrive.on_settings_change(supplier_id, change.credentials)

    # -- operator commands --------------------------------------------------------------------

    async def run_finance(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl run finance <supplier> [--feature F]`: the feature, or every enabled one, now."""
        if not supplier_id:
            raise ValueError("run_finance needs a supplier id")
        runs = await self.scheduler.run_features_now(supplier_id, args.get("feature") or None)
        return {str(f): {"rows": run.rows, "published": run.published} for f, run in runs.items()}

    async def rewind_cursor(self, supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """`omctl cursor rewind <supplier> --service finance_sync --job F --to T`."""
        if not supplier_id:
            raise ValueError("rewind_cursor needs a supplier id")
        feature = Feature(args["job"])
        to = datetime.fromisoformat(str(args["to"]))
        if to.tzinfo is None:
            raise ValueError("the rewind time needs an offset (RFC 3339)")
        await rewind_cursor(self.cursors, supplier_id, feature, to)
        return {"job": str(feature), "to": to.astimezone(UTC).isoformat()}

    # -- supervised jobs ----------------------------------------------------------------------

    async def run_hourly_slots(self) -> None:
        await self.scheduler.run_forever()

    async def run_parked_redrive(self) -> None:
        await self.redrive.run_forever()
