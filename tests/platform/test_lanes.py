"""Per-record order and per-supplier concurrency of the lane scheduler."""

import asyncio

from om_platform.adapters.kafka import LaneScheduler


def _crash(exc: BaseException) -> None:
    raise AssertionError(f"unexpected job crash: {exc!r}")


async def test_jobs_of_one_record_run_in_submission_order_one_at_a_time() -> None:
    scheduler = LaneScheduler(on_crash=_crash)
    seen: list[int] = []
    running = 0
    peak = 0

    def job(n: int):  # type: ignore[no-untyped-def]
        async def run() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            seen.append(n)
            running -= 1

        return run

    for n in range(20):
        scheduler.submit("sup_a", "ord_1", job(n), limit=5)
    assert await scheduler.wait_idle(5)
    assert seen == list(range(20))
    assert peak == 1


async def test_records_of_one_supplier_run_concurrently_up_to_its_limit() -> None:
    scheduler = LaneScheduler(on_crash=_crash)
    running = 0
    peak = 0
    release = asyncio.Event()

    async def run() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    for n in range(12):
        scheduler.submit("sup_a", f"ord_{n}", run, limit=3)
    await asyncio.sleep(0.01)
    assert peak == 3
    release.set()
    assert await scheduler.wait_idle(5)


async def test_a_saturated_supplier_does_not_hold_back_another_supplier() -> None:
    scheduler = LaneScheduler(on_crash=_crash)
    blocked = asyncio.Event()
    other_done = asyncio.Event()

    async def slow() -> None:
        await blocked.wait()

    async def fast() -> None:
        other_done.set()

    for n in range(10):
        scheduler.submit("busy", f"ord_{n}", slow, limit=2)
    scheduler.submit("quiet", "ord_x", fast, limit=2)
    await asyncio.wait_for(other_done.wait(), 1)
    blocked.set()
    assert await scheduler.wait_idle(5)


async def test_a_job_that_raises_is_reported_not_lost() -> None:
    crashes: list[BaseException] = []
    scheduler = LaneScheduler(on_crash=crashes.append)

    async def boom() -> None:
        raise ValueError("bug")

    scheduler.submit("s", "k", boom, limit=1)
    assert await scheduler.wait_idle(5)
    assert [type(c) for c in crashes] == [ValueError]


async def test_wait_idle_times_out_and_cancel_all_stops_running_jobs() -> None:
    scheduler = LaneScheduler(on_crash=_crash)
    scheduler.submit("s", "k", lambda: asyncio.sleep(60), limit=1)
    assert not await scheduler.wait_idle(0.05)
    await scheduler.cancel_all()
    assert scheduler.running == 0
