"""Operator commands travel through MongoDB from the CLI to whichever replica claims them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from om_platform.adapters.mongo.commands import CommandQueue, serve_commands

pytestmark = pytest.mark.integration


async def test_a_command_is_run_once_by_one_of_two_replicas_and_its_result_recorded(mongo_db: Any) -> None:
    queue = CommandQueue(mongo_db)
    runs: list[tuple[str, str | None, dict[str, Any]]] = []

    def handler(replica: str):  # type: ignore[no-untyped-def]
        async def resync(supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
            runs.append((replica, supplier_id, dict(args)))
            return {"resynced": 3}

        return resync

    replicas = [
        asyncio.create_task(serve_commands(queue, {"resync": handler(name)}, poll_s=0.05))
        for name in ("a", "b")
    ]
    try:
        command_id = await queue.submit("resync", "sup_1", {"code": "UNMAPPED_PRODUCT"})
        document = await queue.wait(command_id, timeout=10, poll_s=0.05)
    finally:
        for task in replicas:
            task.cancel()
        await asyncio.gather(*replicas, return_exceptions=True)
    assert document["status"] == "done"
    assert document["result"] == {"resynced": 3}
    assert len(runs) == 1
    assert runs[0][1:] == ("sup_1", {"code": "UNMAPPED_PRODUCT"})


async def test_a_failing_command_records_the_error_and_the_loop_goes_on(mongo_db: Any) -> None:
    queue = CommandQueue(mongo_db)

    async def broken(supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        raise LookupError("no integration for sup_x")

    async def fine(supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"ok": True}

    loop = asyncio.create_task(serve_commands(queue, {"broken": broken, "fine": fine}, poll_s=0.05))
    try:
        failed = await queue.wait(await queue.submit("broken", "sup_x"), timeout=10, poll_s=0.05)
        done = await queue.wait(await queue.submit("fine"), timeout=10, poll_s=0.05)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert failed["status"] == "failed"
    assert failed["error"] == "LookupError: no integration for sup_x"
    assert done["status"] == "done"


async def test_waiting_for_a_command_nobody_serves_times_out(mongo_db: Any) -> None:
    queue = CommandQueue(mongo_db)
    with pytest.raises(TimeoutError):
        await queue.wait(await queue.submit("resync"), timeout=0.2, poll_s=0.05)


async def test_a_command_waits_until_the_events_published_before_it_are_processed(mongo_db: Any) -> None:
    queue = CommandQueue(mongo_db)
    processed = {("ordermentum.products.v1", 2): 40}
    seen_at_run: list[int] = []

    async def positions(topic: str, partition: int) -> int | None:
        if topic == "ordermentum.payments.v1":
            return None  # a topic this service does not consume is not waited for
        return processed.get((topic, partition), 0)

    async def resync(supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        seen_at_run.append(processed["ordermentum.products.v1", 2])
        return {"ok": True}

    loop = asyncio.create_task(
        serve_commands(queue, {"resync": resync}, poll_s=0.05, positions=positions, catch_up_s=30)
    )
    try:
        after = {"ordermentum.products.v1": {2: 42}, "ordermentum.payments.v1": {0: 9}}
        command_id = await queue.submit("resync", "sup_1", after=after)
        await asyncio.sleep(0.3)
        assert (await mongo_db["operator_commands"].find_one({"_id": command_id}))["status"] == "running"
        processed["ordermentum.products.v1", 2] = 42
        document = await queue.wait(command_id, timeout=10, poll_s=0.05)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert document["status"] == "done"
    assert seen_at_run == [42]


async def test_a_command_whose_events_are_not_processed_in_time_fails_without_running(mongo_db: Any) -> None:
    queue = CommandQueue(mongo_db)
    runs: list[str] = []

    async def positions(topic: str, partition: int) -> int | None:
        return 5

    async def resync(supplier_id: str | None, args: Mapping[str, Any]) -> Mapping[str, Any]:
        runs.append("ran")
        return {}

    loop = asyncio.create_task(
        serve_commands(queue, {"resync": resync}, poll_s=0.05, positions=positions, catch_up_s=0.3)
    )
    try:
        command_id = await queue.submit("resync", "sup_1", after={"ordermentum.orders.v1": {1: 7}})
        document = await queue.wait(command_id, timeout=10, poll_s=0.05)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert document["status"] == "failed"
    assert "ordermentum.orders.v1[1] at 5 of 7" in document["error"]
    assert "the command was not run" in document["error"]
    assert runs == []
