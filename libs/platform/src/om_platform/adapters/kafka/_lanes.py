"""Concurrent processing that keeps per-record order and a per-tenant concurrency limit.

Each record (an order, an invoice) has a lane: events for it run one after another in arrival
order. Lanes of one tenant (a supplier) run concurrently up to that tenant's limit, which is its
NetSuite concurrency budget: going wider only queues inside the NetSuite client. Different tenants
never wait for each other here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from om_platform.core.tasks import cancel_and_wait

Job = Callable[[], Awaitable[None]]


@dataclass
class _Tenant:
    limit: int
    running: int = 0
    ready: deque[str] = field(default_factory=deque)  # lane keys waiting for a slot, FIFO


class LaneScheduler:
    """Runs jobs so that one key's jobs are sequential and one tenant runs at most `limit` at once.

    `submit` never blocks: back-pressure is the caller's business (the Kafka edge pauses a
    partition when too much is in flight). Jobs must handle their own errors; an exception that
    escapes a job is a bug and is passed to `on_crash` rather than lost.
    """

    def __init__(self, on_crash: Callable[[BaseException], None]) -> None:
        self._lanes: dict[tuple[str, str], deque[Job]] = {}
        self._tenants: dict[str, _Tenant] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_crash = on_crash
        self._cancelling = False

    @property
    def running(self) -> int:
        return len(self._tasks)

    def submit(self, tenant: str, key: str, job: Job, limit: int) -> None:
        state = self._tenants.setdefault(tenant, _Tenant(limit=max(1, limit)))
        state.limit = max(1, limit)
        lane = self._lanes.get((tenant, key))
        if lane is not None:  # the record already has work queued or running: keep its order
            lane.append(job)
            return
        self._lanes[(tenant, key)] = deque([job])
        state.ready.append(key)
        self._dispatch(tenant)

    def _dispatch(self, tenant: str) -> None:
        if self._cancelling:  # a lane finishing under cancel_all must not start the next job
            return
        state = self._tenants[tenant]
        while state.ready and state.running < state.limit:
            key = state.ready.popleft()
            state.running += 1
            task = asyncio.create_task(self._run_lane(tenant, key), name=f"lane:{tenant}:{key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_lane(self, tenant: str, key: str) -> None:
        lane = self._lanes[(tenant, key)]
        state = self._tenants[tenant]
        try:
            # One slot runs one job of the lane, then yields the slot so other lanes of the
            # same tenant get their turn (fair), re-queuing the lane if it has more work.
            job = lane.popleft()
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # jobs own their errors: reaching here is a bug
                self._on_crash(exc)
        finally:
            state.running -= 1
            if lane:
                state.ready.append(key)
            else:
                self._lanes.pop((tenant, key), None)
            if not state.running and not state.ready:
                self._tenants.pop(tenant, None)
            else:
                self._dispatch(tenant)

    async def wait_idle(self, timeout: float | None) -> bool:
        """Wait until no job runs or is queued; True if that happened within `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def cancel_all(self) -> None:
        self._cancelling = True
        try:
            while self._tasks:
                await cancel_and_wait(list(self._tasks))
        finally:
            self._cancelling = False
            self._lanes.clear()
            self._tenants.clear()
