"""LocalBudget: a fair FIFO gate per account."""

from __future__ import annotations

import asyncio
import time

import pytest

from om_netsuite import FifoGate, LocalBudget


async def test_waiters_get_slots_in_arrival_order() -> None:
    budget = LocalBudget()
    order: list[int] = []
    release = asyncio.Event()
    holders_in = asyncio.Event()
    held = 0

    async def holder() -> None:
        nonlocal held
        async with budget.slot("A", 2):
            held += 1
            if held == 2:
                holders_in.set()
            await release.wait()

    async def waiter(n: int) -> None:
        async with budget.slot("A", 2):
            order.append(n)
            await asyncio.sleep(0)

    holders = [asyncio.create_task(holder()) for _ in range(2)]
    await holders_in.wait()
    waiters = []
    for n in range(10):
        waiters.append(asyncio.create_task(waiter(n)))
        await asyncio.sleep(0)  # make arrival order explicit
    assert budget.gate("A").waiters
    assert len(budget.gate("A").waiters) == 10
    release.set()
    await asyncio.gather(*holders, *waiters)
    assert order == list(range(10))
    assert budget.gate("A").peak == 2
    assert budget.gate("A").in_use == 0


async def test_a_newcomer_does_not_overtake_queued_waiters() -> None:
    budget = LocalBudget()
    gate = budget.gate("A")
    await gate.acquire(1)
    order: list[str] = []

    async def take(name: str) -> None:
        async with budget.slot("A", 1):
            order.append(name)

    first = asyncio.create_task(take("queued"))
    await asyncio.sleep(0)
    gate.release(1)  # hands the slot to "queued" directly
    second = asyncio.create_task(take("newcomer"))
    await asyncio.gather(first, second)
    assert order == ["queued", "newcomer"]


async def test_accounts_do_not_share_slots() -> None:
    budget = LocalBudget()
    async with budget.slot("A", 1), budget.slot("B", 1):
        assert budget.gate("A").in_use == 1
        assert budget.gate("B").in_use == 1


async def test_a_cancelled_waiter_leaves_the_queue_and_the_slot_count_intact() -> None:
    budget = LocalBudget()
    gate = budget.gate("A")
    await gate.acquire(1)
    waiter = asyncio.create_task(gate.acquire(1))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not gate.waiters
    gate.release(1)
    assert gate.in_use == 0
    async with budget.slot("A", 1):
        assert gate.in_use == 1


async def test_concurrent_callers_never_exceed_the_limit() -> None:
    budget = LocalBudget()
    inside = 0
    peak = 0

    async def work() -> None:
        nonlocal inside, peak
        async with budget.slot("A", 3):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(work() for _ in range(50)))
    assert peak == 3


async def test_a_grown_limit_wakes_waiters_in_order() -> None:
    gate = FifoGate(limit=1)
    await gate.acquire()
    order: list[int] = []

    async def wait(n: int) -> None:
        await gate.acquire()
        order.append(n)

    waiters = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    gate.wake(3)  # two more may run now: the two oldest
    await asyncio.sleep(0)
    assert order == [0, 1]
    gate.release()
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]


async def test_old_waiters_fail_oldest_first_and_newer_ones_keep_their_place() -> None:
    gate = FifoGate(limit=1)
    await gate.acquire()
    old = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    cutoff = time.monotonic()
    await asyncio.sleep(0.01)
    new = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    assert gate.oldest_wait() is not None
    gate.fail_waiters(cutoff, lambda: TimeoutError("waited too long"))
    with pytest.raises(TimeoutError):
        await old
    assert len(gate.waiters) == 1
    gate.release()
    await new
    assert gate.in_use == 1
    assert gate.oldest_wait() is None
