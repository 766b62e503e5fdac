"""Group commit: requests made while a round trip is in flight go together in the next one.

MongoDB's cost on this path is per command, not per document (the embedded Mongo-protocol server
spends ~0.7 ms of CPU on a single `find_one` and ~0.15 ms per document of a `find` with `$in`,
measured), and records of one process arrive in bursts (a Kafka fetch, a batched tranId read, a
batch of publish confirmations). A `Batch` therefore sends one command for every request made in
the same event-loop iteration, and while that command is in flight it collects the next ones.
Alone, a request goes out at once (it waits only for the loop's next iteration): light load pays
no linger.

Each caller still waits for its own result: nothing is acknowledged before the command that
carries it returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

Run = Callable[[list[In]], Awaitable[Sequence[Out | BaseException]]]
"""Runs one batch; answers one result (or the exception for that request alone) per request, in order."""


class Batch(Generic[In, Out]):
    """Coalesces `submit(request)` calls into calls of `run(requests)`, one in flight at a time."""

    def __init__(self, run: Run[In, Out], *, name: str, max_size: int = 500) -> None:
        self._run = run
        self._name = name
        self._max_size = max_size
        self._queue: list[tuple[In, asyncio.Future[Out]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Commands sent so far (tests and diagnostics)."""

    async def submit(self, request: In) -> Out:
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._task is None or self._task.done():
            # The task's first step runs in the loop's next iteration: everything submitted in
            # this one joins the first command.
            self._task = asyncio.create_task(self._drain(), name=self._name)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max_size], self._queue[self._max_size :]
                self.batches += 1
                try:
                    results = await self._run([request for request, _ in batch])
                except Exception as exc:  # every waiter hears about it; the next batch still runs
                    for _, future in batch:
                        _fail(future, exc)
                    continue
                except BaseException as exc:
                    for _, future in batch:
                        _fail(future, exc)
                    raise
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue  # its caller was cancelled meanwhile
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            # Cancelled (shutdown): nobody is left waiting forever.
            queued, self._queue = self._queue, []
            for _, future in queued:
                _fail(future, asyncio.CancelledError())


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)
