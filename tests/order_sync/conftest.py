"""Fixtures for order_sync tests: the topics once per session, and a `Stack` per test."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from aiokafka import AIOKafkaProducer

from om_contracts import DLQ_SUFFIX, TOPICS
from om_devstack.stack import create_topics
from om_netsuite_sim import SimulatorServer

# The helpers live next to this file; pytest runs with --import-mode=importlib, which does not put
# test folders on sys.path, and a package named after the service would shadow the service itself.
sys.path.insert(0, str(Path(__file__).parent))

from order_sync_harness import Stack

from order_sync.app import Wired


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def order_sync_topics(kafka_bootstrap: str) -> None:
    specs = []
    for topic in TOPICS:
        specs.append((topic.name, 3, topic.compacted))
        specs.append((topic.name + DLQ_SUFFIX, 1, False))
    await create_topics(kafka_bootstrap, specs)


@pytest_asyncio.fixture(loop_scope="session")
async def stack(
    order_sync_topics: None,
    kafka_bootstrap: str,
    mongo_url: str,
    kafka_idempotence: bool,
    simulator: SimulatorServer,
    kafka_producer: AIOKafkaProducer,
    unique_name: str,
) -> AsyncIterator[Stack]:
    """A fresh harness: runtimes started through it are this test's own."""
    harness = Stack(kafka_bootstrap, mongo_url, kafka_idempotence, simulator, kafka_producer, unique_name)
    try:
        yield harness
    finally:
        await harness.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shared(
    order_sync_topics: None,
    kafka_bootstrap: str,
    mongo_url: str,
    kafka_idempotence: bool,
    simulator: SimulatorServer,
) -> AsyncIterator[tuple[Stack, Wired]]:
    """One running order_sync for a whole test module (starting one takes seconds); tests keep
    apart by using their own suppliers, each with its own simulated NetSuite account."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=kafka_idempotence)
    await producer.start()
    harness = Stack(kafka_bootstrap, mongo_url, kafka_idempotence, simulator, producer, uuid.uuid4().hex[:10])
    try:
        service = await harness.start()
        yield harness, service
    finally:
        await harness.close()
        await producer.stop()
