"""finance_sync running in-process against the embedded broker, Mongo-protocol server and simulator."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from finance_sync.app import Wired, wire
from finance_sync.domain.slots import floor_hour
from finance_sync.settings import Settings
from om_contracts import (
    CREDIT_NOTES_TOPIC,
    CUSTOMERS_TOPIC,
    INTEGRATIONS_TOPIC,
    INVOICE_PAYMENTS_TOPIC,
    NETSUITE_INVOICES_TOPIC,
    PAYMENTS_TOPIC,
    PRODUCTS_TOPIC,
    RECONCILIATION_TOPIC,
    IntegrationSettings,
    dead_letter_topic,
)
from om_devstack import sealed_m2m_credentials
from om_devstack.stack import create_topics
from om_netsuite_sim import Account, SimulatorServer
from support import integration

from .helpers import KEY, RING

INBOUND = (CUSTOMERS_TOPIC, PRODUCTS_TOPIC, PAYMENTS_TOPIC)
OUTBOUND = (NETSUITE_INVOICES_TOPIC, CREDIT_NOTES_TOPIC, INVOICE_PAYMENTS_TOPIC, RECONCILIATION_TOPIC)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def finance_topics(kafka_bootstrap: str) -> None:
    """The fixed topic names the service uses (created once; existing ones are left as they are)."""
    topics: list[tuple[str, int, bool]] = [
        (INTEGRATIONS_TOPIC, 1, True),
        (dead_letter_topic(INTEGRATIONS_TOPIC), 1, False),
    ]
    topics.extend((name, 1, False) for name in (*INBOUND, *OUTBOUND))
    topics.extend((dead_letter_topic(name), 1, False) for name in INBOUND)
    await create_topics(kafka_bootstrap, topics)


def finance_settings(
    kafka_bootstrap: str, mongo_url: str, base_url: str, name: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_enable_idempotence": False,
        "kafka_consumer_group": f"finance-{name}",
        "kafka_session_timeout_ms": 2000,
        "kafka_heartbeat_interval_ms": 500,
        "kafka_commit_interval_ms": 50,
        "retry_base_delay_s": 0.02,
        "retry_max_delay_s": 0.2,
        "retry_max_attempts": 20,
        "shutdown_grace_s": 5,
        "mongodb_url": mongo_url,
        "mongodb_database": f"finance_{name}",
        "netsuite_budget_database": f"finance_budget_{name}",
        "netsuite_credentials_keys": KEY,
        "netsuite_base_url": base_url,
        "finance_schedule_poll_s": 3600,  # tests drive the scheduler themselves
        "command_poll_s": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def finance(
    finance_topics: None, kafka_bootstrap: str, mongo_url: str, simulator: SimulatorServer
) -> AsyncIterator[Wired]:
    name = uuid.uuid4().hex[:10]
    service = wire(finance_settings(kafka_bootstrap, mongo_url, simulator.base_url, name), owner="replica-a")
    app = service.runtime.app()
    await app.start()
    try:
        yield service
    finally:
        await app.stop()


@dataclass
class Supplier:
    """A supplier with its own simulator account, configured in the running service."""

    id: str
    account: Account
    integration: IntegrationSettings

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        """Act as a NetSuite user at `moment` (records get that created/modified time)."""
        previous = self.account.clock
        self.account.clock = moment.timestamp
        try:
            yield
        finally:
            self.account.clock = previous


@pytest.fixture
def base_hour() -> datetime:
    """An hour, on the hour, five hours ago: seeded records are stamped from there."""
    return floor_hour(datetime.now(UTC)) - timedelta(hours=5)


MakeSupplier = Callable[..., Any]


@pytest_asyncio.fixture(loop_scope="session")
async def make_supplier(
    finance: Wired, simulator: SimulatorServer, kafka_producer: AIOKafkaProducer
) -> MakeSupplier:
    async def make(
        setup: Callable[[Account], dict[str, Any]] | None = None, *, m2m: bool = False, **overrides: Any
    ) -> Supplier:
        """A supplier; `setup(account)` seeds NetSuite first and returns more integration settings;
        `m2m`: on OAuth 2.0 client credentials instead of TBA."""
        account_id = f"{random.randrange(10**8, 10**9)}_SB1"
        creds = simulator.sim.add_account(account_id, concurrency_limit=5)
        if setup is not None:
            overrides = {**setup(simulator.sim.account(account_id)), **overrides}
        values = {**integration(account_id, RING, creds), **overrides}
        if m2m:
            values["credentials"] = sealed_m2m_credentials(
                RING, simulator.sim, account_id, client_id=f"m2m-{account_id}", certificate_id="cert-1"
            )
        supplier_id = f"sup_{uuid.uuid4().hex[:8]}"
        envelope = {
            "event_id": f"evt_{uuid.uuid4().hex}",
            "event_type": "integration.netsuite.configured",
            "occurred_at": datetime.now(UTC).isoformat(),
            "supplier_id": supplier_id,
            "data": values,
        }
        await kafka_producer.send_and_wait(
            INTEGRATIONS_TOPIC, json.dumps(envelope).encode(), key=supplier_id.encode()
        )
        collection = finance.runtime.db["integrations"]
        for _ in range(400):
            if await collection.find_one({"_id": supplier_id, "status": "configured"}):
                break
            await asyncio.sleep(0.05)  # polling Mongo: the projection has no event to await
        else:
            raise AssertionError("the integration never reached the service")
        return Supplier(
            supplier_id, simulator.sim.account(account_id), IntegrationSettings.model_validate(values)
        )

    return make


async def end_offsets(kafka_bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def events_on(
    kafka_bootstrap: str, topic: str, supplier_id: str, at_least: int = 0
) -> list[dict[str, Any]]:
    """Every event of `supplier_id` on `topic` up to the end of the topic (at least `at_least`).

    The end is read again while fewer than `at_least` events were found: the broker may report
    a just-acknowledged record's offset a moment late.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        found: list[dict[str, Any]] = []
        ends = await end_offsets(kafka_bootstrap, topic)
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            if not [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                if len(found) >= at_least or asyncio.get_running_loop().time() > deadline:
                    return found
                ends = await end_offsets(kafka_bootstrap, topic)
                continue
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 20)
            found.extend(
                json.loads(record.value)
                for records in batch.values()
                for record in records
                if record.key == supplier_id.encode()
            )
    finally:
        await consumer.stop()


async def wait_consumed(kafka_bootstrap: str, group: str, topic: str) -> None:
    """Wait until `group` has committed everything on `topic` that exists now."""
    ends = await end_offsets(kafka_bootstrap, topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        for _ in range(1200):
            committed = await admin.list_consumer_group_offsets(group, partitions=list(ends))
            if all(end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items()):
                return
            await asyncio.sleep(0.05)  # polling the broker: commits have no event to await
        raise AssertionError(f"group {group} never caught up with {topic}")
    finally:
        await admin.close()
