"""finance_sync as a real process, killed with SIGKILL while reconciling, then restarted."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from finance_sync.app import Wired
from om_contracts import PAYMENTS_TOPIC, RECONCILIATION_TOPIC, dead_letter_topic
from om_netsuite_sim import SimulatorServer
from support import ServiceProcess

from .conftest import MakeSupplier, events_on, wait_consumed
from .helpers import KEY
from .test_reconciliation_flow import RECONCILE, catalogue, envelope, invoice, payment, send

pytestmark = pytest.mark.integration

PAYMENTS = 30


@pytest.fixture
async def service_env(
    kafka_bootstrap: str, mongo_url: str, simulator: SimulatorServer
) -> AsyncIterator[dict[str, str]]:
    name = uuid.uuid4().hex[:10]
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_ENABLE_IDEMPOTENCE": "false",
        "KAFKA_CONSUMER_GROUP": f"finance-proc-{name}",
        "KAFKA_SESSION_TIMEOUT_MS": "2000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        "KAFKA_COMMIT_INTERVAL_MS": "50",
        "MONGODB_URL": mongo_url,
        "MONGODB_DATABASE": f"finance_proc_{name}",
        "NETSUITE_BUDGET_DATABASE": f"finance_proc_budget_{name}",
        "NETSUITE_CREDENTIALS_KEYS": KEY,
        "NETSUITE_BASE_URL": simulator.base_url,
        "HTTP_PORT": "0",
        "HTTP_HOST": "127.0.0.1",
        "FINANCE_SCHEDULE_POLL_S": "3600",
        "RETRY_BASE_DELAY_S": "0.05",
        "RETRY_MAX_DELAY_S": "0.5",
        "RETRY_MAX_ATTEMPTS": "100",  # a cold start may see payments before the integrations projection
        # A killed process's budget shares count for lease + attempt deadline (README, "The NetSuite
        # budget"; 130 s by default): short here, so the restarted process is not held that long.
        "NETSUITE_ATTEMPT_DEADLINE_S": "5",
        "LOG_LEVEL": "WARNING",
    }
    yield env
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    await client.drop_database(env["MONGODB_DATABASE"])
    await client.drop_database(env["NETSUITE_BUDGET_DATABASE"])
    await client.close()


async def dead_letters(kafka_bootstrap: str, supplier_id: str) -> list[tuple[str, str]]:
    """(payment id, error) of the supplier's dead-lettered payments."""
    consumer = AIOKafkaConsumer(
        dead_letter_topic(PAYMENTS_TOPIC), bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
        group_id=None, enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    try:
        found: list[tuple[str, str]] = []
        batch = await consumer.getmany(timeout_ms=1000)
        for records in batch.values():
            for record in records:
                if record.key == supplier_id.encode():
                    headers = {k: v.decode() for k, v in record.headers}
                    error = f"{headers.get('x-error-code')}: {headers.get('x-error-message')}"
                    found.append((json.loads(record.value)["data"]["id"], error))
        return found
    finally:
        await consumer.stop()


async def published_count(db: Any, supplier_id: str) -> int:
    return int(
        await db["reconciliations"].count_documents({"supplier_id": supplier_id, "status": "published"})
    )


async def test_a_process_killed_mid_reconciliation_records_each_payment_once_after_restart(
    finance: Wired,
    make_supplier: MakeSupplier,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    mongo_url: str,
    service_env: dict[str, str],
) -> None:
    supplier = await make_supplier(catalogue, sync_type="invoices", auto_reconciliation=RECONCILE)
    account, customer = supplier.account, supplier.integration.customer_mappings["cus_19ab"]
    invoices = [invoice(account, customer, "25.10", f"OM-INV-inv_k{n}") for n in range(PAYMENTS)]
    account.faults.latency = 0.25  # slow enough NetSuite that the kill lands mid-way
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    db = client[service_env["MONGODB_DATABASE"]]
    process = ServiceProcess("finance_sync", service_env)
    try:
        process.start()
        for _ in range(1200):  # the new process has projected the supplier's settings
            if await db["integrations"].find_one({"_id": supplier.id, "status": "configured"}):
                break
            await asyncio.sleep(0.05)  # polling another process's progress in Mongo
        # A new consumer group replays the whole payments topic (other tests' payments too) first.
        # Each consumed topic has its own group, `<KAFKA_CONSUMER_GROUP>.<topic>`.
        group = f"{service_env['KAFKA_CONSUMER_GROUP']}.{PAYMENTS_TOPIC}"
        await wait_consumed(kafka_bootstrap, group, PAYMENTS_TOPIC)
        await send(
            kafka_producer,
            *(
                envelope(supplier.id, "payment.succeeded",
                         payment(f"pay_k{n}", "25.10", {"invoice_id": f"inv_k{n}", "amount": "25.10"}))
                for n in range(PAYMENTS)
            ),
        )  # fmt: skip
        for _ in range(3000):
            if await published_count(db, supplier.id) >= 3:
                break
            await asyncio.sleep(0.02)  # polling another process's progress in Mongo
        process.kill()
        at_kill = await published_count(db, supplier.id)
        assert 0 < at_kill < PAYMENTS, f"{at_kill} payments were done when the process was killed"
        process.start()
        for _ in range(1500):
            if await published_count(db, supplier.id) == PAYMENTS:
                break
            await asyncio.sleep(0.05)  # polling another process's progress in Mongo
        assert await published_count(db, supplier.id) == PAYMENTS, "the restarted process did not finish"
    finally:
        process.terminate()
        account.faults.latency = 0.0
        await client.close()

    recorded = account.records("customerPayment")
    assert sorted(p["externalId"] for p in recorded) == sorted(f"OM-PAY-pay_k{n}" for n in range(PAYMENTS))
    for payment_record in recorded:
        assert [x["amount"] for x in payment_record["apply"]] == [Decimal("25.10")]
    for invoice_id in invoices:
        assert account.record("invoice", invoice_id)["amountPaid"] == Decimal("25.10")
    events = await events_on(kafka_bootstrap, RECONCILIATION_TOPIC, supplier.id, at_least=PAYMENTS)
    ids_by_payment: dict[str, set[str]] = defaultdict(set)
    for event in events:
        ids_by_payment[event["data"]["payment_id"]].add(event["event_id"])
    assert len(ids_by_payment) == PAYMENTS
    assert all(
        len(ids) == 1 for ids in ids_by_payment.values()
    )  # a re-send after the kill reuses the event id
    assert all(event["data"]["outcome"] == "applied" for event in events)
    dead = await dead_letters(kafka_bootstrap, supplier.id)
    assert dead == [], dead
