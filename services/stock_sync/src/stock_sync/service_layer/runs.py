"""When a supplier's stock runs, and what one run records: the due rule, the run, the operator's run.

The shared per-supplier runner (`om_platform.supplier_jobs.SupplierJobs`, job name `stock`, wired
in app.py) looks at every configured supplier each STOCK_TICK_S and asks `StockDue` which are due:
stock enabled and never run, triggered on demand (`omctl run stock`), or whose jittered slot has
come, longest waiting first. A supplier whose NetSuite breaker is open is held back (it stays due;
`StockRuns.mark_waiting` shows it in `stock_runs`). Each run holds the lease `stock:<supplier>` (at
most one holder across replicas) and `StockDue.still_due` re-reads the schedule once it holds it,
so a replica that saw a supplier due just before another finished it does not run it again.
Leases are taken under the process's identity (`owner`, INSTANCE_ID): a process restarted after a
crash finds its interrupted run still due (no outcome was recorded) and takes its lease back at
once; a replica of another identity waits for the lease to expire. `StockRuns.run` stores a run's
outcome in `stock_runs` whatever happens.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from om_contracts import IntegrationSettings
from om_platform.core.connections import AlwaysConnected, ConnectionDown, ConnectionView
from om_platform.core.ports import Integrations, LeaseCheck, LeaseLost, Publish
from om_platform.core.supplier_jobs import SupplierJob, SupplierJobs
from stock_sync.domain.levels import BadConfiguration
from stock_sync.domain.run_report import RunReport
from stock_sync.domain.schedule import Schedule, next_run_after, retry_after_failure
from stock_sync.service_layer.ports import (
    Clock,
    ProductMap,
    RunLog,
    SnapshotStore,
    StockReaders,
    StockReadFailed,
)
from stock_sync.service_layer.sync import ScanLimits, StockRun, UnknownLocations

log = logging.getLogger(__name__)


@dataclass
class StockRuns:
    """One supplier's stock run under its lease: a `StockRun` over the supplier's own NetSuite
    reader, its outcome classified (a stable code), recorded with the next due time, and counted."""

    integrations: Integrations
    runs: RunLog
    readers: StockReaders
    snapshots: SnapshotStore
    products: ProductMap
    publish: Publish
    clock: Clock
    limits: ScanLimits
    on_finished: Callable[[RunReport], None] = lambda _report: None
    connections: ConnectionView = field(default_factory=AlwaysConnected)
    """A run that failed because the supplier's NetSuite breaker opened is due again at once (the
    runner holds it back until the connection is back)."""
    owner: str = field(default_factory=lambda: secrets.token_hex(6))

    async def run(self, job: SupplierJob, lease: LeaseCheck) -> RunReport | None:
        """The run of `job` (the runner holds its lease); None when stock sync was turned off meanwhile.

        Raises `LeaseLost` when another replica took the supplier over (it records its own run).
        """
        integration = await self.integrations.get(job.supplier_id)
        if integration is None or not integration.stock.enabled:
            return None
        return await self._execute(job.supplier_id, integration, lease)

    async def mark_waiting(self, job: SupplierJob) -> None:
        """The runner holds the supplier back: its NetSuite connection is down (`omctl status`)."""
        await self.runs.waiting(job.supplier_id, self.clock())

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
            supplier_id,
            integration,
            self.readers.for_supplier(supplier_id, integration),
            self.snapshots,
            self.products,
            self.publish,
            self.clock,
            self.limits,
            lease,
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
        await self.runs.finished(report, next_run_at=next_run_at)
        extra = {"supplier_id": supplier_id, "outcome": outcome, **run.counts.as_dict()}
        extra.pop("unmapped_sample")
        if code is None:
            log.info("stock run succeeded", extra=extra)
        else:
            log.warning("stock run failed: %s", code, extra={**extra, "reason": reason})
        self.on_finished(report)
        return report


@dataclass(frozen=True)
class StockDue:
    """The due rule of stock runs (`om_platform.supplier_jobs.DueRule`) over `stock_runs`."""

    runs: RunLog

    async def due(
        self, suppliers: Sequence[tuple[str, IntegrationSettings]], now: datetime
    ) -> list[SupplierJob]:
        """Suppliers with stock enabled whose schedule says due, the longest waiting first."""
        enabled = {
            supplier_id: integration for supplier_id, integration in suppliers if integration.stock.enabled
        }
        if not enabled:
            return []
        schedules = await self.runs.schedules(list(enabled))
        due: list[tuple[datetime, str]] = []
        for supplier_id in enabled:
            schedule = schedules.get(supplier_id, Schedule())
            if schedule.is_due(now):
                due.append((schedule.due_since(now), supplier_id))
        return [SupplierJob(supplier_id, enabled[supplier_id]) for _, supplier_id in sorted(due)]

    async def still_due(self, job: SupplierJob, now: datetime) -> bool:
        schedule = (await self.runs.schedules([job.supplier_id])).get(job.supplier_id, Schedule())
        return schedule.is_due(now)


@dataclass(frozen=True)
class OnDemandRuns:
    """Runs an operator asks for: here and now under the supplier's lease, or left as a trigger."""

    jobs: SupplierJobs[RunReport | None]
    integrations: Integrations
    runs: RunLog
    clock: Clock

    async def request_run(self, supplier_id: str) -> None:
        """Ask whichever replica looks next to run the supplier now (sets the trigger flag)."""
        await self.runs.request(supplier_id, self.clock())

    async def run_now(self, supplier_id: str) -> RunReport | None:
        """Run the supplier here and now; None when another holder runs it or stock is off."""
        integration = await self.integrations.get(supplier_id)
        if integration is None or not integration.stock.enabled:
            return None
        return (await self.jobs.run_now(SupplierJob(supplier_id, integration))).result

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


@dataclass(frozen=True)
class HeldRuns:
    """stock_sync's `WaitingWork` (`om_platform.core.waiting`): the runs the runner holds while a
    supplier's connection is down. They stay due in `stock_runs` (`next_run_at`), which the runner
    reads at every tick, so its first tick after start is their catch-up; a recovery wakes the
    runner at once rather than at its next tick."""

    jobs: SupplierJobs[RunReport | None]

    async def waiting_suppliers(self) -> list[str]:
        return []  # kept due by the schedule itself (see above)

    async def resume(self, _supplier_id: str) -> None:
        self.jobs.wake()
