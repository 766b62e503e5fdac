"""MongoDeadLetterMemory against the embedded Mongo-protocol server: a burst costs one command.

The memory's group commit is the platform `Batch`, with each letter id carried once per command;
the commands are counted with a pymongo command listener on the test's own client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient, monitoring

from om_platform.adapters.kafka import MongoDeadLetterMemory

pytestmark = pytest.mark.integration


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest_asyncio.fixture(loop_scope="session")
async def counted(mongo_url: str, unique_name: str) -> AsyncIterator[tuple[MongoDeadLetterMemory, Commands]]:
    commands = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, event_listeners=[commands])
    name = f"test_{unique_name}"
    try:
        await client.admin.command("ping")
        yield MongoDeadLetterMemory(client[name]["dead_letters"]), commands
        await client.drop_database(name)
    finally:
        await client.close()


async def test_a_burst_of_recalls_and_remembers_costs_one_command_each(
    counted: tuple[MongoDeadLetterMemory, Commands],
) -> None:
    memory, commands = counted
    ids = [f"letter-{i % 30}" for i in range(60)]  # every id asked twice in the burst
    commands.names.clear()

    assert await asyncio.gather(*(memory.recall(i) for i in ids)) == [False] * 60
    assert commands.names.count("find") == 1

    await asyncio.gather(*(memory.remember(i, {"n": n}) for n, i in enumerate(ids)))
    assert commands.names.count("update") == 1

    assert await asyncio.gather(*(memory.recall(i) for i in [*ids, "never-sent"])) == [True] * 60 + [False]
    assert commands.names.count("find") == 2


async def test_the_first_facts_given_for_a_letter_are_the_ones_kept(
    counted: tuple[MongoDeadLetterMemory, Commands],
) -> None:
    memory, _ = counted
    await asyncio.gather(memory.remember("same", {"n": 1}), memory.remember("same", {"n": 2}))
    stored = await memory._collection.find_one({"_id": "same"})
    assert stored == {"_id": "same", "n": 1}
