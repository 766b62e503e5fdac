"""`GcFreezer`: what survived a slow full collection is frozen; a fast one changes nothing."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from om_platform.runtime.gc_freeze import GcFreezer


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process's own objects go back to being collected


async def _watch(freezer: GcFreezer) -> asyncio.Task[None]:
    task = asyncio.create_task(freezer.run())
    await asyncio.sleep(0)  # the callback is installed
    return task


async def test_a_full_collection_slower_than_the_threshold_freezes_its_survivors() -> None:
    observed: list[float] = []
    counted: list[bool] = []
    freezer = GcFreezer(  # every full collection counts as slow
        pause_s=0.0, check_s=0.01, observe=observed.append, counted=lambda: counted.append(True)
    )
    task = await _watch(freezer)
    try:
        kept = [{"supplier": n} for n in range(10_000)]  # long-lived, tracked objects
        gc.collect()
        async with asyncio.timeout(5):
            await freezer.froze.wait()
        assert gc.get_freeze_count() >= len(kept)
        assert freezer.slowest_s > 0
        assert observed  # the pause reached the metric, from the loop
        assert counted == [True] * freezer.freezes
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert freezer._callback not in gc.callbacks


async def test_young_collections_and_fast_full_ones_freeze_nothing() -> None:
    freezer = GcFreezer(pause_s=3600.0, check_s=0.01)
    task = await _watch(freezer)
    try:
        gc.collect(0)
        gc.collect(1)
        gc.collect()
        await asyncio.sleep(0.05)
        assert freezer.freezes == 0
        assert gc.get_freeze_count() == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
