"""MongoBudget against the embedded Mongo-protocol server: limits, leases, fairness, processes."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from om_netsuite import BudgetTimeout, MongoBudget

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("budget_worker.py")


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted(
        [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1])
    )
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


async def test_fifty_callers_never_hold_more_than_the_limit(mongo_db: AsyncDatabase[Any]) -> None:
    budget = MongoBudget(mongo_db["budget"])
    inside = peak = done = 0

    async def call() -> None:
        nonlocal inside, peak, done
        async with budget.slot("1234567", 5):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.005)
            inside -= 1
            done += 1

    await asyncio.gather(*(call() for _ in range(50)))
    assert (peak, done) == (5, 50)
    held = await mongo_db["budget"].count_documents({"owner": {"$ne": None}})
    assert held == 0


async def test_two_budgets_on_one_collection_share_the_limit(mongo_db: AsyncDatabase[Any]) -> None:
    # Two instances behave like two processes: they only meet in MongoDB.
    first, second = MongoBudget(mongo_db["budget"]), MongoBudget(mongo_db["budget"])
    intervals: list[tuple[float, float]] = []

    async def call(budget: MongoBudget) -> None:
        async with budget.slot("A", 3):
            start = time.monotonic()
            await asyncio.sleep(0.01)
            intervals.append((start, time.monotonic()))

    await asyncio.gather(*(call(first if i % 2 else second) for i in range(30)))
    assert len(intervals) == 30
    assert max_overlap(intervals) <= 3


async def test_a_crashed_holders_slot_frees_when_its_lease_expires(mongo_db: AsyncDatabase[Any]) -> None:
    budget = MongoBudget(mongo_db["budget"], lease=5.0)
    async with budget.slot("A", 1):
        pass  # creates the slot document
    expiry = time.time() + 0.3
    await mongo_db["budget"].update_one({"_id": "A:0"}, {"$set": {"owner": "crashed", "expires_at": expiry}})
    async with budget.slot("A", 1):
        assert time.time() >= expiry
        doc = await mongo_db["budget"].find_one({"_id": "A:0"})
        assert doc is not None
        assert doc["owner"] != "crashed"


async def test_a_long_request_keeps_its_slot_by_renewing_the_lease(mongo_db: AsyncDatabase[Any]) -> None:
    holder = MongoBudget(mongo_db["budget"], lease=0.3)
    other = MongoBudget(mongo_db["budget"], lease=0.3, max_wait=0.8)
    async with holder.slot("A", 1):
        with pytest.raises(BudgetTimeout):
            async with other.slot("A", 1):
                pytest.fail("the slot was taken while its holder was alive")
    async with other.slot("A", 1):
        pass


async def test_waiting_is_bounded(mongo_db: AsyncDatabase[Any]) -> None:
    budget = MongoBudget(mongo_db["budget"], max_wait=0.2)
    async with budget.slot("A", 1):
        started = time.monotonic()
        with pytest.raises(BudgetTimeout):
            async with budget.slot("A", 1):
                pass
        assert 0.15 <= time.monotonic() - started < 2


async def test_a_cancelled_holder_gives_its_slot_back(mongo_db: AsyncDatabase[Any]) -> None:
    budget = MongoBudget(mongo_db["budget"])
    entered = asyncio.Event()

    async def hold() -> None:
        async with budget.slot("A", 1):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(2), budget.slot("A", 1):
        pass


async def test_two_os_processes_share_one_accounts_limit(
    mongo_url: str, mongo_db: AsyncDatabase[Any]
) -> None:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            mongo_url,
            mongo_db.name,
            "budget",
            "1234567",
            "5",
            "25",
            "0.02",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert (await proc.stdout.readline()).strip() == b"ready"
    outputs = await asyncio.gather(*(proc.communicate(b"go\n") for proc in procs))
    per_process: list[list[tuple[float, float]]] = []
    for proc, (out, _) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0
        per_process.append([(start, end) for start, end in json.loads(out)])
    intervals = per_process[0] + per_process[1]
    assert len(intervals) == 50
    assert max_overlap(intervals) <= 5
    # The processes really ran at the same time (otherwise the limit was never contended).
    first_end = max(end for _, end in per_process[0])
    second_start = min(start for start, _ in per_process[1])
    assert second_start < first_end
