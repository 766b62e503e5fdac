"""The ledger's group commit against the Mongo-protocol server: records that arrive together cost
one command per step, each still learns its own answer, and the crash cases stay as they were
(a write whose publish never happened republishes the same outcome; a redelivery creates nothing
twice)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from test_ledger_claims import failed, synced, write
from test_sync_use_case import NOW, World, integration, placed

from om_contracts import NetSuiteRecordRef
from order_sync.adapters.ledger import MongoLedger
from order_sync.domain import outcomes
from order_sync.domain.outcomes import Outcome
from order_sync.service_layer.events import source_of
from order_sync.service_layer.ports import LedgerEntry
from order_sync.service_layer.sync import TransactionSync

pytestmark = pytest.mark.integration


class Commands(monitoring.CommandListener):
    """Counts the commands sent to the ledger collection, by name."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get(event.command_name) == "ledger":
            self.counts[event.command_name] = self.counts.get(event.command_name, 0) + 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, {}
        return counts


@pytest.fixture
async def counted(mongo_url: str, unique_name: str) -> AsyncIterator[tuple[MongoLedger, Commands]]:
    commands = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, event_listeners=[commands])
    name = f"test_{unique_name}"
    try:
        ledger = MongoLedger(client[name]["ledger"])
        await ledger.ensure_indexes()
        commands.take()
        yield ledger, commands
        await client.drop_database(name)
    finally:
        await client.close()


def outcome_for(event: Any, n: int) -> Outcome:
    record = NetSuiteRecordRef(record_type="salesOrder", internal_id=str(n), external_id=f"OM-ORDER-{n}")
    return outcomes.succeeded(source_of(event), "synced", record, attempts=1, event_id=f"out_{n}", now=NOW)


async def test_records_that_arrive_together_cost_one_read_one_write_and_one_mark(
    counted: tuple[MongoLedger, Commands],
) -> None:
    ledger, commands = counted
    events = [placed(f"e{n}", id=f"ord_{n}") for n in range(10)]
    entries = await asyncio.gather(*(ledger.get("sup_1", "order", f"ord_{n}") for n in range(10)))
    assert entries == [None] * 10
    assert commands.take() == {"find": 1}
    fresh = [_fresh(n) for n in range(10)]
    recorded = await asyncio.gather(
        *(
            write(ledger, entry, e, outcome_for(e, n))
            for n, (entry, e) in enumerate(zip(fresh, events, strict=True))
        )
    )
    assert recorded == ["written"] * 10
    assert commands.take() == {"update": 1}
    await asyncio.gather(
        *(ledger.mark_published("sup_1", "order", f"ord_{n}", f"out_{n}") for n in range(10))
    )
    assert commands.take() == {"update": 1}
    stored = await asyncio.gather(*(ledger.get("sup_1", "order", f"ord_{n}") for n in range(10)))
    assert [(s.outcome_event_id, s.outcome_published, s.version) for s in stored if s] == [
        (f"out_{n}", True, 1) for n in range(10)
    ]


async def test_with_a_window_quiet_suppliers_share_commands_until_a_busy_one_sends_them(
    counted: tuple[MongoLedger, Commands],
) -> None:
    plain, commands = counted
    # A supplier counts as busy past one read per window on average over five windows (limit 1):
    # more than five reads in a burst.
    ledger = MongoLedger(plain._collection, window_s=3600, limit_for=lambda _supplier_id: 1)
    quiet = [asyncio.ensure_future(ledger.get(f"sup_{n}", "order", "ord_1")) for n in range(3)]
    for _ in range(3):
        await asyncio.sleep(0)
    assert commands.take() == {}  # waiting for company: the window is an hour
    busy = [ledger.get("sup_busy", "order", f"ord_{n}") for n in range(6)]
    assert await asyncio.gather(*quiet, *busy) == [None] * 9
    assert commands.take() == {"find": 1}
    quiet_writes = []
    for n in range(2):
        event = placed(f"e{n}", id="ord_1")
        entry = LedgerEntry(supplier_id=f"sup_{n}", kind="order", ordermentum_id="ord_1")
        quiet_writes.append(asyncio.ensure_future(write(ledger, entry, event, outcome_for(event, n))))
    for _ in range(3):
        await asyncio.sleep(0)
    assert commands.take() == {}  # sup_0 and sup_1 read once each: quiet, their writes wait too
    busy_event = placed("e2", id="ord_2")
    busy_entry = LedgerEntry(supplier_id="sup_busy", kind="order", ordermentum_id="ord_2")
    assert await write(ledger, busy_entry, busy_event, outcome_for(busy_event, 9)) == "written"
    assert await asyncio.gather(*quiet_writes) == ["written", "written"]
    assert commands.take() == {"update": 1}


async def test_a_busy_supplier_is_still_busy_when_its_writes_come_a_round_trip_after_its_reads(
    counted: tuple[MongoLedger, Commands],
) -> None:
    """A record's write comes a NetSuite round trip (or a queue for a slot) after its read: a
    supplier busy when it read must still be busy then, or each of its writes and marks waits the
    window (one supplier fell to 0.62 of the bare client that way)."""
    plain, commands = counted
    window = 0.2  # busy past one read per window over max(1 s, 5 windows): more than 5 reads
    ledger = MongoLedger(plain._collection, window_s=window, limit_for=lambda _supplier_id: 1)
    await asyncio.gather(*(ledger.get("sup_busy", "order", f"ord_{n}") for n in range(200)))
    await asyncio.sleep(3 * window)  # the NetSuite step: longer than the window and the one before
    commands.take()
    quiet_event = placed("e1", id="ord_1")
    quiet_entry = LedgerEntry(supplier_id="sup_quiet", kind="order", ordermentum_id="ord_1")
    busy_event = placed("e2", id="ord_2")
    busy_entry = LedgerEntry(supplier_id="sup_busy", kind="order", ordermentum_id="ord_2")
    writes = asyncio.gather(
        write(ledger, quiet_entry, quiet_event, outcome_for(quiet_event, 1)),
        write(ledger, busy_entry, busy_event, outcome_for(busy_event, 2)),
    )
    for _ in range(5):
        await asyncio.sleep(0)  # a few loop iterations, far less than the window
    assert commands.take() == {"update": 1}  # the busy supplier's write sent both at once
    assert await writes == ["written", "written"]


def _fresh(n: int) -> LedgerEntry:
    """The entry the edge holds for a record it found no ledger document for."""
    return LedgerEntry(supplier_id="sup_1", kind="order", ordermentum_id=f"ord_{n}")


async def test_in_one_batch_a_write_whose_record_moved_is_written_anyway_and_reported_overlapped(
    counted: tuple[MongoLedger, Commands],
) -> None:
    ledger, commands = counted
    first = [placed(f"a{n}", id=f"ord_{n}") for n in range(3)]
    for n, event in enumerate(first):
        await write(ledger, _fresh(n), event, outcome_for(event, n))
    read = await asyncio.gather(*(ledger.get("sup_1", "order", f"ord_{n}") for n in range(3)))
    # Someone else (a re-sync) records ord_1 after the edge read it; and ord_9 is created by
    # another writer after the edge found no entry for it.
    moved = placed("other", "2026-11-24T09:16:00+11:00", id="ord_1")
    await write(ledger, read[1], moved, outcome_for(moved, 101))
    created = placed("other9", id="ord_9")
    await write(ledger, _fresh(9), created, outcome_for(created, 109))
    commands.take()
    newer = [placed(f"b{n}", "2026-11-24T09:17:00+11:00", id=f"ord_{n}") for n in (0, 1, 2, 9)]
    entries = [*read, _fresh(9)]
    recorded = await asyncio.gather(
        *(
            write(ledger, entry, e, outcome_for(e, 200 + n))
            for n, (entry, e) in enumerate(zip(entries, newer, strict=True))
        )
    )
    assert recorded == ["written", "overlapped", "written", "overlapped"]
    # One bulk write, one read-back to tell which conditional write missed, one plain write for it.
    assert commands.take() == {"update": 2, "find": 1}
    stored = await asyncio.gather(*(ledger.get("sup_1", "order", f"ord_{n}") for n in (0, 1, 2, 9)))
    assert [s.outcome_event_id for s in stored if s] == ["out_200", "out_201", "out_202", "out_203"]


async def test_a_mark_for_an_older_outcome_leaves_the_newer_one_unpublished(
    counted: tuple[MongoLedger, Commands],
) -> None:
    ledger, _ = counted
    event, old = failed("ord_1", "e1", "2026-11-24T09:15:00+11:00", "prd_a")
    await write(ledger, _fresh(1), event, old)
    entry = await ledger.get("sup_1", "order", "ord_1")
    assert entry is not None
    newer = placed("e2", "2026-11-24T09:20:00+11:00", id="ord_1")
    await write(ledger, entry, newer, synced(newer))
    await asyncio.gather(
        ledger.mark_published("sup_1", "order", "ord_1", old.event_id),
        ledger.mark_published("sup_1", "order", "ord_2", "out_none"),
    )
    entry = await ledger.get("sup_1", "order", "ord_1")
    assert entry is not None
    assert (entry.outcome_event_id, entry.outcome_published) == ("out_synced", False)


class CrashOnFirstPublish:
    """Publishing fails for the orders named (the process 'dies' after the ledger write)."""

    def __init__(self, crash_for: set[str]) -> None:
        self.crash_for = crash_for
        self.events: list[Outcome] = []

    async def __call__(self, outcome: Outcome, *, key: str) -> None:
        if outcome.data.ordermentum_id in self.crash_for:
            self.crash_for.discard(outcome.data.ordermentum_id)
            raise ConnectionError("killed between the ledger write and the publish")
        self.events.append(outcome)


async def test_with_batching_a_write_never_published_republishes_the_same_outcome_and_nothing_is_created_twice(
    counted: tuple[MongoLedger, Commands],
) -> None:
    ledger, _ = counted
    world = World()
    world.integrations.settings["sup_1"] = integration()
    publish = CrashOnFirstPublish({"ord_1", "ord_3"})
    ids = itertools.count(1)
    deps = TransactionSync(
        ledger=ledger,
        integrations=world.integrations,
        mappings=world.deps.mappings,
        netsuite=world.gateway,
        publish=publish,
        counters=world.counters,
        new_event_id=lambda: f"evt_out_{next(ids)}",
        clock=lambda: NOW,
    )
    world.deps = deps
    events = [placed(f"e{n}", id=f"ord_{n}") for n in range(5)]
    first = await asyncio.gather(*(world.send(e) for e in events), return_exceptions=True)
    assert [isinstance(r, ConnectionError) for r in first] == [False, True, False, True, False]
    stored = {
        n: entry for n in range(5) if (entry := await ledger.get("sup_1", "order", f"ord_{n}")) is not None
    }
    assert [stored[n].outcome_published for n in range(5)] == [True, False, True, False, True]
    # Every event is redelivered together (the offsets were not committed past the crash).
    await asyncio.gather(*(world.send(e) for e in events))
    republished = {o.data.ordermentum_id: o.event_id for o in publish.events[3:]}
    assert republished == {"ord_1": stored[1].outcome_event_id, "ord_3": stored[3].outcome_event_id}
    assert world.counters.counts == {"republished": 2, "duplicate": 3}
    await asyncio.gather(*(world.send(e) for e in events))
    assert len(publish.events) == 5
    assert len(world.gateway.writes) == 5  # one NetSuite write per order, whatever was redelivered
    assert all(
        entry is not None and entry.outcome_published
        for entry in await asyncio.gather(*(ledger.get("sup_1", "order", f"ord_{n}") for n in range(5)))
    )
