"""When and where stock runs happen: due suppliers, one replica per supplier, bounded concurrency.

`StockRuns.tick()` looks at every configured supplier with stock enabled, and starts those due
(never run, triggered on demand, or whose jittered slot has come) while this process has room.
Each run holds the lease `stock:<supplier>` (at most one holder across replicas) and re-reads the
schedule once it holds it, so a replica that saw a supplier due just before another finished it
does not run it again. Leases are taken under the process's identity (`owner`, INSTANCE_ID): a
process restarted after a crash finds its interrupted run still due (no outcome was recorded) and
takes its lease back at once; a replica of another identity waits for the lease to expire. A
run's outcome is stored in `stock_runs` whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from om_contracts import IntegrationSettings
from om_platform.connections import AlwaysConnected, ConnectionDown, ConnectionView
from om_platform.leases import LeaseLost
from om_platform.ports import Integrations, LeaseCheck, Leases, Publish
from stock_sync.domain.levels import BadConfiguration
from stock_sync.domain.schedule import Schedule, next_run_after, retry_after_failure
from stock_sync.service_layer.ports import (
    Clock,
    ProductMap,
    RunLog,
    SnapshotStore,
    StockReaders,
    StockReadFailed,
)
from stock_sync.service_layer.sync import RunCounts, StockRun, UnknownLocations

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunReport:
    """The outcome of one run: `succeeded` or `failed` (with a stable `code` and a `reason`)."""

    supplier_id: str
    outcome: str
    counts: RunCounts
    started_at: datetime
    finished_at: datetime
    code: str | None = None
    reason: str | None = None


@dataclass
class StockRuns:
    """The stock run use cases: the scheduled walk (`loop`/`tick`), `run_now`, `request_run` and
    the operator's `run_on_demand`; each run is a `StockRun` over the supplier's own reader."""

    integrations: Integrations
    runs: RunLog
    leases: Leases
    readers: StockReaders
    snapshots: SnapshotStore
    products: ProductMap
    publish: Publish
    clock: Clock
    max_concurrent_runs: int = 4
    lease_ttl_s: float = 60.0
    max_stripes: int = 5
    publish_concurrency: int = 16
    on_finished: Callable[[RunReport], None] = lambda _report: None
    connections: ConnectionView = field(default_factory=AlwaysConnected)
    """A supplier whose NetSuite breaker is open is not run (it stays due: it runs at the first tick
    after the connection is back); a run that failed because it broke is due again at once."""
    owner: str = field(default_factory=lambda: secrets.token_hex(6))
    _running: dict[str, asyncio.Task[RunReport | None]] = field(default_factory=dict)
    _waiting: set[str] = field(default_factory=set)

    # -- the loop -------------------------------------------------------------------------------

    async def loop(self, every_s: float) -> None:
        """Tick every `every_s` seconds for the life of the process (supervised by the runtime)."""
        try:
            while True:
                try:
                    await self.tick()
                except Exception:
                    # MongoDB blips must not end the loop; the next tick tries again.
                    log.exception("stock scheduler tick failed")
                await asyncio.sleep(every_s)
        finally:
            await self.cancel_runs()

    async def tick(self) -> list[str]:
        """Start the due suppliers this process has room for; returns their ids."""
        enabled = [
            sid async for sid, integration in self.integrations.configured() if integration.stock.enabled
        ]
        if not enabled:
            return []
        schedules = await self.runs.schedules(enabled)
        now = self.clock()
        due: list[tuple[datetime, str]] = []
        for supplier_id in enabled:
            if supplier_id in self._running:
                continue
            schedule = schedules.get(supplier_id, Schedule())
            if not schedule.is_due(now):
                continue
            if self.connections.is_open(supplier_id):
                await self._hold(supplier_id, now)
                continue
            self._waiting.discard(supplier_id)
            due.append((schedule.due_since(now), supplier_id))
        room = self.max_concurrent_runs - len(self._running)
        started = [supplier_id for _, supplier_id in sorted(due)[: max(room, 0)]]
        for supplier_id in started:
            self._running[supplier_id] = asyncio.create_task(
                self._guarded(supplier_id), name=f"stock:{supplier_id}"
            )
        return started

    async def _hold(self, supplier_id: str, now: datetime) -> None:
        if supplier_id not in self._waiting:
            self._waiting.add(supplier_id)
            await self.runs.waiting(supplier_id, now)
            log.info("stock run held: the NetSuite connection is down", extra={"supplier_id": supplier_id})

    async def _guarded(self, supplier_id: str) -> RunReport | None:
        try:
            return await self.run_supplier(supplier_id, force=False)
        except Exception:
            log.exception("stock run crashed", extra={"supplier_id": supplier_id})
            return None
        finally:
            self._running.pop(supplier_id, None)

    async def wait_idle(self) -> None:
        """Wait for the runs this process started (tests and shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def cancel_runs(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- on demand ------------------------------------------------------------------------------

    async def request_run(self, supplier_id: str) -> None:
        """Ask whichever replica looks next to run the supplier now (sets the trigger flag)."""
        await self.runs.request(supplier_id, self.clock())

    async def run_now(self, supplier_id: str) -> RunReport | None:
        """Run the supplier here and now; None when another holder runs it or stock is off."""
        return await self.run_supplier(supplier_id, force=True)

    async def run_on_demand(self, supplier_id: str) -> RunReport | None:
        """`omctl run stock`: run here and now, or (None) leave the trigger for the replica running it.

        Raises `ValueError` when the supplier has no stock sync to run.
        """
        report = await self.run_now(supplier_id)
        if report is not None:
            return report
        integration = await self.integrations.get(supplier_id)
        if integration is None or not integration.stock.enabled:
            raise ValueError(f"stock sync is not enabled for {supplier_id}")
        await self.request_run(supplier_id)
        return None

    # -- one run --------------------------------------------------------------------------------

    async def run_supplier(self, supplier_id: str, *, force: bool) -> RunReport | None:
        async with self.leases.hold(f"stock:{supplier_id}", self.lease_ttl_s) as lease:
            if lease is None:
                log.debug("stock run held elsewhere", extra={"supplier_id": supplier_id})
                return None
            integration = await self.integrations.get(supplier_id)
            if integration is None or not integration.stock.enabled:
                return None
            if not force:
                schedule = (await self.runs.schedules([supplier_id])).get(supplier_id, Schedule())
                if not schedule.is_due(self.clock()):
                    return None  # another replica ran it between our look and our lease
            return await self._execute(supplier_id, integration, lease)

    async def _execute(
        self, supplier_id: str, integration: IntegrationSettings, lease: LeaseCheck
    ) -> RunReport:
        started_at = self.clock()
        interrupted = await self.runs.started(supplier_id, started_at, self.owner)
        if interrupted is not None:
            # A crash (or a lost lease) ended that run before it recorded an outcome; this run
            # rescans from the start and republishes its unsaved changes under their event ids.
            log.warning(
                "stock run resumes an interrupted run",
                extra={
                    "supplier_id": supplier_id,
                    "interrupted_owner": interrupted.owner,
                    "interrupted_started_at": str(interrupted.started_at),
                },
            )
        log.info("stock run started", extra={"supplier_id": supplier_id})
        run = StockRun(
            supplier_id=supplier_id,
            integration=integration,
            reader=self.readers.reader(supplier_id, integration),
            snapshots=self.snapshots,
            products=self.products,
            publish=self.publish,
            clock=self.clock,
            max_stripes=self.max_stripes,
            publish_concurrency=self.publish_concurrency,
            lease=lease,
        )
        interval = integration.stock.interval_minutes
        code: str | None = None
        reason: str | None = None
        retry_soon = False
        try:
            await run.execute()
        except BadConfiguration as exc:
            code, reason = exc.code, exc.message
        except UnknownLocations as exc:
            code, reason = "UNKNOWN_LOCATION", str(exc)
        except StockReadFailed as exc:
            code, reason, retry_soon = exc.code, exc.message, exc.retryable
        except ConnectionDown as exc:
            code, reason = exc.code, str(exc)  # due again at once: held until the connection is back
        except LeaseLost:
            # Another replica holds the supplier now; it records its own run.
            log.warning("stock run lost its lease", extra={"supplier_id": supplier_id})
            raise
        except Exception as exc:
            log.exception("stock run failed unexpectedly", extra={"supplier_id": supplier_id})
            code, reason, retry_soon = "INTERNAL_ERROR", type(exc).__name__, True
        finished_at = self.clock()
        outcome = "succeeded" if code is None else "failed"
        if code is not None and self.connections.is_open(supplier_id):
            next_run_at = finished_at  # the connection broke: run as soon as it is back
        elif retry_soon:
            next_run_at = retry_after_failure(interval, finished_at)
        else:
            next_run_at = next_run_after(supplier_id, interval, finished_at)
        report = RunReport(supplier_id, outcome, run.counts, started_at, finished_at, code, reason)
        await self.runs.finished(
            supplier_id,
            at=finished_at,
            outcome=outcome,
            reason=None if code is None else f"{code}: {reason}",
            counts=run.counts.as_dict(),
            next_run_at=next_run_at,
        )
        extra = {"supplier_id": supplier_id, "outcome": outcome, **run.counts.as_dict()}
        extra.pop("unmapped_sample")
        if code is None:
            log.info("stock run succeeded", extra=extra)
        else:
            log.warning("stock run failed: %s", code, extra={**extra, "reason": reason})
        self.on_finished(report)
        return report
