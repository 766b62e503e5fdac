"""The change feeds of the polled features, built on the NetSuite gateway and mappings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from finance_sync.domain.cursors import Position
from finance_sync.domain.documents import (
    DeletedInvoice,
    InvoiceDocument,
    InvoiceRow,
    credit_note_event,
    finalised_invoice_event,
    invoice_change_event,
    invoice_deleted_event,
    invoice_paid_event,
    version_of,
)
from finance_sync.domain.features import Feature
from finance_sync.service_layer.polling import FetchPage, Page
from finance_sync.service_layer.ports import DocumentFeeds, InvoiceVersions, Mappings
from om_contracts import (
    IntegrationSettings,
    NetSuiteFinalisedInvoiceVoided,
    NetSuiteInvoiceFinalised,
    NetSuiteInvoiceUpdated,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Supplier:
    """One supplier's feeds: its settings, NetSuite account, mappings and stores."""

    id: str
    integration: IntegrationSettings
    gateway: DocumentFeeds
    mappings: Mappings
    currency: str
    versions: InvoiceVersions

    async def products(self, item_ids: Iterable[str | None]) -> dict[str, str]:
        """NetSuite item id -> Ordermentum product id for the mapped ones."""
        wanted = {i for i in item_ids if i}
        return await self.mappings.reverse(self.id, self.integration, "product", wanted)

    async def remember(self, events: Sequence[BaseModel]) -> None:
        """Record what each published invoice event said, before its key is marked published."""
        documents: list[InvoiceDocument] = [
            e
            for e in events
            if isinstance(
                e, NetSuiteInvoiceFinalised | NetSuiteInvoiceUpdated | NetSuiteFinalisedInvoiceVoided
            )
        ]
        await self.versions.remember(self.id, [version_of(e) for e in documents])


def feed(
    feature: Feature,
    supplier_id: str,
    integration: IntegrationSettings,
    gateway: DocumentFeeds,
    mappings: Mappings,
    *,
    default_currency: str,
    paid_lookback: timedelta,
    versions: InvoiceVersions,
) -> FetchPage:
    """The page fetcher of `feature` for one supplier."""
    supplier = _Supplier(supplier_id, integration, gateway, mappings, default_currency, versions)
    builders: dict[Feature, Callable[[], FetchPage]] = {
        Feature.FINALISED_INVOICES: lambda: _finalised(supplier),
        Feature.INVOICE_CHANGES: lambda: _changes(supplier),
        Feature.CREDIT_NOTES: lambda: _credit_notes(supplier),
        Feature.PAID_INVOICES: lambda: _paid(supplier_id, gateway, paid_lookback),
    }
    return builders[feature]()


def _finalised(supplier: _Supplier) -> FetchPage:
    async def fetch(after: Position, until: datetime, limit: int) -> Page:
        invoices = await supplier.gateway.invoices_created(after, until, limit)
        if not invoices:
            return Page(0, None)
        products = await supplier.products(line.item_id for inv in invoices for line in inv.lines)
        events: list[tuple[str, BaseModel | None]] = [
            (f"{inv.id}@created", finalised_invoice_event(supplier.id, inv, products, supplier.currency))
            for inv in invoices
        ]
        last = invoices[-1]
        return Page(len(invoices), Position(last.created_at, int(last.id)), events, supplier.remember)

    return fetch


def _changes(supplier: _Supplier) -> FetchPage:
    """Finalised invoices edited, voided (lastmodifieddate) or deleted (deletedrecord) in NetSuite.

    Both feeds are read from the same position and merged in (time, id) order; a page holds the
    first `limit` of the merge and ends at the last of them, so the next page re-reads whatever
    either feed had beyond it.
    """

    async def fetch(after: Position, until: datetime, limit: int) -> Page:
        modified = await supplier.gateway.invoices_modified(after, until, limit)
        deleted = await supplier.gateway.invoices_deleted(after, until, limit)
        found: list[tuple[Position, InvoiceRow | DeletedInvoice]] = [
            (Position(r.modified_at or r.created_at, int(r.id)), r) for r in modified
        ]
        found.extend((Position(d.deleted_at, int(d.id)), d) for d in deleted)
        merged = sorted(found, key=lambda pair: pair[0])[:limit]
        if not merged:
            return Page(0, None)
        rows = [row for _, row in merged]
        known = await supplier.versions.many(supplier.id, [row.id for row in rows])
        products = await supplier.products(
            line.item_id for row in rows if isinstance(row, InvoiceRow) for line in row.lines
        )
        events: list[tuple[str, BaseModel | None]] = [
            invoice_change_event(supplier.id, row, known.get(row.id), products, supplier.currency)
            if isinstance(row, InvoiceRow)
            else invoice_deleted_event(supplier.id, row, known.get(row.id))
            for row in rows
        ]
        return Page(len(merged), merged[-1][0], events, supplier.remember)

    return fetch


def _credit_notes(supplier: _Supplier) -> FetchPage:
    async def fetch(after: Position, until: datetime, limit: int) -> Page:
        memos = await supplier.gateway.credit_memos_created(after, until, limit)
        if not memos:
            return Page(0, None)
        products = await supplier.products(line.item_id for memo in memos for line in memo.lines)
        entities = {memo.entity_id for memo in memos if memo.entity_id}
        customers = await supplier.mappings.reverse(supplier.id, supplier.integration, "customer", entities)
        events: list[tuple[str, BaseModel | None]] = []
        for memo in memos:
            customer = customers.get(memo.entity_id or "")
            if customer is None:
                log.warning(
                    "credit memo %s is for a NetSuite customer mapped to no Ordermentum customer; not published",
                    memo.id,
                    extra={"supplier_id": supplier.id, "netsuite_customer_id": memo.entity_id},
                )
            events.append(
                (
                    f"{memo.id}@created",
                    credit_note_event(supplier.id, memo, customer, products, supplier.currency),
                )
            )
        last = memos[-1]
        return Page(len(memos), Position(last.created_at, int(last.id)), events)

    return fetch


def _paid(supplier_id: str, gateway: DocumentFeeds, lookback: timedelta) -> FetchPage:
    async def fetch(after: Position, until: datetime, limit: int) -> Page:
        changes = await gateway.payment_changes(after, until, limit)
        if not changes:
            return Page(0, None)
        paid_at: dict[str, datetime] = {}
        for change in changes:
            if change.entity_id:
                paid_at[change.entity_id] = max(change.at, paid_at.get(change.entity_id, change.at))
        invoices = await gateway.paid_known_invoices(paid_at, until - lookback)
        events: list[tuple[str, BaseModel | None]] = [
            (f"{inv.id}@paid", invoice_paid_event(supplier_id, inv, paid_at[inv.entity_id or ""]))
            for inv in invoices
            if inv.entity_id in paid_at
        ]
        return Page(len(changes), changes[-1].position, events)

    return fetch
