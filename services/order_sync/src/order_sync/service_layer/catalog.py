"""Use case: publish NetSuite customers and items changed since a cursor to ``netsuite.catalog.v1``.

Keyset paging on ``(lastmodifieddate, id)`` (reference/netsuite.md §5.3 "incremental sync
pattern", the query is the gateway's): each page starts after the last record of the previous
page, so no record is skipped or repeated while records change underneath, and no 100,000-row
offset window applies. The cursor is saved after each page's events were confirmed by the broker.

The schedule (every configured supplier each `CATALOG_INTERVAL_S`, one replica per supplier under
the lease `order_sync.catalog:<supplier>`, suppliers whose breaker is open skipped) is
`om_platform.supplier_jobs.SupplierJobs`'; each of its jobs is one `refresh`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from om_contracts import IntegrationSettings, NetSuiteCustomerChanged, NetSuiteItemChanged
from om_platform.core.ports import Cursors, Integrations, Publish
from order_sync.domain.catalog_cursor import EPOCH, start_from
from order_sync.service_layer.ports import CatalogKind, CatalogSource, ReverseMappings

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
KINDS: tuple[CatalogKind, ...] = ("customer", "item")

CatalogEvent = NetSuiteCustomerChanged | NetSuiteItemChanged


class CatalogSources(Protocol):
    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> CatalogSource: ...


@dataclass
class CatalogDeps:
    cursors: Cursors[str]
    """High-water marks per supplier, one stream per `CatalogKind`."""
    mappings: ReverseMappings
    publish: Publish
    integrations: Integrations
    netsuite: CatalogSources
    new_event_id: Callable[[], str]
    clock: Callable[[], datetime]
    overlap_s: float = 5.0


async def publish_changes(
    deps: CatalogDeps,
    supplier_id: str,
    integration: IntegrationSettings,
    source: CatalogSource,
    kind: CatalogKind,
) -> int:
    """Publish every `kind` record changed since the supplier's cursor; returns how many."""
    start = start_from(await deps.cursors.get(supplier_id, kind), deps.overlap_s)
    last_modified, last_position = start, 0
    published = 0
    while True:
        changes = await source.changed(kind, last_modified, last_position, PAGE_SIZE)
        if not changes:
            return published
        ids = [change.record.netsuite_id for change in changes]
        mapped = await deps.mappings.reverse(
            supplier_id, integration, "customer" if kind == "customer" else "product", ids
        )
        for change in changes:
            data = change.record.model_copy(update={"ordermentum_id": mapped.get(change.record.netsuite_id)})
            common = {
                "event_id": deps.new_event_id(),
                "occurred_at": deps.clock(),
                "supplier_id": supplier_id,
            }
            event: CatalogEvent = (
                NetSuiteCustomerChanged(**common, data=data)
                if kind == "customer"
                else NetSuiteItemChanged(**common, data=data)
            )
            await deps.publish(event, key=supplier_id)
            published += 1
        last_modified = changes[-1].modified or EPOCH
        last_position = changes[-1].position
        await deps.cursors.save(supplier_id, kind, last_modified)
        if len(changes) < PAGE_SIZE:
            return published


async def refresh(deps: CatalogDeps, supplier_id: str, integration: IntegrationSettings | None = None) -> int:
    """Publish the supplier's customers and items changed since the last poll, now; returns how many."""
    integration = integration or await deps.integrations.get(supplier_id)
    if integration is None:
        raise LookupError(f"supplier {supplier_id} has no NetSuite integration configured")
    source = deps.netsuite.for_supplier(supplier_id, integration)
    total = 0
    for kind in KINDS:
        total += await publish_changes(deps, supplier_id, integration, source, kind)
    return total
