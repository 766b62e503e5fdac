"""The stock_sync harness: the service in-process against the embedded broker, Mongo and simulator.

Isolation: every test has its own supplier ids, NetSuite account, Mongo databases and consumer
group; the topics are the fixed contract topics, created once per session.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient

from om_contracts import (
    INTEGRATIONS_TOPIC,
    PRODUCTS_TOPIC,
    STOCK_LEVELS_TOPIC,
    IntegrationConfigured,
    IntegrationDisconnected,
    KeyRing,
    ProductUpserted,
    dead_letter_topic,
    get_topic,
    new_event_id,
)
from om_devstack import sealed_m2m_credentials
from om_devstack.stack import create_topics
from om_netsuite_sim import Account, SimulatorServer
from stock_sync.app import Wired, wire
from stock_sync.settings import Settings
from support import integration

KEYS = KeyRing.generate_key()
RING = KeyRing.from_string(KEYS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stock_topics(kafka_bootstrap: str) -> None:
    topics: list[Any] = []
    for name in (INTEGRATIONS_TOPIC, PRODUCTS_TOPIC, STOCK_LEVELS_TOPIC):
        topic = get_topic(name)
        topics += [
            (topic.name, topic.partitions, topic.compacted),
            (dead_letter_topic(name), topic.partitions),
        ]
    await create_topics(kafka_bootstrap, topics)


class StockEvents:
    """Reads `netsuite.stock-levels.v1` from where it stood when created, for one test's suppliers."""

    def __init__(self, consumer: AIOKafkaConsumer, suppliers: set[str]) -> None:
        self._consumer = consumer
        self._suppliers = suppliers
        self.seen: list[dict[str, Any]] = []

    async def more(self) -> list[dict[str, Any]]:
        """The next batch of new events (waits up to half a second for one)."""
        new: list[dict[str, Any]] = []
        batch = await self._consumer.getmany(timeout_ms=500)
        for records in batch.values():
            new += self._ours(records)
        self.seen += new
        return new

    def _ours(self, records: list[Any]) -> list[dict[str, Any]]:
        found = []
        for record in records:
            event = json.loads(record.value)
            if event["supplier_id"] in self._suppliers:
                assert record.key == event["supplier_id"].encode()
                found.append(event)
        return found

    async def until_end(self) -> list[dict[str, Any]]:
        """Every new event up to the log end as of now (the service awaited the broker already)."""
        partitions = list(self._consumer.assignment())
        ends = await self._consumer.end_offsets(partitions)
        new: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + 30
        while behind := [tp for tp in partitions if await self._consumer.position(tp) < ends[tp]]:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the stock topic reader is stuck behind the log end on {behind}")
            batch = await self._consumer.getmany(timeout_ms=500)
            for records in batch.values():
                new += self._ours(records)
        self.seen += new
        return new


class Harness:
    """One test's world: a NetSuite account, suppliers, the service (one or more replicas)."""

    def __init__(
        self,
        simulator: SimulatorServer,
        kafka_bootstrap: str,
        mongo_url: str,
        producer: AIOKafkaProducer,
        unique: str,
    ) -> None:
        self.simulator = simulator
        self.kafka_bootstrap = kafka_bootstrap
        self.mongo_url = mongo_url
        self.producer = producer
        self.unique = unique
        self.account_id = self._new_account()
        self.account: Account = simulator.sim.account(self.account_id)
        self.locations = [self.account.add_location(f"Warehouse {n}") for n in range(3)]
        self.items: list[str] = []
        self.replicas: list[tuple[Any, Wired]] = []
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
        self.db = self.mongo[f"stock_{unique}"]
        self.consumer: AIOKafkaConsumer | None = None
        self.configured: set[str] = set()

    def _new_account(self) -> str:
        while True:
            account_id = f"{random.randint(1_000_000, 99_999_999)}_SB1"
            if account_id not in self.simulator.sim.accounts:
                self.simulator.sim.add_account(account_id, concurrency_limit=5)
                return account_id

    # -- NetSuite side --------------------------------------------------------------------------

    def add_items(
        self, count: int, *, on_hand: Callable[[int, int], int] = lambda i, loc: 10 * i + loc
    ) -> list[str]:
        """Items with stock at every location; available = on hand - 1 (so the fields differ)."""
        created = []
        for n in range(count):
            item = self.account.add_item(f"SKU-{len(self.items) + n}")
            for index, location in enumerate(self.locations):
                qty = on_hand(n, index)
                self.account.set_stock(item, location, on_hand=qty, available=max(qty - 1, 0))
            created.append(item)
        self.items += created
        return created

    # -- Ordermentum side -----------------------------------------------------------------------

    def integration(self, *, m2m: bool = False, **stock: Any) -> dict[str, Any]:
        """The supplier's settings; `m2m`: OAuth 2.0 client credentials instead of TBA."""
        stock_settings = {
            "enabled": True,
            "field": "available",
            "location_ids": ",".join(self.locations[::-1]),
            "interval_minutes": 15,
            **stock,
        }
        settings = integration(
            self.account_id, RING, self.account.credentials, concurrency_limit=5, stock=stock_settings
        )
        if m2m:
            settings["credentials"] = sealed_m2m_credentials(
                RING,
                self.simulator.sim,
                self.account_id,
                client_id=f"m2m-{self.unique}",
                certificate_id="cert-1",
            )
        return settings

    async def configure(self, supplier_id: str, settings: dict[str, Any]) -> None:
        event = IntegrationConfigured.model_validate(
            {
                "event_id": new_event_id(),
                "occurred_at": datetime.now(UTC),
                "supplier_id": supplier_id,
                "data": settings,
            }
        )
        await self.producer.send_and_wait(
            INTEGRATIONS_TOPIC, event.model_dump_json().encode(), key=supplier_id.encode()
        )
        self.configured.add(supplier_id)
        await self._stored("integrations", {"_id": supplier_id, "event_id": event.event_id})

    async def disconnect(self, supplier_id: str) -> None:
        event = IntegrationDisconnected.model_validate(
            {
                "event_id": new_event_id(),
                "occurred_at": datetime.now(UTC),
                "supplier_id": supplier_id,
                "data": {},
            }
        )
        await self.producer.send_and_wait(
            INTEGRATIONS_TOPIC, event.model_dump_json().encode(), key=supplier_id.encode()
        )
        await self._stored("integrations", {"_id": supplier_id, "status": "disconnected"})

    async def product(self, supplier_id: str, product_id: str, netsuite_id: str) -> None:
        event = ProductUpserted.model_validate(
            {
                "event_id": new_event_id(),
                "occurred_at": datetime.now(UTC),
                "supplier_id": supplier_id,
                "data": {"id": product_id, "name": product_id, "properties": {"netsuite_id": netsuite_id}},
            }
        )
        await self.producer.send_and_wait(
            PRODUCTS_TOPIC, event.model_dump_json().encode(), key=supplier_id.encode()
        )
        await self._stored("mappings", {"event_id": event.event_id})

    async def _stored(self, collection: str, query: dict[str, Any], timeout: float = 60.0) -> None:
        # No event tells the test that a consumer applied a record: poll Mongo, bounded.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.db[collection].find_one(query) is None:
            if loop.time() > deadline:
                raise AssertionError(f"{collection} never got {query}")
            await asyncio.sleep(0.05)

    # -- the service ----------------------------------------------------------------------------

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "kafka_bootstrap_servers": self.kafka_bootstrap,
            "kafka_enable_idempotence": False,
            "kafka_consumer_group": f"stock-{self.unique}",
            "kafka_session_timeout_ms": 2000,
            "kafka_heartbeat_interval_ms": 500,
            "kafka_commit_interval_ms": 100,
            "mongodb_url": self.mongo_url,
            "mongodb_database": f"stock_{self.unique}",
            "netsuite_budget_database": f"budget_{self.unique}",
            "netsuite_credentials_keys": KEYS,
            "netsuite_base_url": self.simulator.base_url,
            "netsuite_timeout_s": 5.0,
            "stock_tick_s": 3600.0,
            "shutdown_grace_s": 2.0,
            **overrides,
        }
        return Settings(**values)

    async def start(self, **overrides: Any) -> Wired:
        service = wire(self.settings(**overrides))
        app = service.runtime.app()
        await asyncio.wait_for(app.start(), 30)
        self.replicas.append((app, service))
        return service

    async def events(self, *suppliers: str) -> StockEvents:
        if self.consumer is None:
            self.consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka_bootstrap, enable_auto_commit=False)
            await self.consumer.start()
            partitions = [
                TopicPartition(STOCK_LEVELS_TOPIC, p)
                for p in sorted(self.consumer.partitions_for_topic(STOCK_LEVELS_TOPIC) or {0})
            ]
            self.consumer.assign(partitions)
            await self.consumer.seek_to_end(*partitions)
            for tp in partitions:
                await self.consumer.position(tp)
        return StockEvents(self.consumer, set(suppliers))

    async def run_document(self, supplier_id: str) -> dict[str, Any]:
        document = await self.db["stock_runs"].find_one({"_id": supplier_id})
        assert document is not None
        return document

    async def stop(self, app: Any) -> None:
        await asyncio.wait_for(app.stop(), 30)

    async def close(self) -> None:
        for app, _service in reversed(self.replicas):
            await self.stop(app)
        # Later tests' services replay the integrations topic: leave this test's suppliers disconnected.
        for supplier_id in self.configured:
            await self.producer.send_and_wait(INTEGRATIONS_TOPIC, None, key=supplier_id.encode())
        if self.consumer is not None:
            await self.consumer.stop()
        await self.mongo.drop_database(f"stock_{self.unique}")
        await self.mongo.drop_database(f"budget_{self.unique}")
        await self.mongo.close()


@pytest_asyncio.fixture(loop_scope="session")
async def harness(
    stock_topics: None,
    simulator: SimulatorServer,
    kafka_bootstrap: str,
    mongo_url: str,
    kafka_producer: AIOKafkaProducer,
    unique_name: str,
) -> AsyncIterator[Harness]:
    world = Harness(simulator, kafka_bootstrap, mongo_url, kafka_producer, unique_name)
    try:
        yield world
    finally:
        await world.close()


def quantities(event: dict[str, Any]) -> dict[str, Decimal]:
    return {loc["location_id"]: Decimal(loc["quantity"]) for loc in event["data"]["locations"]}


@pytest.fixture
def supplier(unique_name: str) -> str:
    return f"sup_{unique_name}"
