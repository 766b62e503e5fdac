"""Per-account concurrency budget: the ``Budget`` port and the in-process ``LocalBudget``.

NetSuite limits concurrent requests per account, across every integration (Help Center
subsect_1559222360, bridgehead_1500275603). Every request attempt of this client holds one slot
of its account's budget while it is on the wire, and none while it sleeps in backoff.
:class:`LocalBudget` is enough when one process talks to an account; when several processes or
services share one, an implementation of the :class:`Budget` port outside this library gives each
a share of the limit and spends it through the same :class:`FifoGate` (this project's:
``om_platform.adapters.budget.MongoBudget``, leased shares kept in MongoDB).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Budget", "FifoGate", "LocalBudget"]


@runtime_checkable
class Budget(Protocol):
    """The budget port: bounds in-flight requests per NetSuite account.

    :class:`~om_netsuite.NetSuiteClient` takes any implementation; it enters one slot per request
    attempt and leaves it when the attempt's outcome is known (or its attempt deadline passed).
    """

    def slot(self, account_id: str, limit: int, /) -> AbstractAsyncContextManager[None]:
        """Wait for, hold, and on exit release one of ``limit`` slots of ``account_id``."""


@dataclass
class FifoGate:
    """A fair semaphore: waiters are served strictly in arrival order.

    ``asyncio.Semaphore`` lets a newcomer overtake woken waiters; here a released slot is handed
    directly to the oldest waiter. ``limit`` may change at any time: callers pass it to
    :meth:`acquire` / :meth:`release` (read on each call), or set it and call :meth:`wake` when
    it grew (the distributed budget's share of an account changes under its waiters).
    """

    limit: int = 1
    in_use: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    peak: int = 0
    _since: dict[asyncio.Future[None], float] = field(default_factory=dict, repr=False)

    async def acquire(self, limit: int | None = None) -> None:
        """Take a slot when fewer than ``limit`` (default: :attr:`limit`) are in use, in turn."""
        if limit is not None:
            self.wake(limit)  # a limit that grew serves those already waiting first
        if self.in_use < self.limit and not self.waiters:
            self._take()
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        self._since[future] = time.monotonic()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                # The slot was handed to us just as we were cancelled: pass it on.
                self.release()
            elif future in self.waiters:  # a wake() may have dropped it already
                self.waiters.remove(future)
            raise
        finally:
            del self._since[future]

    def _take(self) -> None:
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)

    def release(self, limit: int | None = None) -> None:
        """Give a slot back; the oldest waiters get it while fewer than ``limit`` are in use."""
        self.in_use -= 1
        self.wake(limit)

    def oldest_wait(self) -> float | None:
        """When (``time.monotonic()``) the longest-waiting caller arrived; None if nobody waits."""
        for future in self.waiters:
            if not future.done():
                return self._since.get(future)
        return None

    def fail_waiters(self, arrived_before: float, error: Callable[[], BaseException]) -> None:
        """Fail, with a fresh ``error()`` each, the waiters that arrived before ``arrived_before``."""
        while self.waiters:
            future = self.waiters[0]
            if not future.done() and self._since.get(future, arrived_before) >= arrived_before:
                return
            self.waiters.popleft()
            if not future.done():
                future.set_exception(error())

    def wake(self, limit: int | None = None) -> None:
        """Hand free slots to the oldest waiters (after the limit grew)."""
        if limit is not None:
            self.limit = limit
        while self.waiters and self.in_use < self.limit:
            future = self.waiters.popleft()
            if not future.done():
                self._take()
                future.set_result(None)


class LocalBudget:
    """:class:`Budget` for one process: a fair FIFO gate per account.

    Enough when a single process talks to an account; when several processes or services share
    one, use a distributed implementation of :class:`Budget` (such as
    ``om_platform.adapters.budget.MongoBudget``).
    """

    def __init__(self) -> None:
        self._gates: dict[str, FifoGate] = {}

    def gate(self, account_id: str) -> FifoGate:
        """The gate of one account (created on first use); exposes ``in_use`` and ``peak``."""
        gate = self._gates.get(account_id)
        if gate is None:
            gate = self._gates[account_id] = FifoGate()
        return gate

    @asynccontextmanager
    async def slot(self, account_id: str, limit: int) -> AsyncIterator[None]:
        """Hold one of ``limit`` slots for ``account_id``."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        gate = self.gate(account_id)
        await gate.acquire(limit)
        try:
            yield
        finally:
            gate.release(limit)
