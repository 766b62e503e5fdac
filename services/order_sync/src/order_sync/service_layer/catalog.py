"""Use case: publish NetSuite customers and items changed since a cursor to ``netsuite.catalog.v1``.

Keyset paging on ``(lastmodifieddate, id)`` (reference/netsuite.md §5.3 "incremental sync
pattern", the query is the gateway's): each page starts after the last record of the previous
page, so no record is skipped or repeated while records change underneath, and no 100,000-row
offset window applies. The cursor is saved after each page's events were confirmed by the broker.

The schedule (every configured supplier each `CATALOG_INTERVAL_S`, one replica per supplier under
the lease `order_sync.catalog:<supplier>`, suppliers whose breaker is open skipped) is
`om_platform.supplier_jobs.SupplierJobs`' (built in `app.py`); each of its jobs is one `run_job`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from om_contracts import IntegrationSettings, NetSuiteCustomerChanged, NetSuiteItemChanged
from om_platform.core.ports import Cursors, Integrations, LeaseCheck, Publish
from om_platform.core.supplier_jobs import SupplierJob
from order_sync.domain.catalog_cursor import EPOCH, start_from
from order_sync.service_layer.ports import CatalogKind, CatalogSource, ReverseMappings

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
KINDS: tuple[CatalogKind, ...] = ("customer", "item")

CatalogEvent = NetSuiteCustomerChanged | NetSuiteItemChanged


class CatalogSources(Protocol):
    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> CatalogSource: ...


@dataclass(frozen=True)
class CatalogRefresh:
    """Use case: a supplier's NetSuite customers and items changed since its cursor, published."""

    cursors: Cursors[str]
    """High-water marks per supplier, one stream per `CatalogKind`."""
    mappings: ReverseMappings
    publish: Publish
    integrations: Integrations
    netsuite: CatalogSources
    new_event_id: Callable[[], str]
    clock: Callable[[], datetime]
    overlap_s: float = 5.0

    async def refresh(self, supplier_id: str, integration: IntegrationSettings | None = None) -> int:
        """Publish the supplier's customers and items changed since the last poll, now; returns how many."""
        integration = integration or await self.integrations.get(supplier_id)
        if integration is None:
            raise LookupError(f"supplier {supplier_id} has no NetSuite integration configured")
        source = self.netsuite.for_supplier(supplier_id, integration)
        total = 0
        for kind in KINDS:
            total += await self.publish_changes(supplier_id, integration, source, kind)
        return total

    async def run_job(self, job: SupplierJob, _lease: LeaseCheck) -> int:
        """One supplier's catalog poll, under its lease (`SupplierJobs`)."""
        count = await self.refresh(job.supplier_id, job.integration)
        log.info("catalog published %d record(s)", count, extra={"supplier_id": job.supplier_id})
        return count

    async def publish_changes(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        source: CatalogSource,
        kind: CatalogKind,
    ) -> int:
        """Publish every `kind` record changed since the supplier's cursor; returns how many."""
        start = start_from(await self.cursors.get(supplier_id, kind), self.overlap_s)
        last_modified, last_position = start, 0
        published = 0
        while True:
            changes = await source.changed(kind, last_modified, last_position, PAGE_SIZE)
            if not changes:
                return published
            ids = [change.record.netsuite_id for change in changes]
            mapped = await self.mappings.reverse(
                supplier_id, integration, "customer" if kind == "customer" else "product", ids
            )
            for change in changes:
                data = change.record.model_copy(
                    update={"ordermentum_id": mapped.get(change.record.netsuite_id)}
                )
                common = {
                    "event_id": self.new_event_id(),
                    "occurred_at": self.clock(),
                    "supplier_id": supplier_id,
                }
                event: CatalogEvent = (
                    NetSuiteCustomerChanged(**common, data=data)
                    if kind == "customer"
                    else NetSuiteItemChanged(**common, data=data)
                )
                await self.publish(event, key=supplier_id)
                published += 1
            last_modified = changes[-1].modified or EPOCH
            last_position = changes[-1].position
            await self.cursors.save(supplier_id, kind, last_modified)
            if len(changes) < PAGE_SIZE:
                return published
