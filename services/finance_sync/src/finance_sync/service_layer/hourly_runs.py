"""The hourly runs: every enabled feature of every configured supplier, once per hour.

The loop, the leases, the concurrency and the hold while a connection is down are the shared
per-supplier job runner's (`om_platform.supplier_jobs.SupplierJobs`, one job per supplier and
feature, built in `app.py`); what is finance's is here: the due rule and the slots of one job
(`SlotRuns.run_slots`).

A supplier whose NetSuite connection is down (its breaker is open, `om_platform.connections`) is
skipped without taking a lease; its slots stay not done and run once the connection is back.

A slot (an hour, on the hour, UTC) is run under the lease ``finance:<feature>:<supplier>`` (at
most one holder across replicas) and recorded in ``job_runs``; a replica that gets the lease
later finds the slot done and skips it. Missed slots (downtime) run oldest first, each window
reaching from the cursor to its slot. `run_now` runs one supplier's feature up to now, on demand,
under the same lease; `rewind_cursor` moves a cursor back so the next run re-reads from there
(already published facts stay de-duplicated).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from finance_sync.domain.cursors import Cursor, Position
from finance_sync.domain.features import Feature, enabled_features
from finance_sync.domain.slots import due_slots
from finance_sync.service_layer.polling import RunResult
from finance_sync.service_layer.ports import JobRunLog
from om_contracts import IntegrationSettings
from om_platform.core.connections import AlwaysConnected, ConnectionView
from om_platform.core.ports import Cursors, Integrations, LeaseCheck
from om_platform.core.supplier_jobs import SupplierJob, SupplierJobs

log = logging.getLogger(__name__)

RunWindow = Callable[[str, IntegrationSettings, Feature, datetime], Awaitable[RunResult]]


class LeaseBusy(Exception):
    """Another run of this supplier's feature holds the lease right now."""


@dataclass(frozen=True)
class ScheduleOptions:
    owner: str
    lease_ttl_s: float = 120.0
    max_catch_up_hours: int = 168
    concurrency: int = 8
    poll_s: float = 60.0


@dataclass(frozen=True)
class EveryEnabledFeature:
    """The due rule: every enabled feature of every configured supplier, at every tick.

    Which of its hours are due is read under the job's lease (`SlotRuns.run_slots`), from the
    run log: a feature whose hour another replica ran finds nothing due there.
    """

    async def due(
        self, suppliers: Sequence[tuple[str, IntegrationSettings]], now: datetime
    ) -> list[SupplierJob]:
        return [
            SupplierJob(supplier_id, integration, str(feature), at=now)
            for supplier_id, integration in suppliers
            for feature in enabled_features(integration)
        ]

    async def still_due(self, _job: SupplierJob, _now: datetime) -> bool:
        return True


@dataclass(kw_only=True)
class SlotRuns:
    """The job `SupplierJobs` runs for the hourly schedule (built in `app.py` over `run_slots`):
    one supplier feature's due hours, oldest first, under the job's lease."""

    job_runs: JobRunLog
    run_window: RunWindow
    clock: Callable[[], datetime]
    options: ScheduleOptions

    async def run_slots(self, job: SupplierJob, lease: LeaseCheck) -> list[datetime]:
        """Run the job's due hours oldest first (its lease held); returns the slots run here."""
        supplier_id, integration, feature = job.supplier_id, job.integration, Feature(job.part)
        ran: list[datetime] = []
        last_slot = await self.job_runs.last_slot(feature, supplier_id)
        for slot in due_slots(last_slot, job.at or self.clock(), self.options.max_catch_up_hours):
            lease.check()
            if await self.job_runs.is_done(feature, supplier_id, slot):
                await self.job_runs.complete_slot(feature, supplier_id, slot)
                continue
            result = await self.until_complete(supplier_id, integration, feature, slot, lease.check)
            await self.job_runs.mark_done(feature, supplier_id, slot, self.options.owner, result.published)
            await self.job_runs.complete_slot(feature, supplier_id, slot)
            log.info(
                "finance slot done",
                extra={
                    "supplier_id": supplier_id,
                    "feature": str(feature),
                    "slot": slot.isoformat(),
                    "rows": result.rows,
                    "published": result.published,
                },
            )
            ran.append(slot)
        return ran

    async def until_complete(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        feature: Feature,
        until: datetime,
        check: Callable[[], None],
    ) -> RunResult:
        """Run windows of `feature` until one reaches `until` (`check` raises once the lease is lost)."""
        rows = published = 0
        while True:
            check()
            result = await self.run_window(supplier_id, integration, feature, until)
            rows += result.rows
            published += result.published
            if result.complete:
                return RunResult(rows, published, complete=True)


@dataclass(kw_only=True)
class HourlyRuns:
    """Runs every due hourly slot of every configured supplier's enabled features.

    The loop, the breaker hold, the leases (``finance:<feature>:<supplier>``) and the concurrency
    are `jobs`' (`om_platform.supplier_jobs.SupplierJobs` over `SlotRuns.run_slots` and
    `EveryEnabledFeature`, built in `app.py`); the slots of one feature are `SlotRuns`'.
    """

    integrations: Integrations
    jobs: SupplierJobs[list[datetime]]
    slots: SlotRuns
    connections: ConnectionView = field(default_factory=AlwaysConnected)

    def wake(self) -> None:
        """Look for due slots now, not at the next poll (e.g. a supplier's connection came back)."""
        self.jobs.wake()

    async def run_forever(self) -> None:
        """Tick every `poll_s`, or as soon as `wake()` is called."""
        await self.jobs.loop()

    async def tick(self) -> list[tuple[str, Feature, datetime]]:
        """Run every due slot now; returns the (supplier, feature, slot)s this replica ran.

        A supplier whose NetSuite breaker is open is skipped: its slots stay not done, and run at
        the first tick after the connection is back; a failed run leaves its slot not done (retried
        at the next tick) and never stops the other suppliers.
        """
        return [
            (outcome.job.supplier_id, Feature(outcome.job.part), slot)
            for outcome in await self.jobs.round()
            for slot in outcome.result or ()
        ]

    async def run_due(
        self, supplier_id: str, integration: IntegrationSettings, feature: Feature, now: datetime
    ) -> list[datetime]:
        """Run the supplier's due slots of `feature` in order, if this replica gets the lease."""
        outcome = await self.jobs.run_now(SupplierJob(supplier_id, integration, str(feature), at=now))
        return outcome.result or []

    async def run_now(
        self, supplier_id: str, integration: IntegrationSettings, feature: Feature
    ) -> RunResult:
        """Run one supplier's feature up to now (the on-demand trigger); raises `LeaseBusy`.

        The window's end is rounded up to the next whole second: SuiteQL timestamps have second
        resolution and windows end strictly before their end, so a record created earlier in the
        current second is included rather than left for the next run's overlap.
        """
        clock = self.slots.clock()
        now = clock.replace(microsecond=0) + timedelta(seconds=1) if clock.microsecond else clock
        async with self.jobs.hold(SupplierJob(supplier_id, integration, str(feature))) as lease:
            if lease is None:
                raise LeaseBusy(f"{feature} of {supplier_id} is running elsewhere")
            return await self.slots.until_complete(supplier_id, integration, feature, now, lease.check)

    async def run_features_now(self, supplier_id: str, feature: str | None) -> dict[Feature, RunResult]:
        """Run `feature`, or every feature the supplier enabled, up to now (the operator's command)."""
        integration = await self.integrations.get(supplier_id)
        if integration is None:
            raise LookupError(f"supplier {supplier_id} has no NetSuite integration")
        await self.connections.refresh(supplier_id)  # the shared state now, not this process's last read
        features = [Feature(feature)] if feature else enabled_features(integration)
        return {f: await self.run_now(supplier_id, integration, f) for f in features}


async def rewind_cursor(
    cursors: Cursors[Cursor], supplier_id: str, feature: Feature | str, to: datetime
) -> None:
    """Move a cursor back to `to`: the next run re-reads from there (less the overlap).

    Facts already published stay de-duplicated; what was never published (e.g. a credit memo of
    a customer mapped since) is published then.
    """
    await cursors.save(supplier_id, str(feature), Cursor(Position(to, 0)))
