"""The sync ledger in MongoDB: one document per (supplier, kind, Ordermentum id).

Writes per event: one upsert storing the outcome (unpublished) with the event it answers, and one
small update once the broker confirmed the outcome. Both are keyed by `_id`, so a redelivery
rewrites the same document. The first is conditional on the `version` the edge read and on no live
re-sync claim; when that does not match, the outcome is written anyway and reported as
`overlapped` (the edge then applies its event again). Plain updates only: the embedded
Mongo-protocol server answers `find_one_and_update` by scanning the collection (67 ms at 1,000
documents against 3 ms for `update_one`, measured).

The edge's reads and writes are group-committed (`om_platform.core.batching`): the `get`s of records of
this process that arrive together are one `find` with `$in`, and their outcome writes and
published marks one unordered `bulk_write` (never two operations on one record: a record's events
run one after another, and each waits for its own write). Each caller still gets its own answer
and goes on only once the command carrying its write returned. A conditional write that did not
match is found by reading the batch's records back (their `outcome_event_id`), which happens only
when the bulk's matched count says one missed. Re-sync claims and claimed writes stay single
commands (they are not on the hot path, and their answers are per record).

Steady state with thousands of suppliers (issue 26): orders arrive one by one, so without more
each is its own read and its own write. With `window_s` > 0 (`LEDGER_WINDOW_S`) a read or a write
waits up to that long for others to share its command: at r orders/s a process pays about
2 / (1 + r x window_s) ledger commands per order (one read, one write; the published mark rides
in a later write's command), and an outcome waits at most twice the window longer (a process
seeing fewer than two orders per window does not wait: `Batch`). A busy
supplier fills commands by itself, and waiting would only add the window to each of its records
(and keep more of them in flight against the edge's cap): a request of a supplier reading more
than its NetSuite concurrency limit (`limit_for`) of records per window, on average over
max(1 s, 5 windows) (a decaying count), is urgent, and sends whatever is queued at once, as
without a window. The outcome is still published only after the command carrying its write
returned.

Re-syncs (README, "Automatic re-sync") find records through indexes: `(supplier_id, status,
last_error.code)` (by failure code: the records a connection or an integration heals) and
`(supplier_id, blocked_by, last_occurred_at_us)` (multikey: every id the failure waits for); a
claim is `claim: {owner, until}` on the record, renewed while held.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, OperationFailure

from om_contracts import ErrorCode, NetSuiteRecordRef, SyncFailed, SyncKind, SyncSucceeded
from om_platform.core.batching import Batch
from order_sync.domain.blockers import blockers
from order_sync.domain.outcomes import Outcome, status_of
from order_sync.service_layer.ports import Claim, LedgerEntry, Recorded, Selection

APPLIED_EVENTS_KEPT = 50  # event ids remembered per record to recognise redeliveries
_CHUNK = 1000  # blocker ids per `blocking` query
_TRACKED = 10_000  # suppliers whose recent reads are counted before quiet ones are forgotten


def ledger_id(supplier_id: str, kind: SyncKind, ordermentum_id: str) -> str:
    return f"{supplier_id}:{kind}:{ordermentum_id}"


def _micros(moment: datetime) -> int:
    # Mongo keeps milliseconds; ordering events needs the exact instant, so store microseconds.
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


@dataclass(frozen=True)
class _Write:
    """One update of a `bulk_write`: an outcome (`create`: a record seen for the first time,
    `conditional`: at the version read, unclaimed) or a published mark (`mark`)."""

    kind: Literal["create", "conditional", "mark"]
    key: str
    filter: dict[str, Any]
    update: dict[str, Any]
    outcome_event_id: str


_Written = Literal["written", "overlapped", "unmatched"] | None


class MongoLedger:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        window_s: float = 0.0,
        limit_for: Callable[[str], int] = lambda _supplier_id: 1,
    ) -> None:
        self._collection = collection
        self._reads: Batch[str, dict[str, Any] | None] = Batch(
            self._find, name="ledger-reads", window_s=window_s
        )
        self._writes: Batch[_Write, _Written] = Batch(
            self._bulk_write, name="ledger-writes", window_s=window_s
        )
        self._window_s = window_s
        self._limit_for = limit_for
        self._memory_s = max(1.0, 5 * window_s)
        self._reads_of: dict[str, tuple[float, float]] = {}  # supplier: (last read, decaying count)

    def _busy(self, supplier_id: str, *, arriving: bool = False) -> bool:
        """Whether the supplier reads more than its limit per window (`arriving`: count this read):
        its records must not wait for company.

        The reads are a count that decays over `_memory_s`, longer than one record's path from its
        read to its published mark: a record's write and mark come a NetSuite round trip or more
        after its read, and must still see the supplier busy. (Counting the reads of the current
        and previous window only forgot a busy supplier by then: its writes and marks each waited
        the window, its records moved in lockstep, and one supplier reached 0.62 of the bare client
        instead of 0.90, `benchmarks/bench_order_sync.py`.)"""
        if self._window_s <= 0:
            return False
        now = time.monotonic()
        at, count = self._reads_of.get(supplier_id, (now, 0.0))
        count *= math.exp(-(now - at) / self._memory_s)
        if arriving:
            count += 1.0
            self._reads_of[supplier_id] = (now, count)
            if len(self._reads_of) > _TRACKED:  # forget suppliers quiet for a while
                for quiet in [
                    k for k, (seen, _) in self._reads_of.items() if now - seen >= 10 * self._memory_s
                ]:
                    del self._reads_of[quiet]
        # More than its limit of reads per window, on average over the memory.
        return count > self._limit_for(supplier_id) * self._memory_s / self._window_s

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("supplier_id", 1), ("status", 1), ("last_error.code", 1)])
        await self._collection.create_index(
            [("supplier_id", 1), ("blocked_by", 1), ("last_occurred_at_us", 1)]
        )
        # Only claimed records carry `claim.until`: the sparse index holds just those.
        await self._collection.create_index([("claim.until", 1)], sparse=True)
        await self._collection.create_index([("supplier_id", 1), ("warnings.code", 1)])

    async def get(self, supplier_id: str, kind: SyncKind, ordermentum_id: str) -> LedgerEntry | None:
        key = ledger_id(supplier_id, kind, ordermentum_id)
        document = await self._reads.submit(key, urgent=self._busy(supplier_id, arriving=True))
        return _entry(document) if document else None

    async def _find(self, keys: list[str]) -> list[dict[str, Any] | None]:
        found = {d["_id"]: d async for d in self._collection.find({"_id": {"$in": sorted(set(keys))}})}
        return [found.get(key) for key in keys]

    async def _bulk_write(self, writes: list[_Write]) -> list[_Written | BaseException]:
        requests = [UpdateOne(w.filter, w.update, upsert=w.kind == "create") for w in writes]
        failed: dict[int, BaseException] = {}
        try:
            result: Mapping[str, Any] = (
                await self._collection.bulk_write(requests, ordered=False)
            ).bulk_api_result
        except BulkWriteError as exc:  # unordered: every write without an error of its own applied
            result = exc.details
            for error in result.get("writeErrors", ()):
                failed[error["index"]] = OperationFailure(error.get("errmsg", ""), error.get("code"), error)
            if result.get("writeConcernErrors"):
                raise
        created = {u["index"] for u in result.get("upserted", ())}
        answers: list[_Written | BaseException] = []
        for index, write in enumerate(writes):
            if index in failed:
                answers.append(failed[index])
            elif write.kind == "create":
                answers.append("written" if index in created else "overlapped")
            elif write.kind == "conditional":
                answers.append("written")
            else:
                answers.append(None)
        # Every update that applied matched one document, except a create that inserted one. A
        # mark may miss (a newer outcome was recorded meanwhile), and so may a conditional write:
        # when the count falls short, the conditional writes are told apart by reading them back.
        expected = sum(1 for i, w in enumerate(writes) if i not in failed and i not in created)
        conditional = [i for i, w in enumerate(writes) if w.kind == "conditional" and i not in failed]
        if result.get("nMatched", 0) < expected and conditional:
            keys = [writes[i].key for i in conditional]
            cursor = self._collection.find({"_id": {"$in": keys}}, {"outcome_event_id": 1})
            landed = {d["_id"]: d.get("outcome_event_id") async for d in cursor}
            for i in conditional:
                if landed.get(writes[i].key) != writes[i].outcome_event_id:
                    answers[i] = "unmatched"
        return answers

    async def record(
        self,
        entry: LedgerEntry,
        outcome: Outcome,
        *,
        event_payload: str,
        event_type: str,
        occurred_at: datetime,
        attempts_made: int,
        claim: Claim | None = None,
    ) -> Recorded:
        data = outcome.data
        failure = data.error if isinstance(data, SyncFailed) else None
        error = failure.model_dump(mode="json") if failure is not None else None
        netsuite = data.netsuite.model_dump(mode="json") if data.netsuite is not None else None
        now = datetime.now(UTC)
        fields: dict[str, Any] = {
            "supplier_id": entry.supplier_id,
            "kind": entry.kind,
            "ordermentum_id": entry.ordermentum_id,
            "number": data.number,
            "status": status_of(outcome),
            "last_error": error,
            "last_event_id": data.source_event_id,
            "last_event_type": event_type,
            "last_occurred_at_us": _micros(occurred_at),
            "last_occurred_at": occurred_at,
            "last_event_payload": event_payload,
            "outcome": outcome.model_dump_json(),
            "outcome_event_id": outcome.event_id,
            "outcome_published": False,
            "blocked_by": list(blockers(failure)),
            "updated_at": now,
        }
        if netsuite is not None:
            fields["netsuite"] = netsuite
        if isinstance(data, SyncSucceeded):
            # What `omctl status --supplier` lists: the latest verification of the record (a
            # failed follow-up leaves the last one in place; NetSuite still holds that record).
            fields["warnings"] = [w.model_dump(mode="json") for w in data.warnings]
            fields["totals"] = data.totals.model_dump(mode="json") if data.totals else None
        key = ledger_id(entry.supplier_id, entry.kind, entry.ordermentum_id)
        update = {
            "$set": fields,
            "$inc": {"attempts": attempts_made, "version": 1},
            "$push": {"applied_event_ids": {"$each": [data.source_event_id], "$slice": -APPLIED_EVENTS_KEPT}},
            "$setOnInsert": {"created_at": now},
        }
        if claim is not None:
            # A re-sync writes only what it claimed: the record at the claimed version, still its.
            written = await self._collection.update_one(
                {"_id": key, "version": claim.version, "claim.owner": claim.owner}, update
            )
            return "written" if written.matched_count else "superseded"
        if not entry.stored:
            created = await self._writes.submit(
                _Write("create", key, {"_id": key}, update, outcome.event_id),
                urgent=self._busy(entry.supplier_id),
            )
            return "written" if created == "written" else "overlapped"
        # The edge: written as read (same version, no live claim), or else written anyway and
        # reported, so the edge applies its newer event again after the re-sync.
        unchanged = {"_id": key, "$and": [_version_is(entry.version), _unclaimed(now)]}
        conditional = _Write("conditional", key, unchanged, update, outcome.event_id)
        if await self._writes.submit(conditional, urgent=self._busy(entry.supplier_id)) == "written":
            return "written"
        await self._collection.update_one({"_id": key}, update, upsert=True)
        return "overlapped"

    async def mark_published(
        self,
        supplier_id: str,
        kind: SyncKind,
        ordermentum_id: str,
        event_id: str,
        claim: Claim | None = None,
    ) -> None:
        key = {"_id": ledger_id(supplier_id, kind, ordermentum_id), "outcome_event_id": event_id}
        if claim is not None:
            released = await self._collection.update_one(
                {**key, "claim.owner": claim.owner}, {"$set": {"outcome_published": True, "claim": None}}
            )
            if released.matched_count:
                return
        mark = {"$set": {"outcome_published": True}}
        await self._writes.submit(
            _Write("mark", str(key["_id"]), key, mark, event_id), urgent=self._busy(supplier_id)
        )

    async def note_attempt(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, error: dict[str, Any]
    ) -> None:
        await self._collection.update_one(
            {"_id": ledger_id(supplier_id, kind, ordermentum_id)},
            {
                "$set": {"last_error": error, "updated_at": datetime.now(UTC)},
                "$inc": {"attempts": 1},
                "$setOnInsert": {
                    "supplier_id": supplier_id,
                    "kind": kind,
                    "ordermentum_id": ordermentum_id,
                    "status": "pending",
                    "applied_event_ids": [],
                    "outcome_published": True,
                },
            },
            upsert=True,
        )

    async def select(self, selection: Selection) -> AsyncIterator[LedgerEntry]:
        cursor = self._collection.find(_query(selection)).sort([("last_occurred_at_us", 1), ("_id", 1)])
        async for document in cursor:
            yield _entry(document)

    async def claim(
        self, entry: LedgerEntry, selection: Selection, owner: str, ttl_s: float
    ) -> tuple[LedgerEntry, Claim] | Literal["gone", "busy"]:
        now = datetime.now(UTC)
        key = ledger_id(entry.supplier_id, entry.kind, entry.ordermentum_id)
        selected = {**_query(selection), "_id": key}
        claimed = await self._collection.update_one(
            {**selected, **_unclaimed(now)},
            # `$inc` by 0 gives an entry written before versions existed a version to be claimed at.
            {
                "$set": {"claim": {"owner": owner, "until": now + timedelta(seconds=ttl_s)}},
                "$inc": {"version": 0},
            },
        )
        if not claimed.matched_count:
            return "busy" if await self._collection.find_one(selected, {"_id": 1}) else "gone"
        # Read after claiming (two plain round trips, see the module docstring). An edge write in
        # between shows as a newer version here, and the edge, seeing the claim, applies its
        # event again once the claim is released.
        document = await self._collection.find_one({"_id": key})
        if document is None:
            return "gone"
        return _entry(document), Claim(owner=owner, version=document.get("version", 0))

    async def renew(self, entries: Iterable[LedgerEntry], owner: str, ttl_s: float) -> None:
        ids = [ledger_id(e.supplier_id, e.kind, e.ordermentum_id) for e in entries]
        if ids:
            await self._collection.update_many(
                {"_id": {"$in": ids}, "claim.owner": owner},
                {"$set": {"claim.until": datetime.now(UTC) + timedelta(seconds=ttl_s)}},
            )

    async def release(self, entry: LedgerEntry, claim: Claim) -> None:
        await self._collection.update_one(
            {
                "_id": ledger_id(entry.supplier_id, entry.kind, entry.ordermentum_id),
                "claim.owner": claim.owner,
            },
            {"$set": {"claim": None}},
        )

    async def abandoned(self) -> AsyncIterator[LedgerEntry]:
        query = {"claim.until": {"$lte": datetime.now(UTC)}, "outcome_published": False}
        async for document in self._collection.find(query):
            yield _entry(document)

    async def blocking(self, supplier_id: str, blockers: Iterable[str] | None) -> set[str]:
        if blockers is None:  # every id some failure of the supplier waits for (a reconnection)
            return await self._waited_for(
                {"supplier_id": supplier_id, "status": "failed", "blocked_by.0": {"$exists": True}}
            )
        wanted = sorted(set(blockers))
        found: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            match = {"supplier_id": supplier_id, "blocked_by": {"$in": chunk}, "status": "failed"}
            found |= await self._waited_for(match) & set(chunk)
        return found

    async def failing_with(self, codes: Iterable[ErrorCode], supplier_id: str | None = None) -> list[str]:
        match: dict[str, Any] = {"status": "failed", "last_error.code": {"$in": [c.value for c in codes]}}
        if supplier_id is not None:
            found = await self._collection.find_one({"supplier_id": supplier_id, **match}, {"_id": 1})
            return [supplier_id] if found else []
        suppliers: list[str] = await self._collection.distinct("supplier_id", match)
        return sorted(suppliers)

    async def _waited_for(self, match: dict[str, Any]) -> set[str]:
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {"$unwind": "$blocked_by"},
            {"$group": {"_id": "$blocked_by"}},
        ]
        cursor = await self._collection.aggregate(pipeline)
        return {document["_id"] async for document in cursor}


def _query(selection: Selection) -> dict[str, Any]:
    query: dict[str, Any] = {"supplier_id": selection.supplier_id}
    if selection.ordermentum_id is not None:
        query["ordermentum_id"] = selection.ordermentum_id
    elif selection.status is not None:
        query["status"] = selection.status
    if selection.code is not None:
        query["last_error.code"] = selection.code.value
    if selection.blocked_by:
        query["blocked_by"] = {"$in": list(selection.blocked_by)}
    if selection.codes:
        query["last_error.code"] = {"$in": [code.value for code in selection.codes]}
    if selection.written_before is not None:
        query["updated_at"] = {"$lte": selection.written_before}
    return query


def _version_is(version: int) -> dict[str, Any]:
    # An entry written before versions existed (or a pending one) has none: it reads as 0.
    return {"version": version} if version else {"version": {"$in": [0, None]}}


def _unclaimed(now: datetime) -> dict[str, Any]:
    return {"$or": [{"claim": None}, {"claim.until": {"$lte": now}}]}


def _holder(document: dict[str, Any], now: datetime) -> str | None:
    """Who holds a live claim on the record (None: free, or the claim lapsed)."""
    claim = document.get("claim")
    if not isinstance(claim, dict):
        return None
    until = claim.get("until")
    if isinstance(until, datetime) and until.tzinfo is None:  # a client without tz_aware reads naive UTC
        until = until.replace(tzinfo=UTC)
    if not isinstance(until, datetime) or until <= now:
        return None
    owner = claim.get("owner")
    return owner if isinstance(owner, str) else None


def _entry(document: dict[str, Any]) -> LedgerEntry:
    netsuite = document.get("netsuite")
    return LedgerEntry(
        supplier_id=document["supplier_id"],
        kind=document["kind"],
        ordermentum_id=document["ordermentum_id"],
        status=document.get("status", "pending"),
        number=document.get("number"),
        netsuite=NetSuiteRecordRef.model_validate(netsuite) if netsuite else None,
        attempts=document.get("attempts", 0),
        last_error=document.get("last_error"),
        last_event_id=document.get("last_event_id"),
        last_event_type=document.get("last_event_type"),
        last_occurred_at=_from_micros(document.get("last_occurred_at_us")),
        last_event_payload=document.get("last_event_payload"),
        applied_event_ids=list(document.get("applied_event_ids") or []),
        outcome=document.get("outcome"),
        outcome_event_id=document.get("outcome_event_id"),
        outcome_published=bool(document.get("outcome_published", True)),
        version=document.get("version", 0),
        blocked_by=tuple(document.get("blocked_by") or ()),
        claimed_by=_holder(document, datetime.now(UTC)),
        stored=True,
    )
