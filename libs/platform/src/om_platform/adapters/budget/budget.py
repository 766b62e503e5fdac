"""``MongoBudget``: the :class:`~om_netsuite.Budget` port, shared through MongoDB (the hot path,
the account's background task and the lifecycle; the design is in the package docstring)."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from om_netsuite import BudgetTimeout, FifoGate
from om_platform.core.tasks import cancel_and_wait

from .allocation import Need
from .documents import Planner
from .heartbeats import Heartbeat
from .renewal import Renewal
from .state import Account, Holder, logger
from .store import BudgetStore
from .timing import LeaseTiming, OperationHook, ShareChangeHook

__all__ = ["MongoBudget"]


class MongoBudget:
    """:class:`~om_netsuite.Budget` shared by every process using the same collection.

    ``collection`` holds one document per account in use; ``timing`` sets the renewal interval,
    lease, margin, starvation poll and longest wait; ``name`` labels this process's entries for
    operators; ``on_operation`` / ``on_share_change`` feed metrics.
    """

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        timing: LeaseTiming | None = None,
        name: str | None = None,
        on_operation: OperationHook | None = None,
        on_share_change: ShareChangeHook | None = None,
    ) -> None:
        self.timing = timing if timing is not None else LeaseTiming()
        self.holder_id = secrets.token_hex(8)
        self.name = name or f"{socket.gethostname()}/{os.getpid()}"
        self._holder = Holder(self.holder_id, self.name, self.timing, on_share_change)
        self._accounts = self._holder.accounts
        self._store = BudgetStore(collection, self._holder, on_operation)
        self._heartbeat = Heartbeat(self._store, self._holder)
        self._renewal = Renewal(self._holder, self._store, self._heartbeat, Planner(self._holder), self._kick)
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    @property
    def operations(self) -> dict[str, int]:
        """MongoDB commands sent by this budget, by command name."""
        return self._store.operations

    @property
    def _indexed(self) -> bool:
        return self._store.indexed

    @property
    def _closed(self) -> bool:
        return self._holder.closed

    # -- what the process holds ----------------------------------------------------------------

    def granted(self) -> int:
        """Slots this process may use now, summed over its accounts."""
        now = time.monotonic()
        return sum(account.usable(now, self._holder.deadline) for account in self._accounts.values())

    def accounts_held(self) -> int:
        """Accounts this process has an entry for."""
        return sum(1 for account in self._accounts.values() if account.registered)

    def share_of(self, account_id: str) -> int:
        """The share the document holds for this process (>= what it may start, >= its in flight)."""
        account = self._accounts.get(account_id)
        return account.share if account is not None and account.registered else 0

    def gate(self, account_id: str) -> FifoGate | None:
        """The local gate of an account in use (``in_use`` = this process's requests in flight)."""
        account = self._accounts.get(account_id)
        return None if account is None else account.gate

    # -- the hot path --------------------------------------------------------------------------

    @asynccontextmanager
    async def slot(self, account_id: str, limit: int) -> AsyncIterator[None]:
        """Hold one of this process's share of ``account_id``'s ``limit`` slots."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        account = self._accounts.get(account_id)
        if account is None:
            if self._closed:
                raise RuntimeError("the NetSuite budget is closed")
            account = self._accounts[account_id] = Account(account_id, limit)
        elif limit != account.limit:
            self._limit_seen(account, limit)
        gate = account.gate
        # Waking, not only setting: a limit that grew since it was last set (a gate closed while
        # the heartbeat was overdue) serves the requests already waiting first, in their order; a
        # plain assignment left them waiting, and this request queued behind them.
        gate.wake(self._holder.usable(account))
        if gate.in_use < gate.limit and not gate.waiters:
            await gate.acquire()  # free: returns without suspending
            account.peak_demand = max(account.peak_demand, gate.in_use)
        else:
            await self._wait(account)
        try:
            yield
        finally:
            account.last_used = time.monotonic()
            gate.release(account.usable(account.last_used, self._holder.deadline))
            if not self._closed:
                if account.wants_write():
                    self._kick(account)
                elif account.contended and account.demand() == 0 and account.registered:
                    self._start(account, self._manage(account, returning=True))

    async def _wait(self, account: Account) -> None:
        demand = account.demand() + 1
        account.peak_demand = max(account.peak_demand, demand)
        if self._runner is None and not self._closed:
            self.start()
        lapsed = time.monotonic() >= self._holder.deadline or not account.registered
        capped = min(demand, account.limit)
        if lapsed or (capped > account.grant and capped > account.settled_for):
            self._kick(account)
        if account.wait_timer is None:
            # One timer per account with waiters, not one per wait (that cost ~20 us per request).
            loop = asyncio.get_running_loop()
            account.wait_timer = loop.call_later(self.timing.max_wait_s, self._expire_waits, account)
        await account.gate.acquire()

    def _expire_waits(self, account: Account) -> None:
        """Fail the waits longer than ``max_wait`` with BudgetTimeout; re-arm for the next oldest."""
        max_wait = self.timing.max_wait_s

        def timeout() -> BudgetTimeout:
            return BudgetTimeout(f"no NetSuite concurrency slot for {account.account_id} within {max_wait}s")

        account.gate.fail_waiters(time.monotonic() - max_wait, timeout)
        oldest = account.gate.oldest_wait()
        account.wait_timer = None
        if oldest is not None:
            delay = max(0.0, oldest + max_wait - time.monotonic())
            account.wait_timer = asyncio.get_running_loop().call_later(delay, self._expire_waits, account)

    def _limit_seen(self, account: Account, limit: int) -> None:
        lowered = limit < account.limit
        account.limit = limit
        if lowered:
            account.gate.limit = self._holder.usable(account)
            if account.registered and not self._closed:
                self._kick(account)

    # -- obtaining, growing, early returns -----------------------------------------------------

    def _kick(self, account: Account) -> None:
        self._start(account, self._manage(account))

    def _start(self, account: Account, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as the account's one background task, unless one is running."""
        if account.task is not None and not account.task.done():
            work.close()
            return
        task = asyncio.create_task(work, name=f"netsuite-budget:{account.account_id}")
        account.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _manage(self, account: Account, *, returning: bool = False) -> None:
        """The account's one background task: obtain, grow or write a lower share now; poll while
        starved or waiting at the fair share; retry while MongoDB fails; give an idle share back at
        once when another process wants it (``returning``), not at the next renewal."""
        failures = rewrites = 0
        while not self._closed:
            if returning:
                # After ``poll`` without a request, so that a steady trickle of requests keeps its share.
                await asyncio.sleep(self.timing.poll_s)
                returning = account.demand() == 0 and account.registered
                if not returning and not account.gate.waiters:
                    return
            failures = await self._obtain(account, failures, returning=returning)
            returning = False
            if not failures and account.wants_write() and rewrites < 3:
                rewrites += 1  # released again while we wrote: write the lower share now
                continue
            pause = self._pause(account, failures)
            if pause is None:
                if failures or not (account.contended and account.demand() == 0 and account.registered):
                    return
                returning = True  # idle and wanted elsewhere: give it back after ``poll``
                continue
            rewrites = 0
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))  # noqa: S311 - jitter only

    async def _obtain(self, account: Account, failures: int, *, returning: bool) -> int:
        """One compare-and-set for the account (and a word to its holders while starved); the
        number of consecutive MongoDB failures after it."""
        try:
            await self._renewal.cas(account, self._idle_need(account) if returning else account.need)
            if account.gate.waiters and (account.starved or account.unmet()):
                await self._heartbeat.tell(account)  # the holders re-plan at their next heartbeat
            self._store.recovered()
        except PyMongoError as error:
            self._store.failed("obtain", error)
            return failures + 1
        return 0

    def _pause(self, account: Account, failures: int) -> float | None:
        """How long the account's task sleeps before its next round; None: it has nothing to do."""
        waiting = bool(account.gate.waiters)
        if failures:
            if not (waiting or account.wants_write()):
                return None
            return min(self.timing.renew_s, self.timing.poll_s * float(2 ** min(failures, 6)))
        if waiting and account.starved:
            return self.timing.poll_s
        if account.unmet():
            # At its fair share but wanting more: capacity comes back when another process's
            # demand drops, which only a read shows. Look more often than the renewal does.
            return self.timing.renew_s / 4
        return None

    @staticmethod
    def _idle_need(account: Account) -> Callable[[], Need]:
        """Leave if still idle when the document has been read; else what is in flight and waiting."""
        return lambda: Need(0, account.limit, 0) if account.demand() == 0 else account.need()

    # -- the renewal loop ----------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Start the renewal loop (once); the returned task is the one to supervise."""
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="netsuite-budget")
            self._runner.add_done_callback(self._stopped)
        return self._runner

    @staticmethod
    def _stopped(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # Shares now lapse: requests stop starting a margin before their leases end.
            logger.error("netsuite budget: renewal loop died", exc_info=task.exception())

    @property
    def running(self) -> bool:
        return self._runner is not None and not self._runner.done()

    async def _run(self) -> None:
        while not self._closed:
            await self.renew()
            await asyncio.sleep(self.timing.renew_s * random.uniform(0.9, 1.1))  # noqa: S311 - jitter only

    async def renew(self) -> None:
        """One renewal: one heartbeat for the process, then a read (and a write where an allocation
        changes) for the accounts that need one: those another process asked for, those contended,
        idle ones to return, and a bounded audit slice. Nothing per account held otherwise."""
        await self._renewal.renew()

    async def aclose(self) -> None:
        """Stop the renewal loop and return every share (call once requests have drained).

        A share still covering a request whose outcome is unknown (the client stopped waiting, or
        holds the slot until the attempt's deadline) is not returned: it lapses with the heartbeat
        and counts for the drain after it, as NetSuite may still be working on that request.
        """
        if self._closed:
            return
        self._holder.closed = True
        await cancel_and_wait([task for task in (self._runner, *self._tasks) if task is not None])
        await self._renewal.return_all()
