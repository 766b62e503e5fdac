"""stock_sync's entry points: what the runtime calls (an operator command, the supervised job),
each handing over to one use case. The edge has decoded and validated the input.

The products topic (product -> NetSuite item mappings) is consumed by `om_platform`'s mapping
consumer (`ServiceRuntime.consume_mappings`), the integrations topic by `consume_integrations`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from om_platform.core.supplier_jobs import SupplierJobs
from om_platform.core.waiting import ResumeWhenConnected
from stock_sync.domain.run_report import RunReport
from stock_sync.service_layer.runs import OnDemandRuns


@dataclass(frozen=True)
class Entrypoints:
    on_demand: OnDemandRuns
    jobs: SupplierJobs[RunReport | None]
    when_connected: ResumeWhenConnected
    """Held runs (`HeldRuns`) resumed when a supplier's connection comes back."""

    async def on_connection_back(self, supplier_id: str) -> None:
        await self.when_connected.on_recovered(supplier_id)

    async def on_run_stock_command(
        self, supplier_id: str | None, _args: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """`omctl run stock --supplier S`: run now here, or leave the trigger for the replica running it."""
        if not supplier_id:
            raise ValueError("run_stock needs a supplier id")
        report = await self.on_demand.run_on_demand(supplier_id)
        if report is None:
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

    async def run_stock_runs(self) -> None:
        """The supervised job: start the due suppliers' stock runs every STOCK_TICK_S."""
        await self.jobs.loop()
