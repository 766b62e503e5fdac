"""order_sync (the busiest path) while its broker or its Mongo-protocol server is killed and restarted.

A broker of its own with durable storage (tansu on S3, via the moto emulator) and a Mongo-protocol
server with its data on disk (``--sync-on-commit``), so a ``kill -9`` of either keeps what it
acknowledged. Orders are in flight when the kill lands (NetSuite answers slowly). Afterwards:
every order is exactly one NetSuite sales order and one distinct synced outcome (the same outcome
delivered twice is fine, a second effect is not), nothing is dead-lettered, and every committed
offset reached the end of its partition.

tansu on S3 storage answers ListOffsets with a stale log end (measured: 15 and 8 for partitions
holding 20 and 10 records, unchanged seconds later), so these tests never ask the broker where a
partition ends: the commit targets come from the producer's own acknowledgements, and topics are
read until a fetch brings nothing new. It also answers a fetch whose wait is shorter than its S3
read with nothing for that partition (every time), so fetches wait 500 ms here.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from om_contracts import (
    INTEGRATIONS_TOPIC,
    ORDERS_TOPIC,
    SYNC_RESULTS_TOPIC,
    dead_letter_topic,
    external_id,
    topic_specs,
)
from om_devstack.stack import EmbeddedStack
from om_netsuite_sim import SimulatorServer

sys.path.insert(0, str(Path(__file__).parents[1] / "order_sync"))
from order_sync_harness import (
    Supplier,
    envelope,
    seed_supplier,
    settings_for,
    wait_committed,
    wait_until,
)

from order_sync.app import wire

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

ORDERS_PER_SUPPLIER = 30


@pytest.fixture(scope="module")
async def durable(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedStack]:
    stack = EmbeddedStack(
        kafka=True,
        mongo=True,
        kafka_storage="s3",
        mongo_path=tmp_path_factory.mktemp("mongo"),
        mongo_sync_on_commit=True,
        topics=topic_specs(partitions=3),
    )
    async with stack:
        yield stack


async def read_all(bootstrap: str, topic: str, keys: set[bytes]) -> list[Any]:
    """Every record of `topic` with one of `keys`, from the beginning until a fetch brings nothing.

    The broker holds an empty fetch for `fetch_max_wait_ms` (1 s here): a quiet fetch means the
    records published before this call have all been read.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=1000)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        found: list[Any] = []
        while batch := await asyncio.wait_for(consumer.getmany(timeout_ms=2000), 30):
            for records in batch.values():
                found.extend(r for r in records if r.key in keys)
        return found
    finally:
        await consumer.stop()


async def synced_orders(bootstrap: str, suppliers: list[Supplier]) -> dict[str, set[str]]:
    """Order id -> distinct event ids of its `netsuite.order.synced` outcomes."""
    keys = {s.supplier_id.encode() for s in suppliers}
    synced: dict[str, set[str]] = defaultdict(set)
    for record in await read_all(bootstrap, SYNC_RESULTS_TOPIC, keys):
        event = json.loads(record.value)
        if event["event_type"] == "netsuite.order.synced":
            synced[event["data"]["ordermentum_id"]].add(event["event_id"])
    return synced


async def run_through_a_restart(
    stack: EmbeddedStack, simulator: SimulatorServer, restart: Callable[[], Awaitable[None]]
) -> None:
    """Orders for two suppliers; `restart` lands once some are synced and others are in flight."""
    name = uuid.uuid4().hex[:8]
    suppliers = [seed_supplier(simulator, f"chaos{n}_{name}") for n in range(2)]
    for supplier in suppliers:
        supplier.account.faults.latency = 0.1  # slow enough that orders are in flight at the kill
    settings = settings_for(
        kafka_bootstrap=stack.kafka_bootstrap,
        mongo_url=stack.mongo_url,
        idempotence=False,
        name=name,
        simulator_url=simulator.base_url,
        retry_max_attempts=100,  # an outage is waited out, never dead-lettered
        retry_max_elapsed_s=120,
        # tansu on S3 answers a partition it has not read from S3 within the fetch's wait as empty,
        # and does so again at every fetch: with the harness's 20 ms a partition never moves
        kafka_fetch_max_wait_ms=500,
    )
    service = wire(settings)
    app = service.runtime.app()
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    await app.start()
    orders = {
        s.supplier_id: [f"ord_{name}_{index}_{n}" for n in range(ORDERS_PER_SUPPLIER)]
        for index, s in enumerate(suppliers)
    }
    try:
        for supplier in suppliers:
            value = envelope(
                "integration.netsuite.configured",
                supplier.supplier_id,
                supplier.integration(),
                event_id=f"evt_cfg_{name}_{supplier.supplier_id}",
                occurred_at="2026-11-24T09:00:00+11:00",
            )
            await producer.send_and_wait(INTEGRATIONS_TOPIC, value, key=supplier.supplier_id.encode())

        async def configured() -> bool:
            for supplier in suppliers:
                service.integrations._cache.pop(supplier.supplier_id, None)
                if await service.integrations.get(supplier.supplier_id) is None:
                    return False
            return True

        await wait_until(configured, timeout=30)
        targets: dict[TopicPartition, int] = {}  # the commit every order's partition must reach
        for n in range(ORDERS_PER_SUPPLIER):
            for supplier in suppliers:
                order_id = orders[supplier.supplier_id][n]
                value = envelope(
                    "order.placed",
                    supplier.supplier_id,
                    supplier.order(order_id),
                    event_id=f"evt_{order_id}",
                    occurred_at="2026-11-24T09:15:00+11:00",
                )
                sent = await producer.send_and_wait(ORDERS_TOPIC, value, key=supplier.supplier_id.encode())
                targets[TopicPartition(ORDERS_TOPIC, sent.partition)] = sent.offset + 1

        async def some_synced() -> bool:
            return sum(len(s.account.records("salesOrder")) for s in suppliers) >= 10

        await wait_until(some_synced, timeout=60)
        at_restart = sum(len(s.account.records("salesOrder")) for s in suppliers)
        await restart()
        assert at_restart < 2 * ORDERS_PER_SUPPLIER, "the restart landed after every order was done"

        async def all_synced() -> bool:
            return len(await synced_orders(stack.kafka_bootstrap, suppliers)) == 2 * ORDERS_PER_SUPPLIER

        await wait_until(all_synced, timeout=120, interval=0.5)
        await wait_committed(
            stack.kafka_bootstrap, f"{settings.consumer_group}.{ORDERS_TOPIC}", targets, timeout=60
        )
    finally:
        await app.stop()
        await producer.stop()

    synced = await synced_orders(stack.kafka_bootstrap, suppliers)
    for supplier in suppliers:
        booked = Counter(record["externalId"] for record in supplier.account.records("salesOrder"))
        assert booked == Counter(external_id("ORDER", o) for o in orders[supplier.supplier_id])  # none twice
        for order_id in orders[supplier.supplier_id]:
            assert len(synced[order_id]) == 1, (
                order_id,
                synced[order_id],
            )  # one effect, maybe delivered twice
    keys = {s.supplier_id.encode() for s in suppliers}
    assert await read_all(stack.kafka_bootstrap, dead_letter_topic(ORDERS_TOPIC), keys) == []


async def test_orders_in_flight_survive_a_broker_kill_and_restart_on_durable_storage(
    durable: EmbeddedStack, simulator: SimulatorServer
) -> None:
    await run_through_a_restart(durable, simulator, durable.restart_kafka)


async def test_orders_in_flight_survive_a_mongo_protocol_server_kill_and_restart(
    durable: EmbeddedStack, simulator: SimulatorServer
) -> None:
    await run_through_a_restart(durable, simulator, durable.restart_mongo)
