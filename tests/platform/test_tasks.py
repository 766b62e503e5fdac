"""`cancel_and_wait`: background tasks end even when one lost its cancellation."""

from __future__ import annotations

import asyncio

import pytest

from om_platform.core.tasks import cancel_and_wait


async def _loses_first_cancellation(seen: list[str]) -> None:
    """What a loop does when `asyncio.wait_for` (Python 3.11) returned a result instead of raising."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        seen.append("lost")  # the loop goes on as if nothing happened
    await asyncio.sleep(3600)


async def test_a_task_that_lost_its_cancellation_is_cancelled_again(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    stubborn = asyncio.create_task(_loses_first_cancellation(seen), name="stubborn")
    plain = asyncio.create_task(asyncio.sleep(3600), name="plain")
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await cancel_and_wait([stubborn, plain], recancel_s=0.05)
    assert stubborn.cancelled()
    assert plain.cancelled()
    assert seen == ["lost"]
    assert "cancelled again: stubborn" in caplog.text


async def test_finished_and_failed_tasks_are_waited_for_without_noise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fail() -> None:
        raise RuntimeError("boom")

    done = asyncio.create_task(asyncio.sleep(0))
    failed = asyncio.create_task(fail())
    await asyncio.wait([done, failed])
    await cancel_and_wait([done, failed])  # nothing left to cancel; the error is retrieved, not raised
    assert not done.cancelled()
    assert isinstance(failed.exception(), RuntimeError)
    assert "cancelled again" not in caplog.text


async def test_the_callers_own_cancellation_is_not_swallowed() -> None:
    released = asyncio.Event()

    async def ignores_cancellation() -> None:
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                continue

    stubborn = asyncio.create_task(ignores_cancellation())
    waiter = asyncio.create_task(cancel_and_wait([stubborn], recancel_s=0.05))
    await asyncio.sleep(0.12)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not stubborn.done()  # still running: nothing here may wait for it forever
    released.set()
    await stubborn
