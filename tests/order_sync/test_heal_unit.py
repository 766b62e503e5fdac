"""Automatic re-sync, the pure parts and the use cases with in-memory fakes: which ids a failure
names, which records a mapping change unblocks, and the heal run's guarantees (once each, oldest
first, within the budget, edge and re-sync kept in order)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from test_mapping import MAPPED, SURCHARGE, an_order, order_data
from test_sync_use_case import World, integration, placed

import fakes
from fakes import FakeHealRequests
from om_contracts import Customer, ErrorCode, ErrorDetail, NetSuiteRecordRef, Product, SyncError
from om_transactions import mapping as bodies
from om_transactions.mapping import TransactionBody
from order_sync.domain import healing
from order_sync.domain.blockers import blockers
from order_sync.service_layer.heal import Healing
from order_sync.service_layer.ports import Selection
from order_sync.service_layer.resync import Resync, ResyncReport

# -- which ids a failure names ------------------------------------------------------------------


def test_a_failure_names_the_customer_each_product_the_freight_customer_and_the_surcharge() -> None:
    customer = order_data()["customer"] | {"properties": {}}
    unmapped = bodies.Mappings(
        customer=None, products={"prd_a": None, "prd_b": None, "prd_c": "3"}, currency="1"
    )
    failure = bodies.check_mappings(an_order(customer=customer), unmapped, surcharge_item_id=None)
    assert failure is not None
    error = SyncError(code=failure.code, message=failure.message, retryable=False, details=failure.details)
    assert blockers(error) == (
        "customer:cus_1",
        "product:prd_a",
        "product:prd_b",
        "freight:cus_1",
        "surcharge",
    )


def test_a_product_on_two_lines_is_named_once() -> None:
    lines = order_data()["lines"]
    lines[1]["product"] = lines[0]["product"]
    unmapped = bodies.Mappings(customer="812", products={"prd_a": None, "prd_c": "3"}, currency="1")
    failure = bodies.check_mappings(an_order(lines=lines), unmapped, surcharge_item_id=SURCHARGE)
    assert failure is not None
    error = SyncError(code=failure.code, message="", retryable=False, details=failure.details)
    assert blockers(error) == ("product:prd_a",)


def test_failures_a_mapping_cannot_fix_name_nothing() -> None:
    rejected = SyncError(
        code=ErrorCode.NETSUITE_REJECTED,
        message="no",
        retryable=False,
        details=(ErrorDetail(reason="bad", path="customer", ordermentum_id="cus_1"),),
    )
    assert blockers(rejected) == ()
    assert blockers(None) == ()
    assert bodies.check_mappings(an_order(), MAPPED, surcharge_item_id=SURCHARGE) is None


# -- what each fix provides, and which records it unblocks --------------------------------------


def test_an_upserted_product_provides_its_mapping_only_when_it_carries_a_netsuite_id() -> None:
    mapped = Product.model_validate({"id": "prd_1", "name": "P", "properties": {"netsuite_id": "44"}})
    bare = Product.model_validate({"id": "prd_2", "name": "P", "properties": {}})
    assert healing.provided_by_entity("product", mapped) == ("product:prd_1",)
    assert healing.provided_by_entity("product", bare) == ()


def test_an_upserted_customer_provides_its_mapping_and_its_freight_item() -> None:
    customer = Customer.model_validate(
        {"id": "cus_2", "name": "C", "properties": {"netsuite_id": "9", "netsuite_freight_item_id": "77"}}
    )
    assert healing.provided_by_entity("customer", customer) == ("customer:cus_2", "freight:cus_2")


def test_settings_and_an_import_provide_their_ids_and_the_surcharge() -> None:
    assert healing.provided_by_settings({"cus_1"}, {"prd_b", "prd_a"}, surcharge_item=True) == (
        "customer:cus_1",
        "product:prd_a",
        "product:prd_b",
        "surcharge",
    )
    assert healing.provided_by_import({"product": ["prd_9"], "customer": []}) == ("product:prd_9",)


def test_a_record_is_unblocked_when_it_waits_for_anything_provided() -> None:
    assert healing.unblocks(("product:prd_a", "product:prd_b"), {"product:prd_b"})
    assert not healing.unblocks(("product:prd_a",), {"product:prd_b", "surcharge"})
    assert not healing.unblocks((), {"product:prd_b"})


def test_blocker_ids_parse_back_into_what_to_look_up() -> None:
    assert healing.parse_blocker("product:prd:1") == ("product", "prd:1")
    assert healing.parse_blocker("freight:cus_1") == ("freight", "cus_1")
    assert healing.parse_blocker("surcharge") == ("surcharge", "")
    assert healing.parse_blocker("tax:0.10") is None


# -- the heal use case with fakes ---------------------------------------------------------------


@dataclass
class CountingGateway:
    """Counts concurrent upserts; optionally holds each one until released."""

    inner: Any
    in_flight: int = 0
    peak: int = 0
    hold: asyncio.Event | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def until_in_flight(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.in_flight >= count), 10)

    def for_supplier(self, supplier_id: str, integration: Any) -> CountingGateway:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def upsert(self, transaction: TransactionBody, *, known_tran_id: str | None) -> NetSuiteRecordRef:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        async with self.changed:
            self.changed.notify_all()
        try:
            await asyncio.sleep(0.01)
            if self.hold is not None:
                await self.hold.wait()
            result: NetSuiteRecordRef = await self.inner.upsert(transaction, known_tran_id=known_tran_id)
            return result
        finally:
            self.in_flight -= 1


@pytest.fixture
def world() -> World:
    w = World()
    w.integrations.settings["sup_1"] = integration()
    return w


def heal_deps(world: World) -> Healing:
    return Healing(Resync(world.deps), FakeHealRequests(), fakes.FakeLeases(), fakes.FakeConnections())


def lines(*products: str) -> list[dict[str, Any]]:
    return [
        {"id": f"l{n}", "quantity": "1", "unit_price": "2", "product": {"id": p, "sku": p, "name": p}}
        for n, p in enumerate(products)
    ]


async def test_a_new_mapping_heals_exactly_the_records_waiting_for_it_once_each_oldest_first(
    world: World,
) -> None:
    gateway = CountingGateway(world.gateway)
    world.use_gateway(gateway)
    world.integrations.settings["sup_1"] = integration(product_mappings={"prd_a": "1"}, concurrency_limit=3)
    for n in range(12):
        products = ("prd_a", "prd_x") if n % 2 else ("prd_a", "prd_x", "prd_y")
        at = f"2026-11-24T09:{59 - n:02d}:00+11:00"  # the last placed is the oldest
        await world.send(placed(f"e{n}", at, id=f"ord_{n}", lines=lines(*products)))
    assert all(e.status == "failed" for e in world.ledger.entries.values())
    deps = heal_deps(world)
    world.published.sent.clear()

    world.integrations.settings["sup_1"] = integration(
        product_mappings={"prd_a": "1", "prd_x": "24"}, concurrency_limit=3
    )
    assert await deps.request_heals("sup_1", ["product:prd_x", "product:prd_z"]) == {"product:prd_x"}
    report = await deps.heal_supplier("sup_1")

    order = [e.data.ordermentum_id for e in world.published.sent]
    assert len(order) == len(set(order)) == 12  # each once
    assert set(report.synced) == {f"ord_{n}" for n in range(1, 12, 2)}
    assert {e.data.ordermentum_id for e in report.failed} == {f"ord_{n}" for n in range(0, 12, 2)}
    for failed in report.failed:
        assert blockers(failed.data.error) == ("product:prd_y",)  # type: ignore[union-attr]
    assert gateway.peak <= 3
    assert await deps.requests.suppliers() == []
    assert await deps.heal_supplier("sup_1") == ResyncReport()  # nothing left to do


async def test_the_run_goes_oldest_event_first(world: World) -> None:
    world.integrations.settings["sup_1"] = integration(product_mappings={}, concurrency_limit=1)
    for n in range(5):
        await world.send(
            placed(f"e{n}", f"2026-11-24T09:{50 - n:02d}:00+11:00", id=f"ord_{n}", lines=lines("prd_a"))
        )
    world.integrations.settings["sup_1"] = integration(product_mappings={"prd_a": "1"}, concurrency_limit=1)
    report = await Resync(world.deps).selected(
        Selection("sup_1", blocked_by=("product:prd_a",)), concurrency=1
    )
    assert report.synced == ["ord_4", "ord_3", "ord_2", "ord_1", "ord_0"]


async def test_a_freight_item_set_on_the_customer_later_heals_its_orders(world: World) -> None:
    customer = order_data()["customer"] | {"properties": {"netsuite_id": "812"}}
    failed = await world.send(placed(customer=customer))
    assert failed is not None
    assert blockers(failed.data.error) == ("freight:cus_1",)  # type: ignore[union-attr]
    world.deps.mappings.freight_items["cus_1"] = "2301"  # type: ignore[attr-defined]
    deps = heal_deps(world)
    assert await deps.request_heals("sup_1", ["freight:cus_1"]) == {"freight:cus_1"}
    report = await deps.heal_supplier("sup_1")
    assert report.synced == ["ord_1"]
    freight_line = world.gateway.writes[-1].body["item"]["items"][3]
    assert freight_line["item"] == {"id": "2301"}


async def test_a_mapping_that_does_not_resolve_requests_nothing(world: World) -> None:
    world.integrations.settings["sup_1"] = integration(product_mappings={})
    await world.send(placed(lines=lines("prd_a")))
    deps = heal_deps(world)
    assert await deps.request_heals("sup_1", ["product:prd_a"]) == set()
    assert await deps.requests.suppliers() == []


async def test_an_edge_event_waits_while_a_resync_holds_the_record(world: World) -> None:
    world.integrations.settings["sup_1"] = integration(product_mappings={})
    await world.send(placed("e1", lines=lines("prd_a")))
    world.integrations.settings["sup_1"] = integration(product_mappings={"prd_a": "1"})
    gateway = CountingGateway(world.gateway, hold=asyncio.Event())
    world.use_gateway(gateway)
    run = asyncio.create_task(
        Resync(world.deps).selected(Selection("sup_1", blocked_by=("product:prd_a",)), concurrency=1)
    )
    await gateway.until_in_flight(1)
    newer = asyncio.create_task(world.send(placed("e2", "2026-11-24T10:15:00+11:00", lines=lines("prd_a"))))
    await asyncio.sleep(0.1)
    assert gateway.in_flight == 1  # the edge did not start its write while the re-sync held the record
    gateway.hold.set()  # type: ignore[union-attr]
    report, outcome = await asyncio.gather(run, newer)
    assert report.synced == ["ord_1"]
    assert outcome is not None
    assert outcome.data.source_event_id == "e2"
    entry = world.ledger.entries["sup_1", "order", "ord_1"]
    assert (entry.last_event_id, entry.status) == ("e2", "synced")


async def test_an_edge_event_that_a_resync_overlapped_is_applied_again_and_the_resync_gives_way(
    world: World,
) -> None:
    world.integrations.settings["sup_1"] = integration(product_mappings={})
    await world.send(placed("e1", lines=lines("prd_a")))
    world.integrations.settings["sup_1"] = integration(product_mappings={"prd_a": "1"})
    gateway = CountingGateway(world.gateway, hold=asyncio.Event())
    world.use_gateway(gateway)
    # The edge reads the record first, then the re-sync claims it while the edge writes.
    newer = asyncio.create_task(world.send(placed("e2", "2026-11-24T10:15:00+11:00", lines=lines("prd_a"))))
    await gateway.until_in_flight(1)
    run = asyncio.create_task(
        Resync(world.deps).selected(Selection("sup_1", blocked_by=("product:prd_a",)), concurrency=1)
    )
    await gateway.until_in_flight(2)
    gateway.hold.set()  # type: ignore[union-attr]
    report, outcome = await asyncio.gather(run, newer)
    writes = [w.body["memo"] for w in world.gateway.writes]
    assert len(writes) == 3  # edge, re-sync, then the edge again: the newest event is written last
    assert outcome is not None
    assert outcome.data.source_event_id == "e2"
    published = [e.data.source_event_id for e in world.published.sent if e.data.source_event_id == "e2"]
    assert published == ["e2"]  # the re-sync published nothing: its record had moved on
    assert report.outcomes == []
    entry = world.ledger.entries["sup_1", "order", "ord_1"]
    assert (entry.last_event_id, entry.status, entry.version) == ("e2", "synced", 3)


async def test_two_runs_over_the_same_records_sync_each_once(world: World) -> None:
    world.integrations.settings["sup_1"] = integration(product_mappings={}, concurrency_limit=2)
    for n in range(6):
        await world.send(placed(f"e{n}", id=f"ord_{n}", lines=lines("prd_a", "prd_b")))
    world.integrations.settings["sup_1"] = integration(
        product_mappings={"prd_a": "1", "prd_b": "2"}, concurrency_limit=2
    )
    world.published.sent.clear()
    first, second = await asyncio.gather(
        Resync(world.deps).selected(Selection("sup_1", blocked_by=("product:prd_a",)), concurrency=2),
        Resync(world.deps).selected(Selection("sup_1", blocked_by=("product:prd_b",)), concurrency=2),
    )
    synced = sorted(first.synced + second.synced)
    assert synced == [f"ord_{n}" for n in range(6)]
    assert len(world.published.sent) == 6
