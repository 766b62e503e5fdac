"""A supplier's day, told through the real services: the steps and what each must produce."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pymongo import AsyncMongoClient
from rich.console import Console

from om_demo import _world as world
from om_demo._harness import Harness, Simulator
from om_platform.adapters.mongo.commands import CommandQueue


@dataclass
class Ids:
    """NetSuite internal ids of what the demo seeded."""

    locations: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)
    freight_item: str = ""
    surcharge_item: str = ""


class Story:
    def __init__(self, harness: Harness, console: Console) -> None:
        self.h = harness
        self.console = console
        self.ids = Ids()
        self.clock = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
        self._event_n = 0
        self.mongo: AsyncMongoClient[dict[str, Any]] | None = None
        self.notes: list[str] = []
        self.integration: dict[str, Any] = {}
        self.expired: dict[str, str] = {}
        """The token that expired (kept for the secrets check)."""
        self.renewed: dict[str, str] = {}
        self.expired_orders: set[str] = set()
        self.refused_during_outage = 0

    # -- helpers --------------------------------------------------------------------------------

    def _next_event(self) -> tuple[str, datetime]:
        self._event_n += 1
        self.clock += timedelta(minutes=7)
        return f"evt_demo_{self._event_n:04d}", self.clock

    async def emit(self, topic: str, event_type: str, data: dict[str, Any]) -> str:
        event_id, at = self._next_event()
        await self.h.publish(topic, world.envelope(event_type, event_id, at, data), key=world.SUPPLIER)
        return event_id

    @property
    def sim(self) -> Simulator:
        assert self.h.sim is not None
        return self.h.sim

    async def command(self, service: str, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.mongo is not None
        queue = CommandQueue(self.mongo[f"om_{service}"])
        for _ in range(60):
            command_id = await queue.submit(command, world.SUPPLIER, args or {})
            document = await queue.wait(command_id, timeout=120)
            if not str(document.get("error") or "").startswith("LeaseBusy"):
                break
            # The service's own scheduler runs the same job right now (it ticks every second here,
            # and runs at once when a connection comes back): ask again, as an operator would.
            await asyncio.sleep(0.5)
        if document["status"] != "done":
            raise RuntimeError(f"{service} {command} failed: {document.get('error')}")
        result: dict[str, Any] = document.get("result") or {}
        return result

    async def wait_projected(self, timeout: float = 60.0) -> None:
        """Wait until every service has applied the integration and order_sync knows every mapping.

        In production the integration is configured long before orders flow; in a demo that starts
        everything at once, orders sent before the settings are projected would fail (correctly,
        with INTEGRATION_NOT_CONFIGURED) and need a re-sync.
        """
        assert self.mongo is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        expected_mappings = len(world.VENUES) + len(world.ITEMS)
        while loop.time() < deadline:
            configured = [
                await self.mongo[f"om_{service}"]["integrations"].count_documents(
                    {"_id": world.SUPPLIER, "status": "configured"}
                )
                for service in ("order_sync", "stock_sync", "finance_sync")
            ]
            mappings = await self.mongo["om_order_sync"]["mappings"].count_documents(
                {"supplier_id": world.SUPPLIER}
            )
            if all(configured) and mappings >= expected_mappings:
                return
            await asyncio.sleep(0.2)  # other processes write these documents: nothing to await
        raise TimeoutError("the services did not project the integration and mappings in time")

    def customer_properties(self) -> dict[str, str]:
        """NetSuite hints Ordermentum keeps on every venue (and carries in each order)."""
        return {
            "netsuite_freight_item_id": self.ids.freight_item,
            "netsuite_department_id": "2",
            "netsuite_class_id": "4",
        }

    def order(
        self,
        order_id: str,
        number: str,
        venue: world.Venue,
        lines: list[tuple[world.Item, int]],
        **options: Any,
    ) -> dict[str, Any]:
        return world.order_payload(
            order_id,
            number,
            venue,
            lines,
            placed_at=self.clock,
            customer_properties=self.customer_properties(),
            **options,
        )

    def say(self, text: str) -> None:
        self.console.print(f"[bold cyan]▸[/] {text}")

    # -- the day --------------------------------------------------------------------------------

    async def seed_netsuite(self) -> None:
        self.say(
            "NetSuite: the supplier's account with 3 warehouses, 7 items, freight and surcharge items, 4 customers"
        )
        creds = await self.sim.create_account(limit=5)
        self.credentials = creds
        for location in world.LOCATIONS:
            self.ids.locations[location.key] = (
                await self.sim.call("POST", "locations", {"name": location.name})
            )["id"]
        for item in world.ITEMS:
            self.ids.items[item.product_id] = await self.sim.add_item(item)
        self.ids.freight_item = await self.sim.add_charge_item("FREIGHT", "Freight", world.GST)
        self.ids.surcharge_item = await self.sim.add_charge_item(
            "SURCHARGE", "Card surcharge", world.GST_FREE
        )
        for venue in world.VENUES:
            self.ids.customers[venue.customer_id] = await self.sim.add_customer(venue)
        rows = [
            {
                "item_id": self.ids.items[item.product_id],
                "location_id": self.ids.locations[loc.key],
                "on_hand": qty,
            }
            for item in world.ITEMS
            for loc, qty in zip(world.LOCATIONS, item.stock, strict=True)
        ]
        await self.sim.call("POST", "stock", {"rows": rows})
        for ref_type, rid, name in (
            ("department", "2", "Wholesale"),
            ("classification", "4", "Coffee"),
            ("employee", "7", "Sam Rep"),
            ("account", world.FEES_ACCOUNT, "Merchant Fees"),
        ):
            await self.sim.call("POST", "references", {"type": ref_type, "id": rid, "name": name})

    async def configure_integration(self) -> None:
        self.say(
            "Ordermentum: the supplier connects NetSuite (credentials sealed with the key ring) — orders sync, stock, finance, reconciliation"
        )
        loc = self.ids.locations
        self.integration = integration = {
            "account_id": world.ACCOUNT,
            "credentials": self.sealed(self.credentials),
            "sync_type": "orders",
            "concurrency_limit": 5,
            "stock": {
                "enabled": True,
                "field": "available",
                "location_ids": f"{loc['syd']},{loc['mel']},{loc['bne']}",
                "interval_minutes": 15,
            },
            "auto_reconciliation": {
                "enabled": True,
                "bank_account_id": "112",
                "payment": {"class_id": "4", "location_id": loc["syd"], "department_id": "2"},
                "deposit": {"class_id": "4", "location_id": loc["syd"], "department_id": "2"},
                "fees_account_id": world.FEES_ACCOUNT,
            },
            "finalised_invoice_sync": True,
            "inbound_credit_notes": True,
            "mark_invoices_paid": True,
            "surcharge_item_id": self.ids.surcharge_item,
            "product_mappings": {},
            "customer_mappings": {
                world.VENUES[0].customer_id: self.ids.customers[world.VENUES[0].customer_id]
            },
        }
        await self.emit("ordermentum.integrations.v1", "integration.netsuite.configured", integration)
        for venue in world.VENUES:
            data = world.customer_payload(venue, self.ids.customers[venue.customer_id])
            data["properties"].update(self.customer_properties())
            await self.emit("ordermentum.customers.v1", "customer.upserted", data)
        for item in world.ITEMS:
            netsuite_id = self.ids.items[item.product_id] if item.mapped else None
            await self.emit(
                "ordermentum.products.v1", "product.upserted", world.product_payload(item, netsuite_id)
            )

    def sealed(self, credentials: dict[str, str]) -> dict[str, str]:
        """The integration's credentials as Ordermentum publishes them: sealed with the key ring."""
        return self.h.seal_tba(credentials)

    async def token_expires(self) -> set[str]:
        """Early afternoon the NetSuite access token expires; orders keep coming. Returns their ids."""
        self.say(
            "Early afternoon: the supplier's NetSuite access token expires (NetSuite now refuses it) while "
            "4 more orders arrive"
        )
        self.renewed = (await self.sim.call("POST", "token", {}))["credentials"]
        items = {i.product_id: i for i in world.ITEMS}
        v = world.VENUES
        placed = (
            ("ord_1010", v[0], "prd_house_1kg", 2),
            ("ord_1011", v[1], "prd_decaf_1kg", 1),
            ("ord_1012", v[2], "prd_cold_brew", 4),
            ("ord_1013", v[3], "prd_chai_1kg", 3),
        )
        for order_id, venue, product, qty in placed:
            self.orders[order_id] = self.order(order_id, f"10{order_id[4:]}", venue, [(items[product], qty)])
            await self.emit("ordermentum.orders.v1", "order.placed", self.orders[order_id])
        return {order_id for order_id, *_ in placed}

    async def reconnect(self) -> None:
        """The supplier re-authorises NetSuite in Ordermentum: the integration carries the new token."""
        self.say(
            "The supplier re-authorises NetSuite in Ordermentum: its integration now carries the new token "
            "(no operator, no resync command)"
        )
        self.expired = self.credentials
        self.credentials = self.renewed
        self.integration = {**self.integration, "credentials": self.sealed(self.credentials)}
        await self.emit("ordermentum.integrations.v1", "integration.netsuite.configured", self.integration)

    async def orders_morning(self) -> None:
        self.say("Morning: 5 orders placed; one includes the new Seasonal Espresso, which is not mapped yet")
        items = {i.product_id: i for i in world.ITEMS}
        v = world.VENUES
        self.orders = {
            "ord_1001": self.order(
                "ord_1001",
                "101001",
                v[0],
                [(items["prd_house_1kg"], 3), (items["prd_cold_brew"], 2), (items["prd_cups_8oz"], 1)],
                surcharge=Decimal("2.35"),
            ),
            "ord_1002": self.order("ord_1002", "101002", v[1], [(items["prd_single_1kg"], 2)]),
            "ord_1003": self.order(
                "ord_1003",
                "101003",
                v[2],
                [(items["prd_decaf_1kg"], 1), (items["prd_chai_1kg"], 4)],
                freight=None,
            ),
            "ord_1004": self.order(
                "ord_1004",
                "101004",
                v[3],
                [(items["prd_seasonal_500g"], 6), (items["prd_house_1kg"], 1)],
            ),
            "ord_1005": self.order(
                "ord_1005",
                "101005",
                v[0],
                [(items["prd_cold_brew"], 5)],
                notes="Leave at back door",
            ),
        }
        self.placed_events: dict[str, str] = {}
        for order_id, order in self.orders.items():
            self.placed_events[order_id] = await self.emit("ordermentum.orders.v1", "order.placed", order)

    async def edits(self) -> None:
        self.say("Mid-morning: Harbour Eats adds decaf to its order; The Grind cancels")
        items = {i.product_id: i for i in world.ITEMS}
        v = world.VENUES
        edited = self.order(
            "ord_1002",
            "101002",
            v[1],
            [(items["prd_single_1kg"], 2), (items["prd_decaf_1kg"], 2)],
        )
        self.orders["ord_1002"] = edited
        await self.emit("ordermentum.orders.v1", "order.updated", edited)
        await self.emit("ordermentum.orders.v1", "order.cancelled", self.orders["ord_1003"])

    async def outage(self) -> None:
        self.say("Late morning: NetSuite has a bad patch (503s and 429s) while 3 more orders arrive")
        await self.sim.call(
            "POST",
            "faults",
            {
                "rules": [
                    {"kind": "5xx", "status": 503, "count": 6},
                    {"kind": "429", "count": 4},
                    {"kind": "commit_then_500", "count": 1, "method": "PUT"},
                ]
            },
        )
        items = {i.product_id: i for i in world.ITEMS}
        v = world.VENUES
        for n, (venue, item, qty) in enumerate(
            ((v[1], "prd_house_1kg", 4), (v[2], "prd_chai_1kg", 2), (v[3], "prd_cold_brew", 3)), start=6
        ):
            order_id = f"ord_100{n}"
            self.orders[order_id] = self.order(order_id, f"10100{n}", venue, [(items[item], qty)])
            await self.emit("ordermentum.orders.v1", "order.placed", self.orders[order_id])

    async def preview(self, order_id: str) -> dict[str, Any]:
        """`omctl preview` of an order's event, as an operator runs it; returns its JSON and the
        NetSuite writes the simulator saw meanwhile (there must be none)."""
        self.say(
            f"Operator: `omctl preview` of {order_id} shows what order_sync would send, and why it fails"
        )
        event_id = self.placed_events[order_id]
        before = await self.sim.call("GET", "requests")
        env = {**os.environ, **self.h.connection_env(), "COLUMNS": "200"}  # the harness's stack, any kind
        command = [
            sys.executable,
            "-m",
            "omctl",
            "preview",
            "--event-id",
            event_id,
            "--supplier",
            world.SUPPLIER,
        ]
        done = await asyncio.to_thread(
            subprocess.run,
            [*command, "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        after = await self.sim.call("GET", "requests")
        shown: dict[str, Any] = json.loads(done.stdout)
        new = after["requests"][len(before["requests"]) :]
        # SuiteQL is a read sent with POST (the currency lookup is one).
        writes = ("POST", "PUT", "PATCH", "DELETE")
        shown["writes_during_preview"] = [r for r in new if r[0] in writes and not r[1].endswith("/suiteql")]
        for problem in shown["problems"]:
            self.console.print(f"  [yellow]![/] {problem['code']}: {problem['reason']}")
        decided = sum(1 for d in shown["decisions"] if d["value"] is not None)
        self.console.print(
            f"  {decided} of {len(shown['decisions'])} NetSuite ids resolved (each with its source); "
            f"{len(new)} NetSuite request(s) read, {len(shown['writes_during_preview'])} written"
        )
        return shown

    async def fix_mapping(self) -> None:
        self.say(
            "Noon: the supplier maps Seasonal Espresso in Ordermentum; the failed order heals by itself (no resync command, nothing re-sent)"
        )
        item = next(i for i in world.ITEMS if not i.mapped)
        await self.emit(
            "ordermentum.products.v1",
            "product.upserted",
            world.product_payload(item, self.ids.items[item.product_id]),
        )

    async def commands_sent(self, service: str, command: str) -> int:
        """How many `command`s the day queued for a service (the heal needs none)."""
        assert self.mongo is not None
        return await self.mongo[f"om_{service}"]["operator_commands"].count_documents({"command": command})

    async def billing(self, sales_orders: dict[str, str]) -> dict[str, str]:
        """Accounts bill four sales orders in NetSuite and credit one line; returns order id -> invoice id."""
        self.say(
            "Afternoon, in NetSuite: accounts bill 4 sales orders and raise a credit memo for a damaged carton"
        )
        invoices: dict[str, str] = {}
        for order_id in ("ord_1001", "ord_1002", "ord_1005", "ord_1006"):
            answer = await self.sim.call("POST", f"sales-orders/{sales_orders[order_id]}/bill", {})
            invoices[order_id] = answer["id"]
        await self.sim.call("POST", f"invoices/{invoices['ord_1005']}/credit", {})
        return invoices

    async def payments(self, sales_orders: dict[str, str]) -> None:
        self.say(
            "Ordermentum payments: one pays a billed order, one an order not yet billed (a customer deposit "
            "on its sales order), one from an unknown venue; then a payout"
        )
        first = self.orders["ord_1001"]
        unbilled = self.orders["ord_1004"]
        # Paid in full in advance: the amount NetSuite booked for the order.
        booked = await self.sim.call("GET", f"records/salesOrder/{sales_orders['ord_1004']}")
        advance = str(Decimal(str(booked["total"])).quantize(Decimal("0.01")))

        def payment(
            pid: str, customer: dict[str, Any], amount: str, order: dict[str, Any] | None
        ) -> dict[str, Any]:
            allocations = (
                [
                    {
                        "invoice_id": f"inv_{order['id'][4:]}",
                        "invoice_number": f"INV-{order['number']}",
                        "order_id": order["id"],
                        "amount": amount,
                    }
                ]
                if order
                else []
            )
            return {
                "id": pid, "customer": customer, "amount": amount, "currency": world.CURRENCY,
                "paid_at": self.clock.isoformat(), "method": "card", "reference": f"OMP-{pid[-4:]}", "allocations": allocations,
            }  # fmt: skip

        await self.emit(
            "ordermentum.payments.v1",
            "payment.succeeded",
            payment("pay_0001", first["customer"], first["totals"]["total"], first),
        )
        await self.emit(
            "ordermentum.payments.v1",
            "payment.succeeded",
            payment("pay_0002", unbilled["customer"], advance, unbilled),
        )
        stranger = {"id": "cus_unknown_kiosk", "name": "Pop-up Kiosk", "properties": {}}
        await self.emit(
            "ordermentum.payments.v1", "payment.succeeded", payment("pay_0003", stranger, "12.00", None)
        )
        fees = Decimal("1.20")
        net = Decimal(first["totals"]["total"]) + Decimal(advance) - fees  # what reached the bank
        payout = {
            "id": "po_0001", "settled_at": self.clock.isoformat(), "amount": str(net), "currency": world.CURRENCY,
            "reference": "OM-SETTLE-0001", "payment_ids": ["pay_0001", "pay_0002"], "fees": str(fees),
        }  # fmt: skip
        await self.emit("ordermentum.payments.v1", "payout.settled", payout)

    async def bill_paid_in_advance(self, sales_orders: dict[str, str], invoices: dict[str, str]) -> None:
        """Accounts bill ord_1004: NetSuite applies its customer deposit to the new invoice."""
        self.say(
            "In NetSuite: accounts bill ord_1004, paid in advance; NetSuite applies its customer deposit"
        )
        answer = await self.sim.call("POST", f"sales-orders/{sales_orders['ord_1004']}/bill", {})
        invoices["ord_1004"] = answer["id"]

    async def void_in_netsuite(self, invoices: dict[str, str]) -> None:
        """Accounts void ord_1006's invoice, already published to Ordermentum as finalised."""
        self.say(
            "In NetSuite: accounts void ord_1006's invoice (billed by mistake); finance_sync tells Ordermentum"
        )
        await self.sim.call("POST", f"invoices/{invoices['ord_1006']}/void", {})

    async def customer_pays_in_netsuite(self, invoices: dict[str, str]) -> None:
        self.say("In NetSuite: Harbour Eats pays its invoice by bank transfer, recorded by accounts")
        invoice = await self.sim.call("GET", f"records/invoice/{invoices['ord_1002']}")
        remaining = str(invoice.get("amountRemaining") or invoice.get("total"))
        customer = invoice["entity"]["id"] if isinstance(invoice.get("entity"), dict) else invoice["entity"]
        await self.sim.call(
            "POST",
            "payments",
            {"customer_id": customer, "amount": remaining, "applications": {invoices["ord_1002"]: remaining}},
        )

    async def stock_changes(self) -> None:
        self.say("Warehouse: the morning's picking changes stock of 2 items")
        changes = (("prd_house_1kg", "syd", 111), ("prd_cold_brew", "mel", 38))
        rows = [
            {"item_id": self.ids.items[pid], "location_id": self.ids.locations[loc], "on_hand": qty}
            for pid, loc, qty in changes
        ]
        await self.sim.call("POST", "stock", {"rows": rows})

    async def leave_practice_material(self) -> None:
        """Evening: something for the operator to practise on, left unresolved on purpose.

        An order for a gift box that was never mapped (it fails with UNMAPPED_PRODUCT and stays
        failed: `omctl status`, `omctl resync --record ord_1009` once mapped) and a broken event on
        the orders topic (a dead letter: `omctl dlq list`, `dlq show`, `dlq redrive`).
        """
        self.say(
            "Evening: a gift box nobody mapped is ordered, and a broken event arrives (left for practice)"
        )
        gift_box = world.Item(
            "prd_gift_box", "GIFT-BOX", "Gift box", Decimal("25.00"), (0, 0, 0), mapped=False
        )
        self.orders["ord_1009"] = self.order("ord_1009", "101009", world.VENUES[0], [(gift_box, 1)])
        await self.emit("ordermentum.orders.v1", "order.placed", self.orders["ord_1009"])
        assert self.h.producer is not None
        broken = b'{"id": "evt_demo_broken", "note": "not an Ordermentum event envelope"}'
        await self.h.producer.send_and_wait("ordermentum.orders.v1", broken, key=world.SUPPLIER.encode())
