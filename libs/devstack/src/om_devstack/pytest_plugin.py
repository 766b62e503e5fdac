"""pytest fixtures for the embedded stack (registered in tests/conftest.py ``pytest_plugins``).

Session fixtures start a component only when a test asks for it:

* ``kafka_bootstrap`` / ``mongo_url`` -- external servers when ``KAFKA_BOOTSTRAP_SERVERS`` /
  ``MONGODB_URL`` are set, Docker containers when ``OM_TEST_STACK=docker``, else embedded.
* ``kafka_idempotence`` -- whether producers may enable idempotence (False on tansu).
* ``simulator`` -- an in-process NetSuite simulator (``.base_url``, ``.sim``).
* ``embedded_stack`` -- the embedded :class:`EmbeddedStack` itself, with broker and Mongo running,
  for crash tests (``restart_kafka``, ``kill_mongo``...). It ignores the environment variables.

Function fixtures: ``unique_name``, ``mongo_db``, ``make_topics``, ``kafka_producer``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, Protocol

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from om_devstack._session import StackSession
from om_devstack.stack import EmbeddedStack, create_topics

if TYPE_CHECKING:
    from om_netsuite_sim import SimulatorServer

__all__ = ["MakeTopics"]


class MakeTopics(Protocol):
    """``await make_topics("orders", "stock", partitions=3)`` -> unique topic names, created."""

    def __call__(self, *bases: str, partitions: int = 1, compacted: bool = False) -> Awaitable[list[str]]: ...


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def om_stack_session() -> AsyncIterator[StackSession]:
    """The per-run stack session; nothing starts until a component is requested."""
    session = StackSession()
    try:
        yield session
    finally:
        await session.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_bootstrap(om_stack_session: StackSession) -> str:
    """Bootstrap servers of a Kafka-protocol broker for this test session."""
    return await om_stack_session.kafka_bootstrap()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mongo_url(om_stack_session: StackSession) -> str:
    """A pymongo URL of a Mongo-protocol server for this test session."""
    return await om_stack_session.mongo_url()


@pytest.fixture(scope="session")
def kafka_idempotence(om_stack_session: StackSession) -> bool:
    """Value for producers' ``enable_idempotence`` / services' ``KAFKA_ENABLE_IDEMPOTENCE``."""
    return om_stack_session.idempotent_producers_supported


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def embedded_stack(om_stack_session: StackSession) -> EmbeddedStack:
    """The embedded stack with broker and Mongo running (always embedded, for crash tests)."""
    stack = om_stack_session.embedded
    await stack.start_kafka()
    await stack.start_mongo()
    return stack


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def simulator() -> AsyncIterator[SimulatorServer]:
    """An in-process NetSuite simulator over real HTTP, shared by the session.

    ``simulator.base_url`` is its address and ``simulator.sim`` its state: tests add their own
    accounts (``simulator.sim.add_account(f"{unique_name}_SB1")``) so they do not collide.
    """
    from om_netsuite_sim import Simulator, SimulatorServer

    server = SimulatorServer(Simulator())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def unique_name() -> str:
    """A short unique suffix for this test's topics, databases and consumer groups."""
    return uuid.uuid4().hex[:10]


@pytest_asyncio.fixture(loop_scope="session")
async def mongo_db(mongo_url: str, unique_name: str) -> AsyncIterator[AsyncDatabase[Any]]:
    """A fresh database for this test on the session's Mongo server, dropped afterwards."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    name = f"test_{unique_name}"
    try:
        yield client[name]
        await client.drop_database(name)
    finally:
        await client.close()


@pytest.fixture
def make_topics(kafka_bootstrap: str, unique_name: str) -> MakeTopics:
    """Async callable creating ``<base>-<unique_name>`` topics; returns their names."""

    async def make(*bases: str, partitions: int = 1, compacted: bool = False) -> list[str]:
        names = [f"{base}-{unique_name}" for base in bases]
        return await create_topics(kafka_bootstrap, [(n, partitions, compacted) for n in names])

    return make


@pytest_asyncio.fixture(loop_scope="session")
async def kafka_producer(kafka_bootstrap: str, kafka_idempotence: bool) -> AsyncIterator[AIOKafkaProducer]:
    """A started aiokafka producer (idempotence only where the broker supports it)."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=kafka_idempotence)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
