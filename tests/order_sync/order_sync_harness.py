"""Test harness: an order_sync runtime in process against the embedded broker, Mongo-protocol
server and the NetSuite simulator over HTTP, plus helpers to produce events and read outcomes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from om_contracts import (
    CUSTOMERS_TOPIC,
    INTEGRATIONS_TOPIC,
    INVOICES_TOPIC,
    ORDERS_TOPIC,
    PRODUCTS_TOPIC,
    SYNC_RESULTS_TOPIC,
    KeyRing,
)
from om_netsuite_sim import Account, SimulatorServer
from order_sync.app import Wired, wire
from order_sync.settings import Settings
from support import integration

KEY = KeyRing.generate_key()
RING = KeyRing([KEY])


def settings_for(
    *,
    kafka_bootstrap: str,
    mongo_url: str,
    idempotence: bool,
    name: str,
    simulator_url: str,
    **overrides: Any,
) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_enable_idempotence": idempotence,
        "kafka_consumer_group": f"order-sync-{name}",
        "kafka_session_timeout_ms": 1000,
        "kafka_heartbeat_interval_ms": 250,
        "kafka_commit_interval_ms": 50,
        "retry_base_delay_s": 0.05,
        "retry_max_delay_s": 0.5,
        "mongodb_url": mongo_url,
        "mongodb_database": f"order_sync_{name}",
        "netsuite_budget_database": f"budget_{name}",
        "netsuite_credentials_keys": KEY,
        "netsuite_base_url": simulator_url,
        "netsuite_timeout_s": 5.0,
        "catalog_enabled": False,
        "shutdown_grace_s": 5,
        "http_port": 0,
        "command_poll_s": 0.1,
        "kafka_fetch_max_wait_ms": 20,
        "log_format": "text",
        **overrides,
    }
    return Settings(**values)


def envelope(
    event_type: str, supplier_id: str, data: dict[str, Any], *, event_id: str, occurred_at: str
) -> bytes:
    return json.dumps(
        {
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": occurred_at,
            "supplier_id": supplier_id,
            "data": data,
        }
    ).encode()


@dataclass
class Supplier:
    """One supplier with its own simulated NetSuite account, seeded like a real one."""

    supplier_id: str
    account_id: str
    account: Account
    customer_id: str
    items: dict[str, str]  # Ordermentum product id -> NetSuite item id
    freight_item: str
    surcharge_item: str
    location_id: str
    sync_type: str = "orders"
    concurrency_limit: int = 5
    counter: int = 0

    def integration(self, **overrides: Any) -> dict[str, Any]:
        return {
            **integration(self.account_id, RING, self.account.credentials),
            "sync_type": self.sync_type,
            "concurrency_limit": self.concurrency_limit,
            "surcharge_item_id": self.surcharge_item,
            "product_mappings": {},
            "customer_mappings": {},
            **overrides,  # may replace the account too (hostile records use an account nobody has)
        }

    def next_event_id(self) -> str:
        self.counter += 1
        return f"evt_{self.supplier_id}_{self.counter}"

    def order(
        self,
        order_id: str,
        *,
        products: tuple[str, ...] = ("prd_a", "prd_b", "prd_c"),
        quantities: tuple[str, ...] = ("3", "1.5", "2"),
        prices: tuple[str, ...] = ("42.50", "9.99", "0.125"),
        customer_id: str = "cus_1",
        customer_mapped: bool = True,
        freight: str | None = "15.00",
        surcharge: str | None = "2.35",
        mapped_products: bool = True,
        invoice: bool = False,
    ) -> dict[str, Any]:
        lines = []
        for index, (product, quantity, price) in enumerate(zip(products, quantities, prices, strict=True)):
            props = {"netsuite_id": self.items[product]} if mapped_products and product in self.items else {}
            lines.append(
                {
                    "id": f"ln_{index}",
                    "quantity": quantity,
                    "unit_price": price,
                    "tax_rate": "0.10",
                    "product": {
                        "id": product,
                        "sku": product.upper(),
                        "name": f"Product {product}",
                        "properties": props,
                    },
                }
            )
        customer_props: dict[str, Any] = {
            "netsuite_freight_item_id": self.freight_item,
            "netsuite_department_id": "1",
            "netsuite_sales_rep_id": "3",
        }
        if customer_mapped:
            customer_props["netsuite_id"] = self.customer_id
        data: dict[str, Any] = {
            "id": order_id,
            "number": f"N{order_id[-6:]}",
            "purchase_order_number": "PO-5521",
            "placed_at": "2026-11-24T09:15:00+11:00",
            "delivery_date": "2026-11-26",
            "currency": "AUD",
            "customer": {"id": customer_id, "name": "Café Luna", "properties": customer_props},
            "lines": lines,
            "freight": {"amount": freight, "tax_rate": "0.10"} if freight else None,
            "surcharge": {"amount": surcharge, "description": "Card surcharge"} if surcharge else None,
            "notes": "Leave at back door",
            "properties": {"netsuite_location_id": self.location_id, "netsuite_class_id": "4"},
            "totals": gst_totals(lines, freight, surcharge),
        }
        if invoice:
            data["issued_at"] = "2026-11-25T10:00:00+11:00"
            data["due_date"] = "2026-12-25"
            data["order_id"] = f"ord_{order_id}"
        return data


def gst_totals(lines: list[dict[str, Any]], freight: str | None, surcharge: str | None) -> dict[str, str]:
    """Ordermentum's totals of an order: each line's rate on its amount, rounded per line (as
    NetSuite books GST), freight at its rate, the surcharge untaxed."""
    cent = Decimal("0.01")
    amounts = [
        (Decimal(line["quantity"]) * Decimal(line["unit_price"])).quantize(cent, ROUND_HALF_UP)
        for line in lines
    ]
    rates = [Decimal(line.get("tax_rate") or "0") for line in lines]
    freight_amount, surcharge_amount = Decimal(freight or "0"), Decimal(surcharge or "0")
    tax = sum(
        ((amount * rate).quantize(cent, ROUND_HALF_UP) for amount, rate in zip(amounts, rates, strict=True)),
        Decimal(0),
    ) + (freight_amount * Decimal("0.10")).quantize(cent, ROUND_HALF_UP)
    subtotal = sum(amounts, Decimal(0))
    return {
        "subtotal": str(subtotal),
        "freight": str(freight_amount),
        "surcharge": str(surcharge_amount),
        "tax": str(tax),
        "total": str(subtotal + freight_amount + surcharge_amount + tax),
    }


def seed_supplier(
    server: SimulatorServer, name: str, *, sync_type: str = "orders", concurrency_limit: int = 5
) -> Supplier:
    digits = str(int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**9)
    account_id = f"{digits}_SB1"
    server.sim.add_account(account_id, concurrency_limit=concurrency_limit)
    account = server.sim.account(account_id)
    customer = account.add_customer("Café Luna", email="accounts@cafeluna.example")
    # Tax defaults as a GST-registered Australian supplier sets them up: GST (7) on goods and
    # freight, the card surcharge GST-free (8); the orders below charge the same.
    items = {
        p: account.add_item(f"SKU-{p}", f"Product {p}", tax_code="7") for p in ("prd_a", "prd_b", "prd_c")
    }
    freight = account.add_item("FREIGHT", "Freight", item_type="otherChargeSaleItem", tax_code="7")
    surcharge = account.add_item("SURCHARGE", "Card surcharge", item_type="otherChargeSaleItem", tax_code="8")
    location = account.add_location("Warehouse")
    return Supplier(
        supplier_id=f"sup_{name}",
        account_id=account_id,
        account=account,
        customer_id=customer,
        items=items,
        freight_item=freight,
        surcharge_item=surcharge,
        location_id=location,
        sync_type=sync_type,
        concurrency_limit=concurrency_limit,
    )


@dataclass
class OutcomeReader:
    """Collects sync-result (or catalog) events of the given suppliers, from the current end on."""

    bootstrap: str
    topic: str
    suppliers: set[str]
    events: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _task: asyncio.Task[None] | None = None
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        partitions = consumer.partitions_for_topic(self.topic) or set()
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, ends[tp])
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            found = [
                json.loads(record.value)
                for records in batches.values()
                for record in records
                if record.value is not None
                and record.key is not None
                and record.key.decode() in self.suppliers
            ]
            if found:
                async with self._changed:
                    self.events.extend(found)
                    self._changed.notify_all()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    async def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30
    ) -> list[dict[str, Any]]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.events)), timeout)
        return self.events

    def of(self, supplier_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["supplier_id"] == supplier_id and (event_type is None or e["event_type"] == event_type)
        ]


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float = 20, interval: float = 0.05
) -> None:
    """Bounded polling for state that has no event to await (MongoDB contents)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(interval)


@dataclass
class Stack:
    """What a test needs: a producer, the simulator and a way to start order_sync runtimes."""

    kafka_bootstrap: str
    mongo_url: str
    idempotence: bool
    simulator: SimulatorServer
    producer: AIOKafkaProducer
    name: str
    apps: list[Any] = field(default_factory=list)
    suppliers: list[Supplier] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        return settings_for(
            kafka_bootstrap=self.kafka_bootstrap,
            mongo_url=self.mongo_url,
            idempotence=self.idempotence,
            name=self.name,
            simulator_url=self.simulator.base_url,
            **overrides,
        )

    async def start(self, **overrides: Any) -> Wired:
        service = wire(self.settings(**overrides))
        app = service.runtime.app()
        await app.start()
        self.apps.append(app)
        return service

    async def stop(self, service: Wired) -> None:
        for app in list(self.apps):
            if app.broker is service.runtime.broker:
                await app.stop()
                self.apps.remove(app)

    @asynccontextmanager
    async def results(
        self, *supplier_ids: str, topic: str = SYNC_RESULTS_TOPIC
    ) -> AsyncIterator[OutcomeReader]:
        """Reads the suppliers' outcomes from the current end of `topic` while the block runs."""
        reader = OutcomeReader(self.kafka_bootstrap, topic, set(supplier_ids))
        await reader.start()
        try:
            yield reader
        finally:
            await reader.stop()

    def supplier(self, **kwargs: Any) -> Supplier:
        supplier = seed_supplier(self.simulator, uuid.uuid4().hex[:10], **kwargs)
        self.suppliers.append(supplier)
        return supplier

    async def produce(
        self,
        topic: str,
        supplier: Supplier,
        event_type: str,
        data: dict[str, Any],
        *,
        event_id: str | None = None,
        occurred_at: str = "2026-11-24T09:15:00+11:00",
    ) -> str:
        event_id = event_id or supplier.next_event_id()
        value = envelope(event_type, supplier.supplier_id, data, event_id=event_id, occurred_at=occurred_at)
        await self.producer.send_and_wait(topic, value, key=supplier.supplier_id.encode())
        return event_id

    async def configure(self, service: Wired, supplier: Supplier, **overrides: Any) -> None:
        event_id = await self.produce(
            INTEGRATIONS_TOPIC,
            supplier,
            "integration.netsuite.configured",
            supplier.integration(**overrides),
            occurred_at="2026-11-24T09:00:00+11:00",
        )

        async def configured() -> bool:
            # This very event applied, not merely some configuration (a reconfiguration would
            # otherwise return before the service saw it).
            document = await service.integrations._collection.find_one(
                {"_id": supplier.supplier_id}, {"event_id": 1, "status": 1}
            )
            return document is not None and (document["status"], document.get("event_id")) == (
                "configured",
                event_id,
            )

        await wait_until(configured)

    async def order(self, supplier: Supplier, event_type: str, data: dict[str, Any], **kwargs: Any) -> str:
        topic = INVOICES_TOPIC if event_type.startswith("invoice.") else ORDERS_TOPIC
        return await self.produce(topic, supplier, event_type, data, **kwargs)

    async def upsert_entity(
        self,
        supplier: Supplier,
        kind: str,
        data: dict[str, Any],
        occurred_at: str = "2026-11-24T10:00:00+11:00",
    ) -> str:
        topic = CUSTOMERS_TOPIC if kind == "customer" else PRODUCTS_TOPIC
        return await self.produce(topic, supplier, f"{kind}.upserted", data, occurred_at=occurred_at)

    async def close(self) -> None:
        for app in reversed(self.apps):
            await app.stop()
        self.apps.clear()
        for supplier in self.suppliers:
            # Later tests read the topics from the beginning with new groups: disconnect this one.
            await self.producer.send_and_wait(INTEGRATIONS_TOPIC, None, key=supplier.supplier_id.encode())


def money(value: Any) -> Decimal:
    return Decimal(str(value))


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


async def wait_committed(
    bootstrap: str, group: str, targets: dict[TopicPartition, int], timeout: float = 30
) -> None:
    """Wait until `group` committed at least `targets` (everything up to there is processed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:

        async def done() -> bool:
            committed = await admin.list_consumer_group_offsets(group, partitions=list(targets))
            return all(
                tp in committed and committed[tp].offset >= offset
                for tp, offset in targets.items()
                if offset > 0
            )

        await wait_until(done, timeout=timeout, interval=0.1)
    finally:
        await admin.close()


async def dead_letters(bootstrap: str, topic: str, supplier_id: str) -> list[bytes]:
    """Every dead letter of `supplier_id` on `topic`.dlq so far."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        dlq = topic + ".dlq"
        tps = [TopicPartition(dlq, p) for p in sorted(consumer.partitions_for_topic(dlq) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[bytes] = []

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps])

        while await behind():
            batches = await consumer.getmany(timeout_ms=200)
            found.extend(
                r.value or b""
                for records in batches.values()
                for r in records
                if r.key is not None and r.key.decode() == supplier_id
            )
        return found
    finally:
        await consumer.stop()
