"""Group commit (`om_platform.core.batching.Batch`): one command per burst, each caller its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from om_platform.core.batching import Batch


class Recorder:
    """A `run` that records each batch and can be held open or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()
        self.fail_batch: Exception | None = None

    async def run(self, requests: list[int]) -> Sequence[int | BaseException]:
        self.batches.append(list(requests))
        self.entered.set()
        await self.gate.wait()
        if self.fail_batch is not None:
            raise self.fail_batch
        return [ValueError(f"odd {r}") if r % 2 else r * 10 for r in requests]


async def test_requests_made_together_go_in_one_batch_and_each_caller_gets_its_own_answer() -> None:
    recorder = Recorder()
    batch: Batch[int, int] = Batch(recorder.run, name="test")
    results = await asyncio.gather(*(batch.submit(n) for n in (2, 4, 3, 6)), return_exceptions=True)
    assert recorder.batches == [[2, 4, 3, 6]]
    assert (results[0], results[1], results[3]) == (20, 40, 60)
    assert isinstance(results[2], ValueError)


async def test_requests_made_while_a_batch_is_in_flight_go_together_in_the_next_one() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batch: Batch[int, int] = Batch(recorder.run, name="test")
    first = asyncio.ensure_future(batch.submit(2))
    await recorder.entered.wait()
    later = [asyncio.ensure_future(batch.submit(n)) for n in (4, 6, 8)]
    await asyncio.sleep(0)
    assert recorder.batches == [[2]]  # the others wait: one command in flight at a time
    recorder.gate.set()
    assert await first == 20
    assert await asyncio.gather(*later) == [40, 60, 80]
    assert recorder.batches == [[2], [4, 6, 8]]


async def test_a_failed_command_fails_every_caller_of_its_batch_and_the_next_batch_still_runs() -> None:
    recorder = Recorder()
    recorder.fail_batch = ConnectionError("mongo went away")
    batch: Batch[int, int] = Batch(recorder.run, name="test")
    results = await asyncio.gather(batch.submit(2), batch.submit(4), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    recorder.fail_batch = None
    assert await batch.submit(6) == 60


async def test_a_cancelled_caller_does_not_disturb_the_others_of_its_batch() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batch: Batch[int, int] = Batch(recorder.run, name="test")
    gone = asyncio.ensure_future(batch.submit(2))
    kept = asyncio.ensure_future(batch.submit(4))
    await recorder.entered.wait()
    gone.cancel()
    recorder.gate.set()
    assert await kept == 40
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_large_bursts_are_split_at_the_maximum_size() -> None:
    recorder = Recorder()
    batch: Batch[int, int] = Batch(recorder.run, name="test", max_size=3)
    await asyncio.gather(*(batch.submit(n) for n in (2, 4, 6, 8, 10)))
    assert recorder.batches == [[2, 4, 6], [8, 10]]
