"""The day's third supplier, on invoice sync: Ordermentum's invoices become NetSuite invoices.

Crumb & Co (a bakery, TBA) has `sync_type: "invoices"`: order_sync writes each
`invoice.issued` as a NetSuite invoice (external id `OM-INV-<id>`), and an `invoice.voided` as a
credit memo transformed from it (external id `OM-INV-<id>-VOID`, applied in full), so the day
writes every record type the services write. Its account is checked like the first supplier's:
every body held to NetSuite's published schemas (`schema_violations` in the simulator's stats).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pymongo import AsyncMongoClient
from rich.console import Console

from om_demo import _world as world
from om_demo._harness import Harness, OtherSupplier

SUPPLIER = "sup_crumb_co"
ACCOUNT = "7654323_SB1"
INVOICES_TOPIC = "ordermentum.invoices.v1"
VENUE = world.Venue("cus_corner_deli", "Corner Deli", "accounts@cornerdeli.example")
ITEMS = (
    world.Item("prd_sourdough", "BRD-SOUR-800G", "Sourdough 800g", Decimal("7.80"), (0, 0, 0)),
    world.Item("prd_croissant_12", "PAS-CROIS-12", "Croissants x12", Decimal("21.60"), (0, 0, 0)),
)
KEPT, VOIDED = "inv_crumb_01", "inv_crumb_02"


class InvoiceSupplier(OtherSupplier):
    def __init__(self, harness: Harness, console: Console, mongo: AsyncMongoClient[dict[str, Any]]) -> None:
        super().__init__(
            harness, console, mongo, SUPPLIER, ACCOUNT, datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
        )
        self.credentials: dict[str, str] = {}
        self.invoices: dict[str, dict[str, Any]] = {}

    def invoice(self, invoice_id: str, number: str, lines: list[tuple[world.Item, int]]) -> dict[str, Any]:
        """An Ordermentum invoice: the order's shape plus its order, issue time and due date."""
        data = world.order_payload(invoice_id, number, VENUE, lines, placed_at=self.clock, freight=None)
        return {
            **data,
            "order_id": f"ord_{invoice_id[4:]}",
            "issued_at": (self.clock + timedelta(hours=2)).isoformat(),
            "due_date": (self.clock + timedelta(days=30)).date().isoformat(),
        }

    async def connect(self) -> None:
        self.console.print(
            "[bold cyan]▸[/] A third supplier, Crumb & Co, syncs invoices (sync_type invoices): "
            "2 Ordermentum invoices become NetSuite invoices; then one is voided in Ordermentum "
            "(a credit memo in NetSuite)"
        )
        self.credentials = await self.sim.create_account(limit=3)
        self.ids[VENUE.customer_id] = await self.sim.add_customer(VENUE)
        for item in ITEMS:
            self.ids[item.product_id] = await self.sim.add_item(item)
        integration = {
            "account_id": ACCOUNT,
            "credentials": self.h.seal_tba(self.credentials),
            "sync_type": "invoices",
            "concurrency_limit": 3,
            "customer_mappings": {VENUE.customer_id: self.ids[VENUE.customer_id]},
            "product_mappings": {item.product_id: self.ids[item.product_id] for item in ITEMS},
        }
        await self.emit("ordermentum.integrations.v1", "integration.netsuite.configured", integration)
        collection = self.mongo["om_order_sync"]["integrations"]
        for _ in range(300):
            if await collection.count_documents({"_id": SUPPLIER, "status": "configured"}):
                break
            await asyncio.sleep(0.2)  # another process writes it: nothing to await
        else:
            raise TimeoutError("order_sync did not apply Crumb & Co's integration in time")
        sourdough, croissants = ITEMS
        self.invoices = {
            KEPT: self.invoice(KEPT, "CR-0001", [(sourdough, 12), (croissants, 2)]),
            VOIDED: self.invoice(VOIDED, "CR-0002", [(croissants, 3)]),
        }
        for invoice in self.invoices.values():
            await self.emit(INVOICES_TOPIC, "invoice.issued", invoice)
        # Issued in error: Ordermentum voids it (order_sync runs one invoice's events in order).
        await self.emit(INVOICES_TOPIC, "invoice.voided", self.invoices[VOIDED])
