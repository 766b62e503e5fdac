"""The Mongo ledger's rules for re-syncs, against the Mongo-protocol server: selection by index,
claims, versions, what the edge learns when a re-sync overlapped it, abandoned outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_sync_use_case import NOW, placed

from om_contracts import ErrorCode, ErrorDetail, NetSuiteRecordRef
from order_sync.adapters.ledger import MongoLedger
from order_sync.domain import outcomes
from order_sync.domain.outcomes import Outcome
from order_sync.service_layer.events import payload_of, source_of
from order_sync.service_layer.ports import Claim, LedgerEntry, Selection

pytestmark = pytest.mark.integration

BLOCKED = Selection("sup_1", blocked_by=("product:prd_a",))


def failed(order_id: str, event_id: str, at: str, *products: str) -> tuple[Any, Outcome]:
    event = placed(event_id, at, id=order_id)
    details = tuple(
        ErrorDetail(reason="unmapped", path=f"lines[{n}].product", ordermentum_id=p)
        for n, p in enumerate(products)
    )
    outcome = outcomes.failed(
        source_of(event),
        ErrorCode.UNMAPPED_PRODUCT,
        "unmapped",
        retryable=False,
        details=details,
        attempts=1,
        event_id=f"out_{event_id}",
        now=NOW,
    )
    return event, outcome


def synced(event: Any) -> Outcome:
    record = NetSuiteRecordRef(record_type="salesOrder", internal_id="1", external_id="OM-ORDER-x")
    return outcomes.succeeded(source_of(event), "synced", record, attempts=1, event_id="out_synced", now=NOW)


async def write(
    ledger: MongoLedger, entry: LedgerEntry, event: Any, outcome: Outcome, claim: Claim | None = None
) -> str:
    return await ledger.record(
        entry,
        outcome,
        event_payload=payload_of(event),
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        attempts_made=1,
        claim=claim,
    )


async def stored(ledger: MongoLedger, order_id: str) -> LedgerEntry:
    entry = await ledger.get("sup_1", "order", order_id)
    assert entry is not None
    return entry


@pytest.fixture
async def ledger(mongo_db: Any) -> MongoLedger:
    store = MongoLedger(mongo_db["ledger"])
    await store.ensure_indexes()
    return store


async def test_failures_are_selected_by_what_they_wait_for_oldest_event_first(ledger: MongoLedger) -> None:
    for order_id, at, products in (
        ("ord_2", "2026-11-24T09:20:00+11:00", ("prd_a", "prd_b")),
        ("ord_1", "2026-11-24T09:10:00+11:00", ("prd_a",)),
        ("ord_3", "2026-11-24T09:00:00+11:00", ("prd_b",)),
    ):
        event, outcome = failed(order_id, f"e_{order_id}", at, *products)
        assert await write(ledger, LedgerEntry("sup_1", "order", order_id), event, outcome) == "written"
    assert [e.ordermentum_id async for e in ledger.select(BLOCKED)] == ["ord_1", "ord_2"]
    assert (await stored(ledger, "ord_2")).blocked_by == ("product:prd_a", "product:prd_b")
    assert await ledger.blocking("sup_1", ["product:prd_a", "product:prd_c", "surcharge"]) == {
        "product:prd_a"
    }


async def test_a_claimed_record_is_busy_for_others_and_the_edge_learns_it_was_overlapped(
    ledger: MongoLedger,
) -> None:
    event, outcome = failed("ord_1", "e1", "2026-11-24T09:10:00+11:00", "prd_a")
    await write(ledger, LedgerEntry("sup_1", "order", "ord_1"), event, outcome)
    read_by_edge = await stored(ledger, "ord_1")

    claimed = await ledger.claim(read_by_edge, BLOCKED, "heal-1", 30)
    assert isinstance(claimed, tuple)
    entry, claim = claimed
    assert (entry.claimed_by, claim.version) == ("heal-1", 1)
    assert await ledger.claim(read_by_edge, BLOCKED, "heal-2", 30) == "busy"
    assert (await stored(ledger, "ord_1")).claimed_by == "heal-1"

    newer = placed("e2", "2026-11-24T09:30:00+11:00", id="ord_1")
    assert await write(ledger, read_by_edge, newer, synced(newer)) == "overlapped"  # the claim is live
    assert await write(ledger, entry, event, synced(event), claim) == "superseded"  # the record moved on
    assert (await stored(ledger, "ord_1")).last_event_id == "e2"
    await ledger.release(entry, claim)
    assert await ledger.claim(read_by_edge, BLOCKED, "heal-2", 30) == "gone"  # synced now: not selected


async def test_a_claimed_write_publishes_and_releases_and_the_next_edge_write_is_plain(
    ledger: MongoLedger,
) -> None:
    event, outcome = failed("ord_1", "e1", "2026-11-24T09:10:00+11:00", "prd_a")
    await write(ledger, LedgerEntry("sup_1", "order", "ord_1"), event, outcome)
    claimed = await ledger.claim(await stored(ledger, "ord_1"), BLOCKED, "heal-1", 30)
    assert isinstance(claimed, tuple)
    entry, claim = claimed
    healed = synced(event)
    assert await write(ledger, entry, event, healed, claim) == "written"
    await ledger.mark_published("sup_1", "order", "ord_1", healed.event_id, claim)
    after = await stored(ledger, "ord_1")
    assert (after.status, after.claimed_by, after.outcome_published, after.blocked_by) == (
        "synced",
        None,
        True,
        (),
    )
    newer = placed("e2", "2026-11-24T09:30:00+11:00", id="ord_1")
    assert await write(ledger, after, newer, synced(newer)) == "written"


async def test_a_lapsed_claim_frees_the_record_and_its_unconfirmed_outcome_is_found(
    ledger: MongoLedger, mongo_db: Any
) -> None:
    event, outcome = failed("ord_1", "e1", "2026-11-24T09:10:00+11:00", "prd_a")
    await write(ledger, LedgerEntry("sup_1", "order", "ord_1"), event, outcome)
    lapsed = {"owner": "dead", "until": datetime.now(UTC) - timedelta(seconds=1)}
    await mongo_db["ledger"].update_one({"_id": "sup_1:order:ord_1"}, {"$set": {"claim": lapsed}})
    assert (await stored(ledger, "ord_1")).claimed_by is None
    assert [e.ordermentum_id async for e in ledger.abandoned()] == ["ord_1"]  # never marked published
    claimed = await ledger.claim(await stored(ledger, "ord_1"), BLOCKED, "heal-2", 30)
    assert isinstance(claimed, tuple)


async def test_an_entry_written_before_versions_existed_can_be_claimed_and_written(
    ledger: MongoLedger, mongo_db: Any
) -> None:
    event, outcome = failed("ord_1", "e1", "2026-11-24T09:10:00+11:00", "prd_a")
    await write(ledger, LedgerEntry("sup_1", "order", "ord_1"), event, outcome)
    await mongo_db["ledger"].update_one({"_id": "sup_1:order:ord_1"}, {"$unset": {"version": ""}})
    old = await stored(ledger, "ord_1")
    assert old.version == 0
    newer = placed("e2", "2026-11-24T09:30:00+11:00", id="ord_1")
    assert (
        await write(ledger, old, newer, failed("ord_1", "e2", "2026-11-24T09:30:00+11:00", "prd_a")[1])
        == "written"
    )
    await mongo_db["ledger"].update_one({"_id": "sup_1:order:ord_1"}, {"$unset": {"version": ""}})
    claimed = await ledger.claim(
        await stored(ledger, "ord_1"), Selection("sup_1", ordermentum_id="ord_1"), "op", 30
    )
    assert isinstance(claimed, tuple)
    entry, claim = claimed
    assert await write(ledger, entry, newer, synced(newer), claim) == "written"
