"""One runner for per-supplier jobs: which are due, one replica each (a lease), a run log, a loop.

The three services each run a job per supplier on a schedule: order_sync polls each supplier's
NetSuite catalog, stock_sync scans each supplier's stock when its (jittered) slot comes or an
operator asks, finance_sync runs each enabled feature of each supplier once an hour. What they
share is written here once; what differs is what the service supplies:

- a `DueRule`: given every configured supplier (`om_platform.core.ports.Integrations.configured()`) and
  the time of the tick, the `SupplierJob`s due now, in the order to start them; and, once a job's
  lease is held, whether it is still due (another replica may have run it between the look and the
  lease). `EverySupplier` is the rule "every configured supplier, every tick" (order_sync's catalog).
- `run(job, lease)`: the job itself; it calls `lease.check()` between steps (raises
  `om_platform.core.ports.LeaseLost` once another replica took the lease over) and returns a result.

The runner, per tick: lists the due jobs; skips a job whose supplier's NetSuite breaker is open
(`om_platform.core.connections.ConnectionView`): the job stays due (the service's rule did not record
it done) and runs at the first tick after the connection is back (`wake()` then, so it need not
wait a whole tick); `on_held(job)` says so once per stretch. Every other due job not already
running in this process starts in its own task, at most `concurrency` running at once (the rest
queue, in order). Each job runs under the lease `<name>:<supplier>` (or `<name>:<part>:<supplier>`
for a job with a `part`, e.g. a finance feature): at most one holder across replicas; a replica
that does not get it skips the job. A failing job never stops the others nor the loop; the
outcome of every attempt (`ran`, `busy`, `not_due`, `held`, `lost`, `failed`) goes to
`on_finished` (the run log hook: metrics, a log line, a record in MongoDB).

Usage (in a service's `wire`; names as in stock_sync):

    jobs = SupplierJobs(
        "stock",                           # lease names `stock:<supplier>` (unchanged from before)
        integrations=integrations, leases=leases, due=StockDue(runs, clock), run=run_stock,
        connections=runtime.connections, clock=clock, concurrency=settings.stock_max_concurrent_runs,
        lease_ttl_s=settings.stock_lease_ttl_s, tick_s=settings.stock_tick_s,
        on_finished=record_run, on_held=mark_waiting,
    )
    runtime.supervise("stock-scheduler", jobs.loop)

    async def connection_back(supplier_id: str) -> None:
        jobs.wake()  # optional: the held jobs run now rather than at the next tick

    runtime.connections.on_recovered(connection_back)

`loop()` ticks every `tick_s` (or at once after `wake()`); with `rounds=True` each tick waits for
the jobs it started before the next wait (one round at a time: order_sync's catalog, finance's
hours) and `on_round(outcomes, seconds)` sees each round (order_sync's catalog duration metric),
else runs go on across ticks (stock). `tick()` starts the due jobs and returns them; `round()` also
waits for them and returns their outcomes; `run_now(job)` runs one job here and now under its
lease without asking the due rule (operator commands: `omctl run stock`); `hold(job)` is the job's
lease alone, for on-demand work that is not `run` (finance's run-now up to this second);
`wait_idle()` / `cancel()` for tests and shutdown. `concurrency=1` runs the jobs one after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Literal, Protocol, TypeVar

from om_contracts import IntegrationSettings
from om_platform.core.connections import AlwaysConnected, ConnectionDown, ConnectionView
from om_platform.core.ports import Integrations, LeaseCheck, LeaseLost, Leases
from om_platform.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)

R = TypeVar("R")

State = Literal["ran", "busy", "not_due", "held", "lost", "failed"]
"""What became of one job: `ran` (its result is in the outcome); `busy`: another replica holds its
lease; `not_due`: another replica ran it between the look and the lease; `held`: its supplier's
NetSuite connection is down (`ConnectionDown` raised, nothing recorded done: due again later);
`lost`: its lease was taken over while it ran (`LeaseLost`; the new holder records its own run);
`failed`: it raised anything else (logged with its traceback; due again as the rule says)."""


@dataclass(frozen=True)
class SupplierJob:
    """One unit of work of one supplier: `part` names which when a supplier has several (a feature)."""

    supplier_id: str
    integration: IntegrationSettings
    part: str = ""
    at: datetime | None = None
    """The time the due rule looked (e.g. the hour a finance run is due up to); None when unused."""

    @property
    def key(self) -> str:
        """`<supplier>` or `<part>:<supplier>`: the job's identity in this process and its lease."""
        return f"{self.part}:{self.supplier_id}" if self.part else self.supplier_id


@dataclass(frozen=True)
class JobOutcome(Generic[R]):
    """One attempt at a job, for the run log: its state, its result when it ran, how long it took."""

    job: SupplierJob
    state: State
    result: R | None = None
    error: BaseException | None = None
    seconds: float = 0.0


class DueRule(Protocol):
    """Which jobs are due: the service's schedule (a slot per hour, a jittered interval, a trigger)."""

    async def due(
        self, suppliers: Sequence[tuple[str, IntegrationSettings]], now: datetime
    ) -> Sequence[SupplierJob]:
        """The jobs of `suppliers` (every configured one, in id order) due at `now`, in start order."""
        ...

    async def still_due(self, job: SupplierJob, now: datetime) -> bool:
        """Asked once the job's lease is held: False when another replica ran it meanwhile."""
        ...


@dataclass(frozen=True)
class EverySupplier:
    """Every configured supplier is due at every tick (optionally only those `wanted`)."""

    wanted: Callable[[IntegrationSettings], bool] = lambda _integration: True

    async def due(
        self, suppliers: Sequence[tuple[str, IntegrationSettings]], now: datetime
    ) -> Sequence[SupplierJob]:
        return [
            SupplierJob(s, integration, at=now) for s, integration in suppliers if self.wanted(integration)
        ]

    async def still_due(self, _job: SupplierJob, _now: datetime) -> bool:
        return True


RunJob = Callable[[SupplierJob, LeaseCheck], Awaitable[R]]
OnFinished = Callable[[JobOutcome[R]], Awaitable[None]]
OnHeld = Callable[[SupplierJob], Awaitable[None]]
OnRound = Callable[[Sequence[JobOutcome[R]], float], Awaitable[None]]


async def _nothing(_: object) -> None:
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SupplierJobs(Generic[R]):
    """Runs a service's per-supplier jobs: due rule, breaker, lease, concurrency, run log, loop."""

    def __init__(
        self,
        name: str,
        *,
        integrations: Integrations,
        leases: Leases,
        due: DueRule,
        run: RunJob[R],
        connections: ConnectionView | None = None,
        clock: Callable[[], datetime] = _utc_now,
        concurrency: int = 4,
        lease_ttl_s: float = 60.0,
        tick_s: float = 60.0,
        rounds: bool = False,
        on_finished: OnFinished[R] = _nothing,
        on_held: OnHeld = _nothing,
        on_round: OnRound[R] | None = None,
    ) -> None:
        self.name = name
        self._integrations = integrations
        self._leases = leases
        self._due = due
        self._run = run
        self._connections: ConnectionView = connections or AlwaysConnected()
        self._clock = clock
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self._lease_ttl_s = lease_ttl_s
        self._tick_s = tick_s
        self._rounds = rounds
        self._on_finished = on_finished
        self._on_held = on_held
        self._on_round = on_round
        self._running: dict[str, asyncio.Task[JobOutcome[R]]] = {}
        self._held: set[str] = set()
        self._wake = asyncio.Event()

    def lease_name(self, job: SupplierJob) -> str:
        return f"{self.name}:{job.key}"

    # -- the loop -------------------------------------------------------------------------------

    async def loop(self) -> None:
        """Tick every `tick_s` (sooner after `wake()`) for the life of the process (supervise it)."""
        try:
            while True:
                self._wake.clear()
                began = time.monotonic()
                try:
                    if self._rounds:
                        outcomes = await self.round()
                        if self._on_round is not None:
                            await self._on_round(outcomes, time.monotonic() - began)
                    else:
                        await self.tick()
                except Exception:
                    # Listing suppliers or the due rule failed (a MongoDB blip): nothing was run, so
                    # the next tick sees the same jobs due; failures of single jobs never get here.
                    log.exception("%s: tick failed; retrying at the next tick", self.name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._tick_s)
        finally:
            await self.cancel()

    def wake(self) -> None:
        """Tick now rather than at the end of the wait (a connection came back, a run was asked)."""
        self._wake.set()

    async def tick(self) -> list[SupplierJob]:
        """Start the due jobs not running here already (each in its own task); returns them."""
        return [job for job, _task in await self._start_due()]

    async def round(self) -> list[JobOutcome[R]]:
        """`tick()`, then wait for the jobs it started; returns their outcomes in start order."""
        started = await self._start_due()
        return list(await asyncio.gather(*(task for _job, task in started)))

    async def _start_due(self) -> list[tuple[SupplierJob, asyncio.Task[JobOutcome[R]]]]:
        suppliers = [(s, integration) async for s, integration in self._integrations.configured()]
        if not suppliers:
            return []
        started: list[tuple[SupplierJob, asyncio.Task[JobOutcome[R]]]] = []
        for job in await self._due.due(suppliers, self._clock()):
            if job.key in self._running:
                continue
            if self._connections.is_open(job.supplier_id):
                if job.key not in self._held:
                    self._held.add(job.key)
                    log.info(
                        "%s held: the NetSuite connection is down",
                        self.name,
                        extra={"supplier_id": job.supplier_id, "job": job.part or self.name},
                    )
                    await self._on_held(job)
                continue
            self._held.discard(job.key)
            task = asyncio.create_task(self._queued(job), name=f"{self.name}:{job.key}")
            self._running[job.key] = task
            task.add_done_callback(functools.partial(self._forget, job.key))
            started.append((job, task))
        return started

    async def _queued(self, job: SupplierJob) -> JobOutcome[R]:
        async with self._gate:
            return await self._attempt(job, force=False)

    def _forget(self, key: str, task: asyncio.Task[JobOutcome[R]]) -> None:
        # A done callback, not a `finally`: a task cancelled before it ever ran is forgotten too.
        if self._running.get(key) is task:
            del self._running[key]

    # -- one job --------------------------------------------------------------------------------

    def hold(self, job: SupplierJob) -> AbstractAsyncContextManager[LeaseCheck | None]:
        """The job's lease, for on-demand work other than `run` (None while another holds it)."""
        return self._leases.hold(self.lease_name(job), self._lease_ttl_s)

    async def run_now(self, job: SupplierJob) -> JobOutcome[R]:
        """Run `job` here and now under its lease, due or not (an operator's command).

        State `busy` when another holder runs it; a failure of the job is raised to the caller
        (after the run log saw it), not only logged.
        """
        # An operator acts on the connection as it is, not on this process's last read of it
        # (another service may have seen the supplier re-authorise a moment ago).
        await self._connections.refresh(job.supplier_id)
        outcome = await self._attempt(job, force=True)
        if outcome.error is not None:
            raise outcome.error
        return outcome

    async def _attempt(self, job: SupplierJob, *, force: bool) -> JobOutcome[R]:
        began = time.monotonic()
        extra = {"supplier_id": job.supplier_id, "job": job.part or self.name}
        outcome: JobOutcome[R]
        try:
            async with self.hold(job) as lease:
                if lease is None:
                    log.debug("%s held by another replica", self.name, extra=extra)
                    return await self._finished(JobOutcome(job, "busy"))
                if not force and not await self._due.still_due(job, self._clock()):
                    return await self._finished(JobOutcome(job, "not_due"))
                result = await self._run(job, lease)
                outcome = JobOutcome(job, "ran", result, seconds=time.monotonic() - began)
        except asyncio.CancelledError:
            raise
        except ConnectionDown as exc:
            log.warning("%s held: %s", self.name, exc, extra=extra)
            outcome = JobOutcome(job, "held", error=exc, seconds=time.monotonic() - began)
        except LeaseLost as exc:
            log.warning("%s lost its lease; the new holder records its run", self.name, extra=extra)
            outcome = JobOutcome(job, "lost", error=exc, seconds=time.monotonic() - began)
        except Exception as exc:
            # One supplier's failure never stops the others: its job is due again as the rule says.
            log.exception("%s failed", self.name, extra=extra)
            outcome = JobOutcome(job, "failed", error=exc, seconds=time.monotonic() - began)
        return await self._finished(outcome)

    async def _finished(self, outcome: JobOutcome[R]) -> JobOutcome[R]:
        try:
            await self._on_finished(outcome)
        except Exception:
            log.exception(
                "%s: recording the run failed", self.name, extra={"supplier_id": outcome.job.supplier_id}
            )
        return outcome

    # -- tests and shutdown ---------------------------------------------------------------------

    async def wait_idle(self) -> None:
        """Wait for the jobs this process started (tests and shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def cancel(self) -> None:
        """Cancel the jobs this process started (their leases are released on the way out)."""
        await cancel_and_wait(list(self._running.values()))
