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

At low rates that alone sends one command per request. With `window_s` > 0 a command waits until
`window_s` after the first request it carries arrived (or until it holds `max_size` requests, or
an `urgent` request joins), so requests arriving within the window share it: at r requests/s a
batch costs about 1 / (1 + r x window_s) commands per request, and no request waits for its
command to leave longer than the window. It waits only while requests come more often than one
per window (the current or the previous window saw two): a lone request would wait for nobody. `urgent` is for callers whose waiting costs more than the
command (a tenant at its concurrency limit): it sends everything queued at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

Run = Callable[[list[In]], Awaitable[Sequence[Out | BaseException]]]
"""Runs one batch; answers one result (or the exception for that request alone) per request, in order."""


class Batch(Generic[In, Out]):
    """Coalesces `submit(request)` calls into calls of `run(requests)`, one in flight at a time."""

    def __init__(self, run: Run[In, Out], *, name: str, max_size: int = 500, window_s: float = 0.0) -> None:
        self._run = run
        self._name = name
        self._max_size = max_size
        self._window_s = window_s
        self._queue: list[_Queued[In, Out]] = []
        self._go = asyncio.Event()  # an urgent request or a full batch is queued: no more waiting
        self._counted: tuple[float, int, int] = (0.0, 0, 0)  # window start, submissions, previous window's
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Commands sent so far (tests and diagnostics)."""

    async def submit(self, request: In, *, urgent: bool = False) -> Out:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out] = loop.create_future()
        now = loop.time()
        self._queue.append(_Queued(request, future, now, urgent))
        if self._window_s > 0:
            start, count, previous = self._counted
            if now - start >= self._window_s:
                start, count, previous = now, 0, count if now - start < 2 * self._window_s else 0
            self._counted = (start, count + 1, previous)
        if urgent or len(self._queue) >= self._max_size:
            self._go.set()
        if self._task is None or self._task.done():
            # The task's first step runs in the loop's next iteration: everything submitted in
            # this one joins the first command.
            self._task = asyncio.create_task(self._drain(), name=self._name)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._linger()
                batch, self._queue = self._queue[: self._max_size], self._queue[self._max_size :]
                if not any(q.urgent for q in self._queue) and len(self._queue) < self._max_size:
                    self._go.clear()
                self.batches += 1
                try:
                    results = await self._run([q.request for q in batch])
                except Exception as exc:  # every waiter hears about it; the next batch still runs
                    for q in batch:
                        _fail(q.future, exc)
                    continue
                except BaseException as exc:
                    for q in batch:
                        _fail(q.future, exc)
                    raise
                for future, result in zip((q.future for q in batch), results, strict=True):
                    if future.done():
                        continue  # its caller was cancelled meanwhile
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            # Cancelled (shutdown): nobody is left waiting forever.
            queued, self._queue = self._queue, []
            for q in queued:
                _fail(q.future, asyncio.CancelledError())

    async def _linger(self) -> None:
        """Wait until the window of the oldest queued request closed, unless told to go."""
        _, count, previous = self._counted
        if self._window_s <= 0 or max(count, previous) < 2:
            return
        delay = self._queue[0].since + self._window_s - asyncio.get_running_loop().time()
        if delay > 0 and not self._go.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._go.wait(), delay)


@dataclass(frozen=True)
class _Queued(Generic[In, Out]):
    request: In
    future: asyncio.Future[Out]
    since: float  # the loop's clock when it was submitted
    urgent: bool


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)
