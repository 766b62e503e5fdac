"""Use case: publish NetSuite customers and items changed since a cursor to ``netsuite.catalog.v1``.

Keyset paging on ``(lastmodifieddate, id)`` (reference/netsuite.md §5.3 "incremental sync
pattern"): each page is a fresh query that starts after the last row of the previous page, so no
row is skipped or repeated while records change underneath, and no 100,000-row offset window
applies. The cursor is saved after each page's events were confirmed by the broker.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from om_contracts import IntegrationSettings, NetSuiteCustomerChanged, NetSuiteItemChanged
from order_sync.domain.catalog import EPOCH, customer_of, item_of, start_from

log = logging.getLogger(__name__)

CatalogKind = Literal["customer", "item"]
PAGE_SIZE = 1000

_QUERIES: dict[CatalogKind, str] = {
    "customer": (
        "SELECT id, entityid, companyname, email, isinactive, "
        "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM customer "
        "WHERE lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') "
        "OR (lastmodifieddate = TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') AND id > ?) "
        "ORDER BY lastmodifieddate, id"
    ),
    "item": (
        "SELECT id, itemid, displayname, isinactive, "
        "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lmd FROM item "
        "WHERE lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') "
        "OR (lastmodifieddate = TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') AND id > ?) "
        "ORDER BY lastmodifieddate, id"
    ),
}


class Query(Protocol):
    def __call__(self, query: str, params: list[object], page_size: int) -> AsyncIterator[dict[str, Any]]: ...


class Cursors(Protocol):
    async def get(self, supplier_id: str, kind: CatalogKind) -> str | None: ...

    async def set(self, supplier_id: str, kind: CatalogKind, high_water: str) -> None: ...


class ReverseMappings(Protocol):
    async def reverse(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        kind: Literal["customer", "product"],
        ids: list[str],
    ) -> dict[str, str]: ...


CatalogEvent = NetSuiteCustomerChanged | NetSuiteItemChanged


@dataclass
class CatalogDeps:
    cursors: Cursors
    mappings: ReverseMappings
    publish: Callable[[CatalogEvent], Awaitable[None]]
    new_event_id: Callable[[], str]
    clock: Callable[[], datetime]
    overlap_s: float = 5.0


async def publish_changes(
    deps: CatalogDeps,
    supplier_id: str,
    integration: IntegrationSettings,
    query: Query,
    kind: CatalogKind,
) -> int:
    """Publish every `kind` record changed since the supplier's cursor; returns how many."""
    start = start_from(await deps.cursors.get(supplier_id, kind), deps.overlap_s)
    last_lmd, last_id = start, 0
    published = 0
    while True:
        rows: list[dict[str, Any]] = []
        async for row in query(_QUERIES[kind], [last_lmd, last_lmd, last_id], PAGE_SIZE):
            rows.append(row)
            if len(rows) == PAGE_SIZE:
                break
        if not rows:
            return published
        ids = [str(row["id"]) for row in rows]
        mapped = await deps.mappings.reverse(
            supplier_id, integration, "customer" if kind == "customer" else "product", ids
        )
        for row in rows:
            event: CatalogEvent
            common = {
                "event_id": deps.new_event_id(),
                "occurred_at": deps.clock(),
                "supplier_id": supplier_id,
            }
            if kind == "customer":
                event = NetSuiteCustomerChanged(**common, data=customer_of(row, mapped.get(str(row["id"]))))
            else:
                event = NetSuiteItemChanged(**common, data=item_of(row, mapped.get(str(row["id"]))))
            await deps.publish(event)
            published += 1
        last_lmd = str(rows[-1].get("lmd") or EPOCH)
        last_id = int(rows[-1]["id"])
        await deps.cursors.set(supplier_id, kind, last_lmd)
        if len(rows) < PAGE_SIZE:
            return published
