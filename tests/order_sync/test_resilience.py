"""Exactly-once effect and throughput under failure: replay, SIGKILL, NetSuite faults, outages."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from order_sync_harness import (
    OutcomeReader,
    Stack,
    dead_letters,
    end_offsets,
    wait_committed,
    wait_until,
)
from pymongo import AsyncMongoClient

from om_contracts import ORDERS_TOPIC, SYNC_RESULTS_TOPIC
from order_sync.app import Wired

pytestmark = pytest.mark.integration


async def test_replaying_the_orders_topic_creates_no_new_record_and_no_second_synced_effect(
    shared: tuple[Stack, Wired], stack: Stack
) -> None:
    harness, service = shared
    supplier = harness.supplier()
    async with harness.results(supplier.supplier_id) as reader:
        await harness.configure(service, supplier)
        await harness.order(supplier, "order.placed", supplier.order("ord_100001"))
        await harness.order(supplier, "order.placed", supplier.order("ord_100002"))
        await harness.order(
            supplier,
            "order.updated",
            supplier.order("ord_100001", freight=None),
            occurred_at="2026-11-24T09:20:00+11:00",
        )
        await reader.wait_for(lambda e: len(e) >= 3)
        before = list(reader.events)
        ends = await end_offsets(harness.kafka_bootstrap, ORDERS_TOPIC)
        group = f"replay-{uuid.uuid4().hex[:8]}"
        await stack.start(
            kafka_consumer_group=group,
            mongodb_database=service.settings.mongodb_database,
            netsuite_budget_database=service.settings.netsuite_budget_database,
        )
        await wait_committed(harness.kafka_bootstrap, f"{group}.{ORDERS_TOPIC}", ends)
    assert [e["event_type"] for e in before] == ["netsuite.order.synced"] * 3
    assert reader.events == before
    assert len(supplier.account.records("salesOrder")) == 2


async def test_with_429s_5xx_and_timeouts_every_order_syncs_without_dead_letters_within_the_limit(
    shared: tuple[Stack, Wired],
) -> None:
    harness, service = shared
    supplier = harness.supplier(concurrency_limit=3)
    faults = supplier.account.faults
    reader = OutcomeReader(harness.kafka_bootstrap, SYNC_RESULTS_TOPIC, {supplier.supplier_id})
    await reader.start()
    try:
        await harness.configure(service, supplier, concurrency_limit=3)
        faults.add("429", probability=0.2, count=10)
        faults.add("5xx", probability=0.2, count=10, status=503)
        faults.add("5xx", probability=0.3, count=5, status=502, path_contains="suiteql")
        faults.add("timeout", probability=0.1, count=3, delay=0.3)
        faults.latency = (0.005, 0.03)
        supplier.account.reset_peak()
        orders = [f"ord_2000{i:02d}" for i in range(20)]
        for order_id in orders:
            await harness.order(supplier, "order.placed", supplier.order(order_id))
        events = await reader.wait_for(lambda e: len(e) >= len(orders), timeout=60)
    finally:
        faults.clear()
        await reader.stop()
    assert sorted(e["data"]["ordermentum_id"] for e in events) == orders
    assert {e["event_type"] for e in events} == {"netsuite.order.synced"}
    assert supplier.account.counters["fault_429"] + supplier.account.counters["fault_5xx"] > 0
    assert len(supplier.account.records("salesOrder")) == len(orders)
    assert supplier.account.peak_in_flight <= 3
    assert await dead_letters(harness.kafka_bootstrap, ORDERS_TOPIC, supplier.supplier_id) == []


async def test_a_supplier_with_a_netsuite_outage_does_not_hold_up_a_healthy_one(
    shared: tuple[Stack, Wired],
) -> None:
    harness, service = shared
    down = harness.supplier()
    healthy = harness.supplier()
    reader = OutcomeReader(
        harness.kafka_bootstrap, SYNC_RESULTS_TOPIC, {down.supplier_id, healthy.supplier_id}
    )
    await reader.start()
    try:
        await harness.configure(service, down)
        await harness.configure(service, healthy)
        down.account.faults.add("5xx", status=503)
        for i in range(5):
            await harness.order(down, "order.placed", down.order(f"ord_3000{i}"))
        for i in range(5):
            await harness.order(healthy, "order.placed", healthy.order(f"ord_3100{i}"))
        await reader.wait_for(lambda e: len([x for x in e if x["supplier_id"] == healthy.supplier_id]) >= 5)
        assert reader.of(down.supplier_id) == []
        assert down.account.counters["fault_5xx"] > 0
        down.account.faults.clear()
        await reader.wait_for(lambda e: len(e) >= 10, timeout=60)
    finally:
        down.account.faults.clear()
        await reader.stop()
    assert {e["event_type"] for e in reader.of(healthy.supplier_id)} == {"netsuite.order.synced"}
    assert len(down.account.records("salesOrder")) == 5


async def test_killing_the_service_between_the_netsuite_write_and_the_commit_creates_no_duplicate(
    stack: Stack, tmp_path: Path
) -> None:
    supplier = stack.supplier()
    settings = stack.settings(kafka_consumer_group=f"kill-{stack.name}")
    env = {
        **os.environ,
        **{
            name.upper(): str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)
            for name, value in settings.model_dump().items()
            if value is not None
        },
        "HTTP_PORT": "0",
    }
    reader = OutcomeReader(stack.kafka_bootstrap, SYNC_RESULTS_TOPIC, {supplier.supplier_id})
    await reader.start()
    log = (tmp_path / "service.log").open("wb")

    def launch() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "order_sync"], env=env, stdout=log, stderr=log)

    process = launch()
    try:
        await stack.produce(
            "ordermentum.integrations.v1",
            supplier,
            "integration.netsuite.configured",
            supplier.integration(),
            occurred_at="2026-11-24T09:00:00+11:00",
        )
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_url)
        integrations = mongo[settings.mongodb_database]["integrations"]

        async def configured() -> bool:
            return (
                await integrations.find_one({"_id": supplier.supplier_id, "status": "configured"}) is not None
            )

        await wait_until(configured, timeout=30)
        # The account's currencies are known already (another process read them), so the only
        # SuiteQL request of this order is the tranId read below.
        await mongo[settings.mongodb_database]["reference_data"].update_one(
            {"_id": supplier.account_id},
            {"$set": {"values": {"currencies": {"AUD": "1"}}, "read_at": datetime.now(UTC)}},
            upsert=True,
        )
        await mongo.close()
        # The upsert goes through; the service then hangs reading the tran id, and dies there.
        supplier.account.faults.add("timeout", path_contains="suiteql", delay=60)
        await stack.order(supplier, "order.placed", supplier.order("ord_400001"))

        async def written() -> bool:
            return len(supplier.account.records("salesOrder")) == 1 and supplier.account.in_flight >= 1

        await wait_until(written, timeout=60)
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait)
        supplier.account.faults.clear()
        process = launch()
        await reader.wait_for(lambda e: len(e) >= 1, timeout=60)
    finally:
        process.kill()
        await asyncio.to_thread(process.wait)
        log.close()
        await reader.stop()
    [synced] = reader.events
    assert synced["event_type"] == "netsuite.order.synced"
    assert len(supplier.account.records("salesOrder")) == 1
    assert synced["data"]["netsuite"]["internal_id"] == supplier.account.records("salesOrder")[0]["id"]
