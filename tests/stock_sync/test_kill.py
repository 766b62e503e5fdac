"""stock_sync as a real process, SIGKILLed twice while publishing a 20,000-item run (issues 16, 11).

A consumer that de-duplicates on `event_id` must end with every product's last NetSuite level,
having applied each change once: republications after a kill carry the ids already published,
an item that went back to its snapshot's level after a kill mid-change is published again, and a
restarted process (same INSTANCE_ID) takes its run lease back at once while a replica of another
identity still finds it held.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stock_sync.domain.levels import canonical
from support import ServiceProcess

from .conftest import KEYS, Harness, StockEvents, quantities

pytestmark = pytest.mark.integration

ITEMS = 20_000
IDENTITY = "stock-sync-0"
BUMP = 5_000  # the changed level: on hand + BUMP


@dataclass
class Catalogue:
    """The NetSuite side: each item's `available` per location as the test set it last."""

    harness: Harness
    items: dict[str, int]
    levels: dict[str, dict[str, Decimal]]

    @classmethod
    def seed(cls, harness: Harness, count: int) -> Catalogue:
        items = harness.add_items(count)  # on hand 10n + location index, available one less
        levels = {
            item: {loc: Decimal(max(10 * n + k - 1, 0)) for k, loc in enumerate(harness.locations)}
            for n, item in enumerate(items)
        }
        return cls(harness, {item: n for n, item in enumerate(items)}, levels)

    def set(self, item: str, bump: int) -> None:
        """Set the first location of `item` to its seeded level plus `bump` (0: back to the seed)."""
        on_hand = 10 * self.items[item] + bump
        location = self.harness.locations[0]
        self.harness.account.set_stock(item, location, on_hand=on_hand, available=max(on_hand - 1, 0))
        self.levels[item][location] = Decimal(max(on_hand - 1, 0))

    def snapshot_text(self, item: str) -> list[str]:
        """The levels as a snapshot stores them (canonical text, configured location order)."""
        return [canonical(self.levels[item][loc]) for loc in self.harness.locations[::-1]]


async def wait_for_events(events: StockEvents, count: int, process: ServiceProcess) -> None:
    """Until the topic holds `count` of the supplier's events (the process must stay alive)."""
    deadline = asyncio.get_running_loop().time() + 300
    while len(events.seen) < count:
        process.check_alive()
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"only {len(events.seen)} of {count} events arrived")
        await events.more()


async def wait_for_document(
    harness: Harness, collection: str, query: dict[str, Any], process: ServiceProcess
) -> dict[str, Any]:
    """Poll another process's progress in MongoDB (no event tells the test), bounded."""
    deadline = asyncio.get_running_loop().time() + 300
    while (document := await harness.db[collection].find_one(query)) is None:
        process.check_alive()
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{collection} never got {query}")
        await asyncio.sleep(0.1)
    return document


def applied_by_item(events: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Decimal]]]]:
    """Per item, the levels a consumer de-duplicating on event_id applies, in topic order.

    Also checks that an event id never carries two different levels.
    """
    by_id: dict[str, dict[str, Decimal]] = {}
    applied: dict[str, list[dict[str, Decimal]]] = {}
    for event in events:
        levels = quantities(event)
        if event["event_id"] in by_id:
            assert by_id[event["event_id"]] == levels, f"one event id, two levels: {event['event_id']}"
            continue
        by_id[event["event_id"]] = levels
        applied.setdefault(event["data"]["netsuite_item_id"], []).append(levels)
    yield from applied.items()


def process_env(harness: Harness) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": harness.kafka_bootstrap,
        "KAFKA_ENABLE_IDEMPOTENCE": "false",
        "KAFKA_CONSUMER_GROUP": f"stock-proc-{harness.unique}",
        "KAFKA_SESSION_TIMEOUT_MS": "2000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        "MONGODB_URL": harness.mongo_url,
        "MONGODB_DATABASE": f"stock_{harness.unique}",
        "NETSUITE_BUDGET_DATABASE": f"budget_{harness.unique}",
        "NETSUITE_CREDENTIALS_KEYS": KEYS,
        "NETSUITE_BASE_URL": harness.simulator.base_url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
        "STOCK_TICK_S": "0.2",
        "STOCK_PAGE_SIZE": "250",
        # Far longer than the test: a run that resumes before the test ends took its lease back.
        "STOCK_LEASE_TTL_S": "600",
        "INSTANCE_ID": IDENTITY,
        # A killed process's budget shares count for lease + attempt deadline (README, "The NetSuite
        # budget"; 130 s by default): short here, so the restarted process is not held that long.
        "NETSUITE_ATTEMPT_DEADLINE_S": "5",
        "LOG_LEVEL": "WARNING",
    }


@pytest.mark.timeout(400)  # ~70 s on an idle 2-core machine, twice that under load
async def test_a_process_killed_twice_mid_publish_leaves_every_product_at_its_last_level_with_each_change_once(
    harness: Harness, supplier: str, tmp_path: Path
) -> None:
    catalogue = Catalogue.seed(harness, ITEMS)
    events = await harness.events(supplier)
    process = ServiceProcess("stock_sync", process_env(harness), tmp_path / "stock_sync.log")
    # A replica of another identity, in this process (its scheduler runs only when asked to).
    other = await harness.start(instance_id="stock-sync-1", kafka_consumer_group=f"stock-{harness.unique}-b")
    lease = f"stock:{supplier}"
    try:
        process.start()
        tab = {f"prd_{item}": item for item in catalogue.items}
        await harness.configure(supplier, {**harness.integration(), "product_mappings": tab})

        # Kill 1: a quarter into the first run's publishing.
        await wait_for_events(events, ITEMS // 4, process)
        process.kill()
        await events.until_end()
        first_lease = await harness.db["leases"].find_one({"_id": lease})
        assert first_lease is not None
        assert first_lease["owner"] == IDENTITY
        saved = {
            doc["item_id"] async for doc in harness.db["stock_snapshots"].find({"supplier_id": supplier})
        }
        assert 0 < len(saved) < ITEMS
        for item in saved:  # a second change for every item already published and saved
            catalogue.set(item, BUMP)
        before_restart = len(events.seen)

        # Kill 2: the restarted process republishes what was not saved and publishes those changes.
        process.start()
        await wait_for_events(events, before_restart + len(saved) // 2, process)
        process.kill()
        await events.until_end()
        second_lease = await harness.db["leases"].find_one({"_id": lease})
        assert second_lease is not None
        assert second_lease["owner"] == IDENTITY
        assert second_lease["incarnation"] != first_lease["incarnation"]
        assert second_lease["acquired_at"] < first_lease["expires_at"]  # taken back, not expired
        # Changes that reached the topic while their snapshots still say otherwise (the kill came
        # between publish and save): take those items back to their snapshot's level.
        latest = {event["data"]["netsuite_item_id"]: event for event in events.seen}
        reverted = []
        async for doc in harness.db["stock_snapshots"].find({"supplier_id": supplier}):
            item = doc["item_id"]
            unsaved = item in latest and doc["quantities"] != catalogue.snapshot_text(item)
            if item in saved and unsaved and quantities(latest[item]) == catalogue.levels[item]:
                catalogue.set(item, 0)
                reverted.append(item)
        # Ten stripes publish at once: some were always mid-page when the process died.
        assert reverted

        # Another identity finds the dead process's lease held; the same identity takes it back.
        assert await other.on_demand.run_now(supplier) is None
        process.start()
        done = await wait_for_document(
            harness, "stock_runs", {"_id": supplier, "outcome": {"$exists": True}}, process
        )
    finally:
        process.terminate()

    assert done["outcome"] == "succeeded", done
    assert done["owner"] == IDENTITY
    assert done["counts"]["items"] == ITEMS
    third_lease = await harness.db["leases"].find_one({"_id": lease})
    assert third_lease is not None
    assert third_lease["acquired_at"] < second_lease["expires_at"]  # taken back, not expired
    assert await harness.db["stock_pending"].count_documents({"supplier_id": supplier}) == 0

    await events.until_end()
    applied = dict(applied_by_item(events.seen))
    assert sorted(applied) == sorted(catalogue.items)  # no product lost
    for item, levels in applied.items():
        assert levels[-1] == catalogue.levels[item], f"item {item} ends at {levels[-1]}"
        # A change applied twice (the same level under two ids) would show as a repeat.
        assert all(a != b for a, b in itertools.pairwise(levels)), f"item {item}: {levels}"
    assert all(len(applied[item]) == 2 for item in saved if item not in reverted)
    assert all(len(applied[item]) == 3 for item in reverted)  # A, B, A again
    distinct = sum(len(levels) for levels in applied.values())
    print(
        f"{len(events.seen)} events, {distinct} distinct ids, {len(events.seen) - distinct} republished "
        f"under their id; {len(saved)} saved before kill 1, {len(reverted)} reverted after kill 2"
    )
