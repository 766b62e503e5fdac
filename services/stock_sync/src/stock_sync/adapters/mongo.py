"""MongoDB repositories of stock_sync: `stock_snapshots`, `stock_pending` and `stock_runs`.

`stock_snapshots`: one document per (supplier, NetSuite item), `_id = "<supplier>:<item>"`, with
the product, view (field and locations), quantities, fingerprint, change number (`seq`) and event
id last published, and the item id as a number (`item_num`) for range reads. Only changed items
are written, in one unordered bulk per page. Snapshots written before change numbers existed have
no `seq` and read as 0.

`stock_pending`: one document per page that published changes of already published items,
inserted before publishing: `supplier_id` and `items` [[item id, seq, fingerprint], ...]. Read
at the start of a run, deleted when a run completes its scan.

`stock_runs`: one document per supplier, `_id = supplier_id`: the schedule (`next_run_at`,
`trigger`), the current or last run (`state`, `started_at`, `finished_at`, `outcome`, `reason`,
counts) and `last_success_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReplaceOne, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from om_platform.adapters.mongo.database import HasDatabase
from stock_sync.domain.levels import Published
from stock_sync.domain.run_report import RunReport
from stock_sync.domain.schedule import Schedule
from stock_sync.service_layer.ports import InterruptedRun, Snapshot

SNAPSHOTS = "stock_snapshots"
PENDING = "stock_pending"
RUNS = "stock_runs"


def _snapshot_id(supplier_id: str, item_id: str) -> str:
    return f"{supplier_id}:{item_id}"


class MongoSnapshots:
    """`SnapshotStore` over `stock_snapshots` (and `stock_pending`), usable once the runtime started."""

    def __init__(self, db: HasDatabase) -> None:
        self._db = db

    @property
    def _collection(self) -> AsyncCollection[dict[str, Any]]:
        return self._db.db[SNAPSHOTS]

    @property
    def _pending(self) -> AsyncCollection[dict[str, Any]]:
        return self._db.db[PENDING]

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("supplier_id", 1), ("item_num", 1)])
        await self._pending.create_index("supplier_id")

    async def published(self, supplier_id: str, item_ids: Sequence[str]) -> dict[str, Published]:
        """Stored fingerprints and change numbers of `item_ids` (one range query: a page is a
        contiguous id range).

        A range on the (supplier_id, item_num) index is much cheaper than `$in` over a thousand
        ids, on MongoDB and even more on the embedded server.
        """
        if not item_ids:
            return {}
        wanted = set(item_ids)
        numbers = [int(item) for item in item_ids]
        query = {"supplier_id": supplier_id, "item_num": {"$gte": min(numbers), "$lte": max(numbers)}}
        found: dict[str, Published] = {}
        async for document in self._collection.find(query, {"item_id": 1, "fingerprint": 1, "seq": 1}):
            if document["item_id"] in wanted:
                found[document["item_id"]] = Published(document["fingerprint"], int(document.get("seq", 0)))
        return found

    async def pending(self, supplier_id: str) -> dict[str, Published]:
        found: dict[str, Published] = {}
        async for document in self._pending.find({"supplier_id": supplier_id}, {"items": 1}):
            for item_id, seq, digest in document["items"]:
                if item_id not in found or seq > found[item_id].seq:
                    found[item_id] = Published(digest, seq)
        return found

    async def mark_pending(self, supplier_id: str, snapshots: Sequence[Snapshot]) -> None:
        # One document per page, never updated: one cheap insert instead of a write per item.
        items = [[snap.item_id, snap.seq, snap.fingerprint] for snap in snapshots]
        await self._pending.insert_one({"supplier_id": supplier_id, "items": items})

    async def clear_pending(self, supplier_id: str) -> None:
        await self._pending.delete_many({"supplier_id": supplier_id})

    async def save(self, supplier_id: str, snapshots: Sequence[Snapshot]) -> None:
        if not snapshots:
            return
        requests = [
            ReplaceOne(
                {"_id": _snapshot_id(supplier_id, snap.item_id)},
                {
                    "supplier_id": supplier_id,
                    "item_id": snap.item_id,
                    "item_num": int(snap.item_id),
                    "product_id": snap.product_id,
                    "view": snap.view_key,
                    "quantities": list(snap.quantities),
                    "fingerprint": snap.fingerprint,
                    "seq": snap.seq,
                    "event_id": snap.event_id,
                    "as_of": snap.as_of,
                },
                upsert=True,
            )
            for snap in snapshots
        ]
        await self._collection.bulk_write(requests, ordered=False)

    async def count(self, supplier_id: str) -> int:
        return await self._collection.count_documents({"supplier_id": supplier_id})


class MongoRuns:
    """`RunLog` over `stock_runs` (the per-supplier schedule and run status), usable once the
    runtime started."""

    def __init__(self, db: HasDatabase) -> None:
        self._db = db

    @property
    def _collection(self) -> AsyncCollection[dict[str, Any]]:
        return self._db.db[RUNS]

    async def schedules(self, supplier_ids: Sequence[str]) -> dict[str, Schedule]:
        """`next_run_at` and `trigger` of each supplier that has a document."""
        found: dict[str, Schedule] = {}
        cursor = self._collection.find({"_id": {"$in": list(supplier_ids)}}, {"next_run_at": 1, "trigger": 1})
        async for document in cursor:
            found[document["_id"]] = Schedule(document.get("next_run_at"), bool(document.get("trigger")))
        return found

    async def request(self, supplier_id: str, at: datetime) -> None:
        """Ask any replica to run the supplier at its next look (the on-demand trigger)."""
        await self._collection.update_one(
            {"_id": supplier_id},
            {"$set": {"supplier_id": supplier_id, "trigger": True, "requested_at": at}},
            upsert=True,
        )

    async def waiting(self, supplier_id: str, since: datetime) -> None:
        """Runs held back while the supplier's NetSuite connection is down (`omctl status`)."""
        await self._collection.update_one(
            {"_id": supplier_id, "waiting_for_connection": {"$ne": True}},
            {"$set": {"supplier_id": supplier_id, "waiting_for_connection": True, "waiting_since": since}},
            upsert=True,
        )

    async def started(self, supplier_id: str, at: datetime, owner: str) -> InterruptedRun | None:
        """Mark the supplier running; returns the run it interrupted (state still `running`), if any."""
        before = await self._collection.find_one_and_update(
            {"_id": supplier_id},
            {
                "$set": {
                    "supplier_id": supplier_id,
                    "state": "running",
                    "started_at": at,
                    "owner": owner,
                    "trigger": False,
                    "waiting_for_connection": False,
                }
            },
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        if before is None or before.get("state") != "running":
            return None
        return InterruptedRun(before.get("owner"), before.get("started_at"))

    async def finished(self, report: RunReport, *, next_run_at: datetime) -> None:
        at = report.finished_at
        update: dict[str, Any] = {
            "supplier_id": report.supplier_id,
            "state": "idle",
            "finished_at": at,
            "outcome": report.outcome,
            "reason": report.stored_reason,
            "counts": report.counts.as_dict(),
            "next_run_at": next_run_at,
        }
        change: dict[str, Any] = {"$set": update}
        if report.outcome == "succeeded":
            update["last_success_at"] = at
            change["$unset"] = {"failing_since": ""}
        else:
            change["$min"] = {"failing_since": at}  # the first failure of the current streak
        await self._collection.update_one({"_id": report.supplier_id}, change, upsert=True)
