"""The change feeds of the three polled features, built on the NetSuite gateway and mappings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from finance_sync.adapters.netsuite_gateway import FinanceGateway
from finance_sync.domain.documents import credit_note_event, finalised_invoice_event, invoice_paid_event
from finance_sync.domain.schedule import Feature, Position
from finance_sync.service_layer.polling import FetchPage, Page
from finance_sync.service_layer.ports import Mappings
from om_contracts import IntegrationSettings

log = logging.getLogger(__name__)


def feed(
    feature: Feature,
    supplier_id: str,
    integration: IntegrationSettings,
    gateway: FinanceGateway,
    mappings: Mappings,
    *,
    default_currency: str,
    paid_lookback: timedelta,
) -> FetchPage:
    """The page fetcher of `feature` for one supplier."""
    builders: dict[Feature, Callable[[], FetchPage]] = {
        Feature.FINALISED_INVOICES: lambda: _finalised(
            supplier_id, integration, gateway, mappings, default_currency
        ),
        Feature.CREDIT_NOTES: lambda: _credit_notes(
            supplier_id, integration, gateway, mappings, default_currency
        ),
        Feature.PAID_INVOICES: lambda: _paid(supplier_id, gateway, paid_lookback),
    }
    return builders[feature]()


def _finalised(
    supplier_id: str,
    integration: IntegrationSettings,
    gateway: FinanceGateway,
    mappings: Mappings,
    currency: str,
) -> FetchPage:
    async def fetch(after: Position, until: datetime, limit: int) -> Page:
        invoices = await gateway.invoices_created(after, until, limit)
        if not invoices:
            return Page(0, None)
        items = {line.item_id for invoice in invoices for line in invoice.lines if line.item_id}
        products = await mappings.reverse(supplier_id, integration, "product", items)
        events: list[tuple[str, BaseModel | None]] = [
            (f"{inv.id}@created", finalised_invoice_event(supplier_id, inv, products, currency))
            for inv in invoices
        ]
        last = invoices[-1]
        return Page(len(invoices), Position(last.created_at, int(last.id)), events)

    return fetch


def _credit_notes(
    supplier_id: str,
    integration: IntegrationSettings,
    gateway: FinanceGateway,
    mappings: Mappings,
    currency: str,
) -> FetchPage:
    async def fetch(after: Position, until: datetime, limit: int) -> Page:
        memos = await gateway.credit_memos_created(after, until, limit)
        if not memos:
            return Page(0, None)
        items = {line.item_id for memo in memos for line in memo.lines if line.item_id}
        products = await mappings.reverse(supplier_id, integration, "product", items)
        entities = {memo.entity_id for memo in memos if memo.entity_id}
        customers = await mappings.reverse(supplier_id, integration, "customer", entities)
        events: list[tuple[str, BaseModel | None]] = []
        for memo in memos:
            customer = customers.get(memo.entity_id or "")
            if customer is None:
                log.warning(
                    "credit memo %s is for a NetSuite customer mapped to no Ordermentum customer; not published",
                    memo.id,
                    extra={"supplier_id": supplier_id, "netsuite_customer_id": memo.entity_id},
                )
            events.append(
                (f"{memo.id}@created", credit_note_event(supplier_id, memo, customer, products, currency))
            )
        last = memos[-1]
        return Page(len(memos), Position(last.created_at, int(last.id)), events)

    return fetch


def _paid(supplier_id: str, gateway: FinanceGateway, lookback: timedelta) -> FetchPage:
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
