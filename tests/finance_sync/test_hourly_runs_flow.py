"""The hourly schedule across replicas and after downtime, against the real stores and simulator."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import pytest

from finance_sync.app import Wired, hourly_jobs
from finance_sync.domain.cursors import Cursor, Position
from finance_sync.domain.features import Feature
from finance_sync.service_layer.hourly_runs import HourlyRuns, LeaseBusy, ScheduleOptions, SlotRuns
from finance_sync.service_layer.polling import RunResult
from om_contracts import NETSUITE_INVOICES_TOPIC, IntegrationSettings
from om_platform.adapters.mongo.commands import CommandQueue
from om_platform.adapters.mongo.leases import LeaseStore
from om_platform.core.connections import AlwaysConnected, ConnectionView

from .conftest import MakeSupplier, Supplier, events_on
from .test_documents_flow import sales_order, supplier_with_catalogue

pytestmark = pytest.mark.integration


class CountingRuns:
    """The service's window runner, counting how often each supplier's slot really ran."""

    def __init__(self, finance: Wired) -> None:
        self.finance = finance
        self.calls: Counter[tuple[str, str, datetime]] = Counter()

    async def __call__(
        self, supplier_id: str, integration: IntegrationSettings, feature: Feature, until: datetime
    ) -> RunResult:
        self.calls[(supplier_id, str(feature), until)] += 1
        await asyncio.sleep(0)  # let a competing replica interleave here
        return await self.finance.run_feature(supplier_id, integration, feature, until)


def replica(
    finance: Wired,
    owner: str,
    runs: CountingRuns,
    now: list[datetime],
    connections: ConnectionView | None = None,
) -> HourlyRuns:
    connections = connections or AlwaysConnected()
    slots = SlotRuns(
        job_runs=finance.job_runs,
        run_window=runs,
        clock=lambda: now[0],
        options=ScheduleOptions(owner=owner, lease_ttl_s=30),
    )
    leases = LeaseStore(finance.runtime.db["leases"])
    jobs = hourly_jobs(finance.integrations, leases, connections, slots, slots.clock)
    return HourlyRuns(integrations=finance.integrations, jobs=jobs, slots=slots, connections=connections)


async def bill_each_hour(
    supplier: Supplier, ids: dict[str, str], base_hour: datetime, hours: int, tag: str
) -> None:
    for hour in range(hours):
        with supplier.at(base_hour + timedelta(hours=hour, minutes=10)):
            supplier.account.bill_sales_order(sales_order(supplier, ids, f"ord_{tag}_{hour}"))


async def test_two_replicas_never_run_the_same_suppliers_hour_twice(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    await bill_each_hour(supplier, ids, base_hour, 3, "rep")
    runs = CountingRuns(finance)
    now = [base_hour + timedelta(minutes=5)]
    a, b = replica(finance, "replica-a", runs, now), replica(finance, "replica-b", runs, now)
    feature = Feature.FINALISED_INVOICES
    await a.run_due(supplier.id, supplier.integration, feature, now[0])
    now[0] = base_hour + timedelta(hours=3, minutes=5)
    for _ in range(2):  # two ticks of both replicas, concurrently
        await asyncio.gather(
            a.run_due(supplier.id, supplier.integration, feature, now[0]),
            b.run_due(supplier.id, supplier.integration, feature, now[0]),
        )
    slots = [base_hour + timedelta(hours=h) for h in range(4)]
    assert {
        until: count for (sid, _f, until), count in runs.calls.items() if sid == supplier.id
    } == dict.fromkeys(slots, 1)
    done = await finance.job_runs.collection.find({"supplier_id": supplier.id}).to_list()
    assert sorted(d["slot"].replace(tzinfo=None) for d in done) == [s.replace(tzinfo=None) for s in slots]
    events = await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=3)
    assert sorted(e["data"]["order_id"] for e in events) == [f"ord_rep_{h}" for h in range(3)]


async def test_a_service_down_for_three_hours_catches_up_every_hour_in_order_on_restart(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(
        make_supplier, finalised_invoice_sync=True, mark_invoices_paid=True
    )
    runs = CountingRuns(finance)
    now = [base_hour + timedelta(minutes=5)]
    before = replica(finance, "before-outage", runs, now)
    ran = await before.tick()
    assert {(f, slot) for sid, f, slot in ran if sid == supplier.id} == {
        (Feature.FINALISED_INVOICES, base_hour),
        (Feature.INVOICE_CHANGES, base_hour),
        (Feature.PAID_INVOICES, base_hour),
    }
    await bill_each_hour(supplier, ids, base_hour, 3, "down")  # changes while the service is down
    now[0] = base_hour + timedelta(hours=3, minutes=1)
    restarted = replica(finance, "after-restart", runs, now)
    ran = await restarted.tick()
    mine = [(f, slot) for sid, f, slot in ran if sid == supplier.id and f == Feature.FINALISED_INVOICES]
    assert mine == [(Feature.FINALISED_INVOICES, base_hour + timedelta(hours=h)) for h in (1, 2, 3)]
    events = await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=3)
    assert [e["data"]["order_id"] for e in events] == [f"ord_down_{h}" for h in range(3)]
    again = await restarted.tick()  # nothing is due any more: the hours are recorded as done
    assert all(sid != supplier.id for sid, _f, _s in again)


async def test_an_on_demand_run_waits_for_no_hour_and_refuses_to_overlap_a_running_one(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    with supplier.at(base_hour + timedelta(minutes=1)):
        supplier.account.bill_sales_order(sales_order(supplier, ids, "ord_now"))
    await finance.cursors.save(supplier.id, "finalised_invoices", Cursor(Position(base_hour, 0)))
    result = await finance.scheduler.run_now(supplier.id, supplier.integration, Feature.FINALISED_INVOICES)
    assert result.published == 1
    leases = LeaseStore(finance.runtime.db["leases"])
    async with leases.hold(f"finance:{Feature.FINALISED_INVOICES}:{supplier.id}") as held:
        assert held is not None
        with pytest.raises(LeaseBusy):
            await finance.scheduler.run_now(supplier.id, supplier.integration, Feature.FINALISED_INVOICES)


async def test_operator_commands_rewind_a_cursor_and_run_the_features_now(
    finance: Wired, make_supplier: MakeSupplier, kafka_bootstrap: str, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(
        make_supplier, finalised_invoice_sync=True, inbound_credit_notes=True
    )
    with supplier.at(base_hour + timedelta(minutes=2)):
        supplier.account.bill_sales_order(sales_order(supplier, ids, "ord_cmd"))
    queue = CommandQueue(finance.runtime.db)
    rewind = await queue.submit(
        "rewind_cursor", supplier.id, {"job": "finalised_invoices", "to": base_hour.isoformat()}
    )
    assert (await queue.wait(rewind, timeout=20, poll_s=0.05))["status"] == "done"
    cursor = await finance.cursors.get(supplier.id, "finalised_invoices")
    assert cursor is not None
    assert cursor.position == Position(base_hour, 0)
    run = await queue.submit("run_finance", supplier.id, {})
    done = await queue.wait(run, timeout=30, poll_s=0.05)
    assert done["status"] == "done", done.get("error")
    assert done["result"]["finalised_invoices"]["published"] == 1
    assert set(done["result"]) == {"finalised_invoices", "invoice_changes", "credit_notes"}
    events = await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=1)
    assert [e["data"]["order_id"] for e in events] == ["ord_cmd"]


class Breaker(AlwaysConnected):
    """A `ConnectionView` a test opens and closes (the monitor's own is tested in tests/platform)."""

    def __init__(self) -> None:
        self.open: set[str] = set()

    def is_open(self, supplier_id: str, _credentials: str | None = None) -> bool:
        return supplier_id in self.open


async def test_a_supplier_whose_connection_is_down_is_skipped_and_its_missed_hours_run_once_it_is_back(
    finance: Wired, make_supplier: MakeSupplier, base_hour: datetime
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    await bill_each_hour(supplier, ids, base_hour, 3, "down")
    runs = CountingRuns(finance)
    now = [base_hour + timedelta(minutes=5)]
    breaker = Breaker()
    scheduler = replica(finance, "replica-down", runs, now, breaker)
    await scheduler.tick()
    breaker.open.add(supplier.id)
    for hour in (1, 2, 3):  # three hours with the connection down
        now[0] = base_hour + timedelta(hours=hour, minutes=5)
        ran = await scheduler.tick()
        assert [r for r in ran if r[0] == supplier.id] == []
    held = sum(
        count for (sid, _f, until), count in runs.calls.items() if sid == supplier.id and until > base_hour
    )

    breaker.open.clear()
    ran = await scheduler.tick()

    assert held == 0
    slots = [base_hour + timedelta(hours=h) for h in (1, 2, 3)]
    assert (
        sorted(
            slot for sid, feature, slot in ran if sid == supplier.id and feature == Feature.FINALISED_INVOICES
        )
        == slots
    )
