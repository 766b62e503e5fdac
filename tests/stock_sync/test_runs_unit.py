"""The stock run use cases against in-memory fakes: the due rule, one recorded run, the operator's run.

The shared ports (integrations, leases, the broker) are the shared fakes; the runner is the real
`SupplierJobs`. The run log is faked here (stock_sync's own port).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fakes import (
    FakeIntegrations,
    FakeLease,
    FakeLeases,
    FakeStockNetSuite,
    FakeStockProducts,
    FakeStockSnapshots,
    RecordingPublisher,
)
from om_contracts import IntegrationSettings
from om_platform.core.connections import AlwaysConnected, ConnectionDown
from om_platform.core.ports import LeaseLost
from om_platform.core.supplier_jobs import SupplierJob, SupplierJobs
from stock_sync.domain.run_report import RunReport
from stock_sync.domain.schedule import Schedule, next_run_after
from stock_sync.service_layer.ports import InterruptedRun, StockReader
from stock_sync.service_layer.runs import OnDemandRuns, StockDue, StockRuns
from stock_sync.service_layer.sync import ScanLimits

from .test_run_unit import integration

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@dataclass
class FakeRunLog:
    schedules_by_supplier: dict[str, Schedule] = field(default_factory=dict)
    running: dict[str, InterruptedRun] = field(default_factory=dict)
    finished_runs: list[tuple[RunReport, datetime]] = field(default_factory=list)
    waiting_since: dict[str, datetime] = field(default_factory=dict)

    async def schedules(self, supplier_ids: Sequence[str]) -> dict[str, Schedule]:
        return {s: self.schedules_by_supplier[s] for s in supplier_ids if s in self.schedules_by_supplier}

    async def request(self, supplier_id: str, at: datetime) -> None:
        schedule = self.schedules_by_supplier.get(supplier_id, Schedule())
        self.schedules_by_supplier[supplier_id] = Schedule(schedule.next_run_at, trigger=True)

    async def waiting(self, supplier_id: str, since: datetime) -> None:
        self.waiting_since.setdefault(supplier_id, since)

    async def started(self, supplier_id: str, at: datetime, owner: str) -> InterruptedRun | None:
        interrupted = self.running.get(supplier_id)
        self.running[supplier_id] = InterruptedRun(owner, at)
        return interrupted

    async def finished(self, report: RunReport, *, next_run_at: datetime) -> None:
        del self.running[report.supplier_id]
        self.schedules_by_supplier[report.supplier_id] = Schedule(next_run_at)
        self.finished_runs.append((report, next_run_at))


@dataclass
class Breaker(AlwaysConnected):
    open: set[str] = field(default_factory=set)

    def is_open(self, supplier_id: str, _credentials: str | None = None) -> bool:
        return supplier_id in self.open


class Readers:
    def __init__(self, netsuite: FakeStockNetSuite) -> None:
        self.netsuite = netsuite

    def for_supplier(self, supplier_id: str, integration: IntegrationSettings) -> StockReader:
        return self.netsuite


class Stock:
    """One process's stock runs over fakes: suppliers sup_1.. with 10 items each (the same items)."""

    def __init__(self, *suppliers: str) -> None:
        self.integrations = FakeIntegrations({s: integration() for s in suppliers or ("sup_1",)})
        self.run_log = FakeRunLog()
        self.netsuite = FakeStockNetSuite({str(i): {"3": Decimal(i), "1": Decimal(i)} for i in range(1, 11)})
        self.publisher = RecordingPublisher()
        self.breaker = Breaker()
        self.reports: list[RunReport] = []
        self.leases = FakeLeases()
        self.runs = StockRuns(
            self.integrations,
            self.run_log,
            Readers(self.netsuite),
            FakeStockSnapshots(),
            FakeStockProducts({str(i): f"prd_{i}" for i in range(1, 11)}),
            self.publisher,
            lambda: NOW,
            ScanLimits(max_stripes=2),
            on_finished=self.reports.append,
            connections=self.breaker,
            owner="me",
        )
        self.jobs = SupplierJobs[RunReport | None](
            "stock",
            integrations=self.integrations,
            leases=self.leases,
            due=StockDue(self.run_log),
            run=self.runs.run,
            connections=self.breaker,
            clock=lambda: NOW,
            on_held=self.runs.mark_waiting,
        )
        self.on_demand = OnDemandRuns(self.jobs, self.integrations, self.run_log, lambda: NOW)

    async def run(self, supplier_id: str = "sup_1") -> RunReport | None:
        return await self.runs.run(SupplierJob(supplier_id, integration()), FakeLease("stock:" + supplier_id))


async def test_due_are_enabled_suppliers_never_run_triggered_or_whose_slot_came_longest_waiting_first() -> (
    None
):
    log = FakeRunLog(
        {
            "sup_late": Schedule(NOW - timedelta(minutes=9)),
            "sup_soon": Schedule(NOW + timedelta(minutes=1)),
            "sup_asked": Schedule(NOW + timedelta(minutes=1), trigger=True),
            "sup_slot": Schedule(NOW - timedelta(minutes=1)),
        }
    )
    off = integration(enabled=False, location_ids="")
    configured = [(s, integration()) for s in ("sup_asked", "sup_late", "sup_new", "sup_slot", "sup_soon")]
    jobs = await StockDue(log).due([*configured, ("sup_off", off)], NOW)
    assert [job.supplier_id for job in jobs] == ["sup_late", "sup_slot", "sup_asked", "sup_new"]
    assert await StockDue(log).still_due(jobs[0], NOW)
    assert not await StockDue(log).still_due(SupplierJob("sup_soon", integration()), NOW)
    assert await StockDue(log).due([("sup_off", off)], NOW) == []


async def test_a_run_is_recorded_with_its_counts_and_next_slot_and_counted() -> None:
    stock = Stock()
    report = await stock.run()
    assert report is not None
    assert (report.outcome, report.code, report.counts.published) == ("succeeded", None, 10)
    assert stock.run_log.finished_runs == [(report, next_run_after("sup_1", 15, NOW))]
    assert stock.reports == [report]
    assert stock.run_log.running == {}
    assert stock.publisher.keys == ["sup_1"] * 10


async def test_failures_are_recorded_with_a_stable_code_and_retried_as_their_kind_says() -> None:
    stock = Stock()
    stock.integrations.settings["sup_1"] = integration(location_ids="3,77")
    report = await stock.run()
    assert report is not None
    assert report.code == "UNKNOWN_LOCATION"
    assert stock.run_log.finished_runs[-1][1] == next_run_after("sup_1", 15, NOW)  # waiting will not help

    stock.integrations.settings["sup_1"] = integration()
    stock.netsuite.fail_at_page = 0
    report = await stock.run()
    assert report is not None
    assert (report.code, report.reason) == ("NETSUITE_UNAVAILABLE", "429 after retries")
    assert report.stored_reason == "NETSUITE_UNAVAILABLE: 429 after retries"
    assert stock.run_log.finished_runs[-1][1] == NOW + timedelta(minutes=5)  # soon, within the interval


async def test_a_run_whose_connection_broke_is_due_again_at_once() -> None:
    stock = Stock()

    async def broken(*args: object) -> set[str]:
        stock.breaker.open.add("sup_1")
        raise ConnectionDown("sup_1", "down")

    stock.netsuite.known_locations = broken  # type: ignore[method-assign]
    report = await stock.run()
    assert report is not None
    assert report.outcome == "failed"
    assert stock.run_log.finished_runs[-1][1] == NOW


async def test_a_lost_lease_ends_the_run_without_recording_it_and_a_disabled_supplier_does_not_run() -> None:
    stock = Stock()
    lease = FakeLease("stock:sup_1", lost=True)
    with pytest.raises(LeaseLost):
        await stock.runs.run(SupplierJob("sup_1", integration()), lease)
    assert stock.run_log.finished_runs == []
    assert "sup_1" in stock.run_log.running  # the next run (of any replica) finds it interrupted
    stock.integrations.settings["sup_1"] = integration(enabled=False)
    assert await stock.run() is None


async def test_the_runner_holds_back_a_supplier_whose_breaker_is_open_and_marks_it_waiting_once() -> None:
    stock = Stock("sup_1", "sup_2")
    stock.breaker.open.add("sup_1")
    started = await stock.jobs.tick()
    await stock.jobs.wait_idle()
    assert [job.supplier_id for job in started] == ["sup_2"]
    assert stock.run_log.waiting_since == {"sup_1": NOW}
    assert await stock.jobs.tick() == []  # sup_1 still held; sup_2 not due until its next slot
    stock.breaker.open.clear()
    assert [job.supplier_id for job in await stock.jobs.tick()] == ["sup_1"]
    await stock.jobs.wait_idle()
    assert {report.supplier_id for report in stock.reports} == {"sup_1", "sup_2"}


async def test_the_operator_runs_here_or_leaves_a_trigger_when_another_replica_holds_the_supplier() -> None:
    stock = Stock()
    report = await stock.on_demand.run_on_demand("sup_1")
    assert report is not None
    assert report.outcome == "succeeded"
    stock.leases.busy.add("stock:sup_1")
    assert await stock.on_demand.run_on_demand("sup_1") is None
    assert stock.run_log.schedules_by_supplier["sup_1"].trigger
    with pytest.raises(ValueError, match="not enabled for sup_9"):
        await stock.on_demand.run_on_demand("sup_9")
