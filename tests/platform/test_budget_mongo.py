"""MongoBudget against the embedded Mongo-protocol server: limits, leases, fairness, cost.

Several ``MongoBudget`` instances in one test behave like several processes: they only meet in
MongoDB. Real OS processes are in ``test_budget_processes.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from om_netsuite import BudgetTimeout, FifoGate
from om_platform.adapters.budget import LeaseTiming, MongoBudget

pytestmark = pytest.mark.integration

FAST = LeaseTiming(renew_s=0.3, lease_s=2.0, margin_s=0.5, poll_s=0.05, max_wait_s=30.0)
#: Renewals far apart: a test counting operations sees only the ones its requests cause.
QUIET = LeaseTiming(renew_s=60.0, lease_s=120.0, margin_s=2.0, poll_s=0.05, max_wait_s=30.0)


async def eventually(predicate: Callable[[], bool], timeout: float = 20.0) -> float:
    """Wait until ``predicate()`` holds; return how long it took."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the state lives in other objects' tasks
            await asyncio.sleep(0.01)
    return time.monotonic() - started


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


class Commands(monitoring.CommandListener):
    """Every command a client sends (name and body), for counting operations."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def names(self, since: int = 0) -> list[str]:
        return [name for name, _ in self.sent[since:]]


@pytest_asyncio.fixture(loop_scope="session")
async def watched(
    mongo_url: str, mongo_db: AsyncDatabase[Any]
) -> AsyncIterator[tuple[Commands, AsyncDatabase[Any]]]:
    """The test's database through a client whose commands are recorded."""
    commands = Commands()
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url, event_listeners=[commands])
    try:
        yield commands, client[mongo_db.name]
    finally:
        await client.close()


async def server_ms(collection: AsyncCollection[Any]) -> int:
    cursor = await collection.database.aggregate(
        [{"$documents": [{}]}, {"$project": {"now": {"$toLong": "$$NOW"}}}]
    )
    return int((await cursor.to_list())[0]["now"])


async def test_fifty_callers_stay_within_the_limit_and_all_finish(mongo_db: AsyncDatabase[Any]) -> None:
    budget = MongoBudget(mongo_db["shares"], timing=FAST)
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
    assert peak <= 5  # the bound
    assert done == 50  # and progress, asserted apart: how many ran at once depends on the machine
    await budget.aclose()
    assert await mongo_db["shares"].count_documents({}) == 0  # the last holder deletes the document


async def test_three_budgets_on_one_collection_share_the_limit(mongo_db: AsyncDatabase[Any]) -> None:
    budgets = [MongoBudget(mongo_db["shares"], timing=FAST) for _ in range(3)]
    intervals: list[tuple[float, float]] = []

    async def call(budget: MongoBudget) -> None:
        async with budget.slot("A", 3):
            start = time.monotonic()
            await asyncio.sleep(0.01)
            intervals.append((start, time.monotonic()))

    await asyncio.gather(*(call(budgets[i % 3]) for i in range(60)))
    assert len(intervals) == 60
    assert max_overlap(intervals) <= 3
    for budget in budgets:
        await budget.aclose()


async def test_a_request_in_steady_state_costs_no_mongodb_operation(
    watched: tuple[Commands, AsyncDatabase[Any]],
) -> None:
    commands, db = watched
    budget = MongoBudget(db["shares"], timing=QUIET)

    async def call() -> None:
        async with budget.slot("A", 5):
            await asyncio.sleep(0.002)

    async def caller(n: int) -> None:
        for _ in range(n):
            await call()

    await asyncio.gather(*(caller(4) for _ in range(8)))  # obtains and grows the share
    await eventually(lambda: not budget._tasks)
    before = len(commands.sent)
    await asyncio.gather(*(caller(25) for _ in range(8)))  # 200 requests, 8 callers on 5 slots
    assert commands.names(before) == []
    await budget.aclose()


async def test_a_thousand_idle_accounts_do_not_change_what_an_acquisition_costs(
    watched: tuple[Commands, AsyncDatabase[Any]],
) -> None:
    commands, db = watched
    now = await server_ms(db["crowded"])
    # Accounts used by other processes: some live, some long dead (left for the TTL sweeper).
    await db["crowded"].insert_many(
        {
            "_id": f"{n:07d}",
            "epoch": "e",
            "version": 3,
            "holders": {
                f"other{n}": {
                    "share": 2,
                    "demand": 2,
                    "limit": 5,
                    "expires": now + (60_000 if n % 2 else -60_000),
                }
            },
        }
        for n in range(1000)
    )

    async def first_acquisition(collection: str) -> list[tuple[str, dict[str, Any]]]:
        budget = MongoBudget(db[collection], timing=QUIET)
        budget.start()  # its first renewal creates the TTL index: not part of an acquisition
        await eventually(lambda: budget._indexed)  # and then finds nothing to renew
        before = len(commands.sent)
        async with budget.slot("9999999", 5):
            pass
        await eventually(lambda: not budget._tasks)
        sent = commands.sent[before:]
        await budget.aclose()
        return sent

    alone = await first_acquisition("empty")
    crowded = await first_acquisition("crowded")
    # A first contact creates the document without reading it: one write, filtered on the _id.
    assert [name for name, _ in crowded] == [name for name, _ in alone] == ["update"]
    (write,) = crowded
    assert write[1]["updates"][0]["q"]["_id"] == "9999999"


async def test_a_first_contact_with_an_existing_document_reads_it_and_retries(
    mongo_db: AsyncDatabase[Any],
) -> None:
    db = mongo_db
    other = MongoBudget(db["shares"], timing=QUIET)
    async with other.slot("A", 5):
        pass  # keeps its idle share: the document exists
    sent: list[str] = []  # this budget's commands (the other's first renewal may run meanwhile)
    budget = MongoBudget(db["shares"], timing=QUIET, on_operation=sent.append)
    async with budget.slot("A", 5):
        pass
    await eventually(lambda: not budget._tasks)
    # The blind insert fails on the _id; then a read on the _id index (and the other holder's
    # heartbeat) and a compare-and-set. The process's heartbeat (its renewal loop's) comes first.
    assert sent.index("findAndModify") < sent.index("update")
    names = [name for name in sent if name not in ("createIndexes", "findAndModify")]
    assert names[:4] == ["update", "aggregate", "find", "update"]
    assert budget.share_of("A") + other.share_of("A") <= 5
    for each in (budget, other):
        await each.aclose()


async def test_a_starved_budget_gets_its_fair_share_within_the_bound(mongo_db: AsyncDatabase[Any]) -> None:
    busy, newcomer = (
        MongoBudget(mongo_db["shares"], timing=FAST),
        MongoBudget(mongo_db["shares"], timing=FAST),
    )
    request_s = 0.05
    stop = asyncio.Event()
    started: dict[str, int] = {"busy": 0, "new": 0}

    async def caller(budget: MongoBudget, who: str) -> None:
        while not stop.is_set():
            async with budget.slot("A", 5):
                started[who] += 1
                await asyncio.sleep(request_s)

    busy_callers = [asyncio.create_task(caller(busy, "busy")) for _ in range(8)]
    await eventually(lambda: busy.granted() == 5)
    arrived = time.monotonic()
    new_callers = [asyncio.create_task(caller(newcomer, "new")) for _ in range(8)]
    first_share = await eventually(lambda: newcomer.granted() >= 1)
    # Its fair share: 2 or 3 of 5 (holder ids, random per process, decide the odd unit).
    fair = await eventually(lambda: newcomer.granted() >= 2 and busy.granted() + newcomer.granted() == 5)
    waited = time.monotonic() - arrived
    stop.set()
    await asyncio.gather(*busy_callers, *new_callers)
    # The documented bound: renew + the longest request in flight + poll (+ MongoDB round trips).
    bound = FAST.renew_s + request_s + FAST.poll_s
    assert first_share <= waited <= 3 * bound + 2.0, (first_share, fair, waited)
    assert started["new"] > 0
    for budget in (busy, newcomer):
        await budget.aclose()


async def test_an_idle_budget_returns_its_share(mongo_db: AsyncDatabase[Any]) -> None:
    changes: list[str] = []
    timing = dataclasses.replace(FAST, keep_idle_s=0.5)
    budget = MongoBudget(mongo_db["shares"], timing=timing, on_share_change=changes.append)
    async with budget.slot("A", 5):
        assert budget.accounts_held() == 1
    returned = await eventually(lambda: budget.accounts_held() == 0)
    assert returned >= timing.keep_idle_s  # kept while nobody wanted it
    assert await mongo_db["shares"].count_documents({}) == 0
    assert changes == ["grow", "return"]
    await budget.aclose()


async def test_an_idle_share_nobody_wants_is_kept_and_a_newcomer_gets_it_within_the_bound(
    mongo_db: AsyncDatabase[Any],
) -> None:
    idle = MongoBudget(mongo_db["shares"], timing=dataclasses.replace(FAST, keep_idle_s=60.0))
    async with idle.slot("A", 5), idle.slot("A", 5):
        pass
    # Several renewals without a request: the share stays (no obtain for the next request).
    await asyncio.sleep(4 * FAST.renew_s)
    assert idle.share_of("A") == 2
    newcomer = MongoBudget(mongo_db["shares"], timing=FAST)
    stop = asyncio.Event()

    async def caller() -> None:
        while not stop.is_set():
            async with newcomer.slot("A", 5):
                await asyncio.sleep(0.01)

    arrived = time.monotonic()
    callers = [asyncio.create_task(caller()) for _ in range(8)]
    await eventually(lambda: newcomer.granted() == 5)
    waited = time.monotonic() - arrived
    stop.set()
    await asyncio.gather(*callers)
    assert idle.share_of("A") == 0
    # The documented bound: renew (the idle holder sees the demand) + poll (+ MongoDB round trips).
    assert waited <= 3 * (FAST.renew_s + FAST.poll_s) + 2.0, waited
    for budget in (idle, newcomer):
        await budget.aclose()


async def test_the_share_of_a_dead_holder_returns_when_its_lease_expires(
    mongo_db: AsyncDatabase[Any],
) -> None:
    collection = mongo_db["shares"]
    expires = await server_ms(collection) + 1500
    await collection.insert_one(
        {
            "_id": "A",
            "epoch": "e",
            "version": 1,
            "holders": {"dead": {"share": 1, "demand": 1, "limit": 1, "expires": expires}},
        }
    )
    budget = MongoBudget(collection, timing=FAST)
    async with budget.slot("A", 1):
        assert await server_ms(collection) >= expires  # not one moment before the lease ended
    await budget.aclose()


async def test_a_long_request_keeps_its_share_by_renewing(mongo_db: AsyncDatabase[Any]) -> None:
    holder = MongoBudget(mongo_db["shares"], timing=FAST)
    other = MongoBudget(mongo_db["shares"], timing=LeaseTiming(0.3, 2.0, 0.5, 0.05, max_wait_s=3.0))
    async with holder.slot("A", 1):
        with pytest.raises(BudgetTimeout):  # 3 s, longer than a lease: renewals kept it
            async with other.slot("A", 1):
                pytest.fail("the slot was taken while its holder was alive")
    async with other.slot("A", 1):
        pass
    for budget in (holder, other):
        await budget.aclose()


async def test_waiting_is_bounded(mongo_db: AsyncDatabase[Any]) -> None:
    budget = MongoBudget(mongo_db["shares"], timing=LeaseTiming(0.3, 2.0, 0.5, 0.05, max_wait_s=0.2))
    async with budget.slot("A", 1):
        started = time.monotonic()
        with pytest.raises(BudgetTimeout):
            async with budget.slot("A", 1):
                pass
        assert 0.15 <= time.monotonic() - started < 5
    await budget.aclose()


async def test_a_waiter_starts_once_an_overdue_heartbeat_is_renewed(mongo_db: AsyncDatabase[Any]) -> None:
    """A slot released while the heartbeat is overdue (a stalled loop, a slow MongoDB) closes the
    gate; the next heartbeat must open it for whoever waits, not leave it waiting until max_wait
    (seen in the fuzz run: a request stuck behind a gate of 0 held its Kafka partition)."""
    budget = MongoBudget(mongo_db["shares"], timing=QUIET)
    holding, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with budget.slot("A", 1):
            holding.set()
            await release.wait()

    async def second() -> None:
        async with budget.slot("A", 1):
            pass

    holder = asyncio.create_task(first())
    await holding.wait()
    waiter = asyncio.create_task(second())
    gate = budget.gate("A")
    assert gate is not None
    await eventually(lambda: len(gate.waiters) == 1 and not budget._tasks)
    # The loop stalled past the margin: the heartbeat's deadline is behind us (deterministic here,
    # where a real stall would race the renewal loop).
    budget._holder.deadline = time.monotonic() - 0.01
    release.set()
    await holder
    assert gate.limit == 0  # released while nothing could start: closed
    assert not waiter.done()
    await budget.renew()  # the next heartbeat, on time
    async with asyncio.timeout(5):
        await waiter
    await budget.aclose()


async def test_a_request_arriving_at_a_reopened_gate_serves_the_one_waiting_first(
    mongo_db: AsyncDatabase[Any],
) -> None:
    """The gate's limit is recomputed when a request arrives; if it grew, the requests already
    waiting go first (and do go): the newcomer must not queue behind a waiter nobody wakes."""
    budget = MongoBudget(mongo_db["shares"], timing=QUIET)
    holding, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with budget.slot("A", 1):
            holding.set()
            await release.wait()

    async def request(name: str) -> None:
        async with budget.slot("A", 1):
            order.append(name)

    holder = asyncio.create_task(first())
    await holding.wait()
    waiter = asyncio.create_task(request("waiting"))
    gate = budget.gate("A")
    assert gate is not None
    await eventually(lambda: len(gate.waiters) == 1 and not budget._tasks)
    overdue = budget._holder.deadline
    budget._holder.deadline = time.monotonic() - 0.01  # released while the heartbeat is overdue
    release.set()
    await holder
    assert gate.limit == 0
    budget._holder.deadline = overdue  # the deadline is good again (no heartbeat ran here)
    async with asyncio.timeout(5):
        await asyncio.gather(waiter, request("newcomer"))
    assert order == ["waiting", "newcomer"]
    await budget.aclose()


async def test_a_cancelled_holder_gives_its_slot_back(mongo_db: AsyncDatabase[Any]) -> None:
    budget = MongoBudget(mongo_db["shares"], timing=FAST)
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
    async with asyncio.timeout(5), budget.slot("A", 1):
        pass
    await budget.aclose()


async def test_a_lowered_limit_applies_at_once_here_and_at_the_next_renewal_elsewhere(
    mongo_db: AsyncDatabase[Any],
) -> None:
    first, second = MongoBudget(mongo_db["shares"], timing=FAST), MongoBudget(mongo_db["shares"], timing=FAST)
    limit = {"first": 4, "second": 4}
    inside = peak = 0
    stop = asyncio.Event()

    async def caller(budget: MongoBudget, who: str) -> None:
        nonlocal inside, peak
        while not stop.is_set():
            async with budget.slot("A", limit[who]):
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.02)
                inside -= 1

    pairs = ((first, "first"), (second, "second"))
    callers = [asyncio.create_task(caller(budget, who)) for budget, who in pairs for _ in range(4)]
    await eventually(
        lambda: first.granted() + second.granted() == 4 and min(first.granted(), second.granted()) > 0
    )
    limit["second"] = 2  # the second process sees the new limit with its next request
    lowered = time.monotonic()
    await eventually(lambda: second.granted() <= 2)  # and clamps locally at once
    # The first learns it from the document at its next renewal and shrinks once its requests in
    # flight have finished; until then the shares cover what was started under the old limit.
    await eventually(lambda: first.share_of("A") + second.share_of("A") <= 2)
    transition = time.monotonic() - lowered
    peak = inside  # from now on the shares bound what is in flight
    await asyncio.sleep(FAST.renew_s * 4)  # several renewals under the new limit
    stop.set()
    await asyncio.gather(*callers)
    assert peak <= 2
    assert transition <= 3 * (FAST.renew_s + 0.02) + 2.0  # renew + the longest request in flight
    for budget in (first, second):
        await budget.aclose()


async def test_metrics_hooks_see_operations_and_share_changes(mongo_db: AsyncDatabase[Any]) -> None:
    operations: list[str] = []
    changes: list[str] = []
    budget = MongoBudget(
        mongo_db["shares"], timing=FAST, on_operation=operations.append, on_share_change=changes.append
    )
    async with budget.slot("A", 2), budget.slot("A", 2):
        assert budget.granted() == 2
    await budget.aclose()
    assert {"aggregate", "update"} <= set(operations)
    assert changes[0] == "grow"
    assert changes[-1] == "return"


async def test_a_restored_document_copy_keeps_its_holder_from_growing_until_the_others_are_back(
    mongo_db: AsyncDatabase[Any],
) -> None:
    # Both collections lost while A has 3 requests in flight and B 2. B notices first and re-creates
    # the document; A has not noticed yet and still has its 3 on the wire. B then wants more: its
    # write must be capped by the restore window (computed from B's own copy of the document, which
    # did not carry the window, it took the whole limit on top of A's 3: 6 against 5).
    collection = mongo_db["shares"]
    a, b = (MongoBudget(collection, timing=QUIET) for _ in range(2))
    release = asyncio.Event()

    async def hold(budget: MongoBudget) -> None:
        async with budget.slot("A", 5):
            await release.wait()

    held = [asyncio.create_task(hold(a)) for _ in range(3)]
    await eventually(lambda: a.share_of("A") == 3 and (a.gate("A") or FifoGate()).in_use == 3)
    held += [asyncio.create_task(hold(b)) for _ in range(2)]
    await eventually(lambda: (b.gate("A") or FifoGate()).in_use == 2)
    for name in ("shares", "shares_holders"):
        await mongo_db[name].delete_many({})
    await b.renew()  # heartbeat gone: B re-reads, finds no document and re-creates it
    assert b.share_of("A") == 2
    held += [asyncio.create_task(hold(b)) for _ in range(3)]  # B now wants 5
    entry = f"holders.{b.holder_id}.demand"
    async with asyncio.timeout(20):
        while await collection.count_documents({"_id": "A", entry: 5}) == 0:  # noqa: ASYNC110 - in MongoDB
            await asyncio.sleep(0.01)
    assert b.share_of("A") <= 2
    assert (b.gate("A") or FifoGate()).in_use == 2
    await a.renew()  # A notices and claims back what it held, beside B
    assert a.share_of("A") + b.share_of("A") <= 5
    assert (a.gate("A") or FifoGate()).in_use + (b.gate("A") or FifoGate()).in_use <= 5
    release.set()
    await asyncio.gather(*held)
    for budget in (a, b):
        await budget.aclose()
