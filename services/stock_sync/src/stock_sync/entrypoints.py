"""stock_sync's entry points: what the runtime calls (a consumed record, an operator command, the
supervised job), each handing over to one use case. The edge has decoded and validated the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from om_contracts import ProductUpserted
from om_platform.kafka import RecordContext
from om_platform.mappings import MappingStore
from stock_sync.service_layer.runs import StockRuns


@dataclass(frozen=True)
class Entrypoints:
    runs: StockRuns
    mappings: MappingStore
    tick_s: float

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

    async def on_run_stock_command(
        self, supplier_id: str | None, args: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """`omctl run stock --supplier S`: run now here, or leave the trigger for the replica running it."""
        if not supplier_id:
            raise ValueError("run_stock needs a supplier id")
        report = await self.runs.run_on_demand(supplier_id)
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

    async def run_stock_scheduler(self) -> None:
        """The supervised job: start due suppliers' runs every `tick_s` for the life of the process."""
        await self.runs.loop(self.tick_s)
