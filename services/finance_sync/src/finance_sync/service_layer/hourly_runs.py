"""The hourly schedule: every enabled feature of every configured supplier, once per hour.

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

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from finance_sync.domain.cursors import Cursor, Position
from finance_sync.domain.features import Feature, enabled_features
from finance_sync.domain.slots import due_slots
from finance_sync.service_layer.polling import RunResult
from finance_sync.service_layer.ports import JobRunLog
from om_contracts import IntegrationSettings
from om_platform.connections import AlwaysConnected, ConnectionDown, ConnectionView
from om_platform.ports import Cursors, Integrations, Leases

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


@dataclass(kw_only=True)
class FinanceScheduler:
    """Runs every due hourly slot of every configured supplier's enabled features (`tick`)."""

    integrations: Integrations
    leases: Leases
    job_runs: JobRunLog
    run_window: RunWindow
    clock: Callable[[], datetime]
    options: ScheduleOptions
    connections: ConnectionView = field(default_factory=AlwaysConnected)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def wake(self) -> None:
        """Look for due slots now, not at the next poll (e.g. a supplier's connection came back)."""
        self._wake.set()

    async def run_forever(self) -> None:
        """Tick every `poll_s`, or as soon as `wake()` is called."""
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                # Listing suppliers failed (MongoDB blip): nothing was marked done, so the next
                # tick runs the same slots; per-supplier failures are handled inside tick().
                log.exception("finance scheduler tick failed; retrying at the next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.options.poll_s)

    async def tick(self) -> list[tuple[str, Feature, datetime]]:
        """Run every due slot now; returns the (supplier, feature, slot)s this replica ran."""
        now = self.clock()
        # A supplier whose NetSuite breaker is open is skipped: its slots stay not done, and run
        # at the first tick after the connection is back (the service wakes the loop then).
        jobs = [
            (supplier_id, integration, feature)
            async for supplier_id, integration in self.integrations.configured()
            if not self.connections.is_open(supplier_id)
            for feature in enabled_features(integration)
        ]
        gate = asyncio.Semaphore(self.options.concurrency)

        async def one(supplier_id: str, integration: IntegrationSettings, feature: Feature) -> list[datetime]:
            async with gate:
                return await self.run_due(supplier_id, integration, feature, now)

        results = await asyncio.gather(*(one(*job) for job in jobs), return_exceptions=True)
        ran: list[tuple[str, Feature, datetime]] = []
        for (supplier_id, _integration, feature), result in zip(jobs, results, strict=True):
            if isinstance(result, ConnectionDown):
                log.warning(
                    "finance run held: %s",
                    result,
                    extra={"supplier_id": supplier_id, "feature": str(feature)},
                )
                continue
            if isinstance(result, BaseException):
                # The slot stays not done and is retried on the next tick; other suppliers go on.
                log.error(
                    "finance run failed: %r",
                    result,
                    exc_info=result,
                    extra={"supplier_id": supplier_id, "feature": str(feature)},
                )
                continue
            ran.extend((supplier_id, feature, slot) for slot in result)
        return ran

    async def run_due(
        self, supplier_id: str, integration: IntegrationSettings, feature: Feature, now: datetime
    ) -> list[datetime]:
        """Run the supplier's due slots of `feature` in order, if this replica gets the lease."""
        ran: list[datetime] = []
        async with self.leases.hold(f"finance:{feature}:{supplier_id}", self.options.lease_ttl_s) as lease:
            if lease is None:
                return ran
            last_slot = await self.job_runs.last_slot(feature, supplier_id)
            slots = due_slots(last_slot, now, self.options.max_catch_up_hours)
            for slot in slots:
                lease.check()
                if await self.job_runs.is_done(feature, supplier_id, slot):
                    await self.job_runs.complete_slot(feature, supplier_id, slot)
                    continue
                result = await self._until_complete(supplier_id, integration, feature, slot, lease.check)
                await self.job_runs.mark_done(
                    feature, supplier_id, slot, self.options.owner, result.published
                )
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

    async def run_now(
        self, supplier_id: str, integration: IntegrationSettings, feature: Feature
    ) -> RunResult:
        """Run one supplier's feature up to now (the on-demand trigger); raises `LeaseBusy`.

        The window's end is rounded up to the next whole second: SuiteQL timestamps have second
        resolution and windows end strictly before their end, so a record created earlier in the
        current second is included rather than left for the next run's overlap.
        """
        clock = self.clock()
        now = clock.replace(microsecond=0) + timedelta(seconds=1) if clock.microsecond else clock
        async with self.leases.hold(f"finance:{feature}:{supplier_id}", self.options.lease_ttl_s) as lease:
            if lease is None:
                raise LeaseBusy(f"{feature} of {supplier_id} is running elsewhere")
            return await self._until_complete(supplier_id, integration, feature, now, lease.check)

    async def run_features_now(self, supplier_id: str, feature: str | None) -> dict[Feature, RunResult]:
        """Run `feature`, or every feature the supplier enabled, up to now (the operator's command)."""
        integration = await self.integrations.get(supplier_id)
        if integration is None:
            raise LookupError(f"supplier {supplier_id} has no NetSuite integration")
        features = [Feature(feature)] if feature else enabled_features(integration)
        return {f: await self.run_now(supplier_id, integration, f) for f in features}

    async def _until_complete(
        self,
        supplier_id: str,
        integration: IntegrationSettings,
        feature: Feature,
        until: datetime,
        check: Callable[[], None],
    ) -> RunResult:
        rows = published = 0
        while True:
            check()
            result = await self.run_window(supplier_id, integration, feature, until)
            rows += result.rows
            published += result.published
            if result.complete:
                return RunResult(rows, published, complete=True)


async def rewind_cursor(
    cursors: Cursors[Cursor], supplier_id: str, feature: Feature | str, to: datetime
) -> None:
    """Move a cursor back to `to`: the next run re-reads from there (less the overlap).

    Facts already published stay de-duplicated; what was never published (e.g. a credit memo of
    a customer mapped since) is published then.
    """
    await cursors.save(supplier_id, str(feature), Cursor(Position(to, 0)))
