"""omctl's commands reach a service's handlers through om_platform's command queue."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from om_platform.adapters.mongo.commands import CommandQueue, serve_commands

from .conftest import Cli, known

pytestmark = pytest.mark.integration


@pytest.fixture
async def order_db(mongo_url: str, unique_name: str):
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        yield client[f"order_{unique_name}"]
    finally:
        await client.drop_database(f"order_{unique_name}")
        await client.close()


async def test_two_replicas_run_omctl_resync_once_and_omctl_shows_the_result(cli: Cli, order_db) -> None:
    await known(order_db, "sup_c")
    calls: list[tuple[str | None, dict[str, Any]]] = []

    async def resync(supplier_id: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
        calls.append((supplier_id, dict(args)))
        return {"resynced": 1}

    loops = [
        asyncio.create_task(serve_commands(CommandQueue(order_db), {"resync": resync}, 0.05))
        for _ in range(2)
    ]
    try:
        result = await cli.json("resync", "--supplier", "sup_c", "--record", "ord_1", "--wait", "20")
    finally:
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
    assert result["status"] == "done"
    assert result["result"] == {"resynced": 1}
    assert calls == [("sup_c", {"ordermentum_id": "ord_1"})]  # one replica ran it, once


async def test_a_failing_command_is_reported_as_failed_with_its_reason(cli: Cli, order_db) -> None:
    async def broken(supplier_id: str | None, args: Mapping[str, Any]) -> dict[str, Any]:
        raise LookupError(f"supplier {supplier_id} has no NetSuite integration configured")

    await known(order_db, "sup_f")
    task = asyncio.create_task(serve_commands(CommandQueue(order_db), {"resync": broken}, 0.05))
    try:
        failed = await cli("resync", "--supplier", "sup_f", "--wait", "20")
        unhandled = await cli("run", "catalog", "--supplier", "sup_f", "--wait", "0.5")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert failed.exit_code == 1
    assert "has no NetSuite integration configured" in failed.output
    assert unhandled.exit_code == 3  # no replica handles run_catalog: it stays queued
    assert "did not finish" in unhandled.output
