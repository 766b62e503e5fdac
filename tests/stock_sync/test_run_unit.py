"""One stock run against in-memory fakes of NetSuite, the snapshot store, the mapping and the broker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from fakes import (
    FakeStockNetSuite,
    FakeStockProducts,
    FakeStockSnapshots,
    RecordingPublisher,
    integration_settings,
)
from om_contracts import IntegrationSettings, NetSuiteStockChanged
from stock_sync.domain.levels import BadConfiguration
from stock_sync.service_layer.ports import StockReadFailed
from stock_sync.service_layer.sync import ScanLimits, StockRun, UnknownLocations


class Crash(BaseException):
    """A SIGKILL, as far as one run can tell: raised mid-publish, caught by nothing of the service."""


def integration(**stock: Any) -> IntegrationSettings:
    return integration_settings(
        concurrency_limit=3, stock={"enabled": True, "field": "available", "location_ids": "3,1", **stock}
    )


@dataclass
class CrashingPublisher(RecordingPublisher):
    """The broker of a process that dies after `crash_after` more sends (None: never)."""

    crash_after: int | None = None

    async def __call__(self, event: BaseModel, *, key: str) -> None:
        if self.crash_after is not None:
            if self.crash_after == 0:
                raise Crash  # the process dies here: nothing after this point happens
            self.crash_after -= 1
        await super().__call__(event, key=key)


class World:
    def __init__(self, items: int = 10) -> None:
        self.netsuite = FakeStockNetSuite(
            {str(i): {"3": Decimal(i), "1": Decimal(i * 2)} for i in range(1, items + 1)}
        )
        self.snapshots = FakeStockSnapshots()
        self.products = FakeStockProducts({str(i): f"prd_{i}" for i in range(1, items + 1)})
        self.publisher = CrashingPublisher()
        self.integration = integration()
        self.max_stripes = 3

    @property
    def published(self) -> list[NetSuiteStockChanged]:
        return self.publisher.sent  # type: ignore[return-value]  # only stock events are sent

    @property
    def crash_after(self) -> int | None:
        return self.publisher.crash_after

    @crash_after.setter
    def crash_after(self, value: int | None) -> None:
        self.publisher.crash_after = value

    async def run(self) -> StockRun:
        run = StockRun(
            supplier_id="sup_1",
            integration=self.integration,
            reader=self.netsuite,
            snapshots=self.snapshots,
            products=self.products,
            publish=self.publisher,
            clock=lambda: datetime(2026, 11, 24, tzinfo=UTC),
            limits=ScanLimits(max_stripes=self.max_stripes),
        )
        await run.execute()
        return run


async def test_the_first_run_publishes_every_mapped_item_with_both_locations() -> None:
    world = World(items=10)
    run = await world.run()
    assert run.counts.published == 10
    assert run.counts.stripes == 3
    by_item = {e.data.netsuite_item_id: e.data for e in world.published}
    assert by_item["7"].quantity == Decimal(7)
    assert [(loc.location_id, loc.quantity) for loc in by_item["7"].locations] == [
        ("3", Decimal(7)),
        ("1", Decimal(14)),
    ]


async def test_a_second_run_without_changes_publishes_nothing() -> None:
    world = World()
    await world.run()
    world.published.clear()
    run = await world.run()
    assert world.published == []
    assert run.counts.unchanged == 10


async def test_only_changed_items_are_published() -> None:
    world = World()
    await world.run()
    world.published.clear()
    world.netsuite.levels["4"]["1"] = Decimal(99)
    world.netsuite.levels["9"]["3"] = Decimal(0)
    run = await world.run()
    assert sorted(e.data.netsuite_item_id for e in world.published) == ["4", "9"]
    assert run.counts.unchanged == 8


async def test_unmapped_items_are_counted_not_published_and_published_once_mapped() -> None:
    world = World()
    del world.products.mapping["5"]
    run = await world.run()
    assert run.counts.unmapped == 1
    assert run.counts.unmapped_sample == ["5"]
    assert "5" not in {e.data.netsuite_item_id for e in world.published}
    world.published.clear()
    world.products.mapping["5"] = "prd_5"
    await world.run()
    assert [e.data.product_id for e in world.published] == ["prd_5"]


async def test_changing_the_field_or_locations_republishes_the_new_view_once() -> None:
    world = World()
    await world.run()
    world.published.clear()
    world.integration = integration(location_ids="1,3")
    await world.run()
    assert len(world.published) == 10
    assert world.published[0].data.default_location_id == "1"
    world.published.clear()
    await world.run()
    assert world.published == []
    world.integration = integration(location_ids="1,3", field="on_hand")
    await world.run()
    assert len(world.published) == 10


async def test_an_unknown_location_fails_before_any_page_is_read() -> None:
    world = World()
    world.integration = integration(location_ids="3,77")
    with pytest.raises(UnknownLocations, match="77"):
        await world.run()
    assert world.netsuite.pages_served == 0


async def test_an_empty_location_list_is_refused() -> None:
    world = World()
    world.integration = integration(enabled=False, location_ids="")
    with pytest.raises(BadConfiguration):
        await world.run()


async def test_a_failure_mid_scan_leaves_no_partial_page_and_the_next_run_completes_without_duplicates() -> (
    None
):
    world = World(items=24)
    world.netsuite.fail_at_page = 3
    with pytest.raises(StockReadFailed):
        await world.run()
    first = [e.data.netsuite_item_id for e in world.published]
    assert len(first) % 4 == 0  # whole pages only
    assert len(first) == len(world.snapshots.docs)
    world.netsuite.fail_at_page = None
    world.published.clear()
    await world.run()
    second = [e.data.netsuite_item_id for e in world.published]
    assert sorted(first + second, key=int) == [str(i) for i in range(1, 25)]


def levels_seen(events: list[NetSuiteStockChanged]) -> dict[str, list[tuple[Decimal, ...]]]:
    """What a consumer de-duplicating on event_id ends up applying, per item, in order."""
    seen: set[str] = set()
    applied: dict[str, list[tuple[Decimal, ...]]] = {}
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        applied.setdefault(event.data.netsuite_item_id, []).append(
            tuple(loc.quantity for loc in event.data.locations)
        )
    return applied


async def test_a_crash_between_publish_and_snapshot_republishes_the_same_event_ids() -> None:
    world = World(items=12)
    world.crash_after = 6
    with pytest.raises(Crash):
        await world.run()
    before = {e.data.netsuite_item_id: e.event_id for e in world.published}
    assert len(before) == 6
    world.crash_after = None
    await world.run()
    ids: dict[str, set[str]] = {}
    for event in world.published:
        ids.setdefault(event.data.netsuite_item_id, set()).add(event.event_id)
    assert len(ids) == 12
    assert all(len(found) == 1 for found in ids.values())  # one id per item, republished or not
    assert all(ids[item] == {event_id} for item, event_id in before.items())


async def test_the_same_levels_reached_again_are_a_new_change_with_a_new_id() -> None:
    world = World(items=3)
    await world.run()
    world.netsuite.levels["2"]["1"] = Decimal(50)
    await world.run()
    world.netsuite.levels["2"]["1"] = Decimal(4)  # back to the first level (A -> B -> A)
    await world.run()
    two = [e for e in world.published if e.data.netsuite_item_id == "2"]
    assert len({e.event_id for e in two}) == 3
    assert levels_seen(world.published)["2"] == [(2, 4), (2, 50), (2, 4)]


async def test_an_item_back_at_its_snapshot_after_a_crash_mid_change_is_published_again() -> None:
    world = World(items=4)
    world.max_stripes = 1  # one page, published in item order
    await world.run()
    for item in ("1", "2", "3", "4"):
        world.netsuite.levels[item]["1"] = Decimal(100)
    world.crash_after = 2  # items 1 and 2 reach consumers at 100; their snapshots still say 2 and 4
    with pytest.raises(Crash):
        await world.run()
    world.crash_after = None
    world.netsuite.levels["1"]["1"] = Decimal(2)  # back to what its snapshot holds
    await world.run()
    applied = levels_seen(world.published)
    assert applied["1"] == [(1, 2), (1, 100), (1, 2)]  # not left at 100
    assert applied["2"] == [(2, 4), (2, 100)]  # republished under the same id: applied once
    assert applied["3"] == [(3, 6), (3, 100)]
    assert world.snapshots.marks == []  # the completed scan forgot its pending marks
    world.published.clear()
    await world.run()
    assert world.published == []


async def test_first_publications_need_no_pending_mark() -> None:
    world = World(items=8)
    await world.run()
    assert world.snapshots.marks == []
    world.netsuite.levels["5"]["3"] = Decimal(0)
    world.crash_after = 0
    with pytest.raises(Crash):
        await world.run()
    assert [[snap.item_id for snap in snaps] for _supplier, snaps in world.snapshots.marks] == [["5"]]
