"""MongoDB repositories of finance_sync: cursors, job runs, published markers, reconciliations.

Collections (all in the service's database):

* ``cursors``          ``_id = supplier:feature``: high-water position, last completed slot (run log)
* ``job_runs``         ``_id = feature:supplier:YYYY-MM-DDTHH``: one document per completed hour
* ``published``        batches of ``netsuite id@version`` keys already confirmed by the broker
* ``reconciliations``  ``_id = supplier:payment|payout:id``: plan, NetSuite id, outcome, event id
* ``invoice_versions`` ``_id = supplier:netsuite invoice id``: the finalised invoice's order, tranId,
                       published fingerprint and state (finalised, updated, voided)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from finance_sync.domain.cursors import NEVER, Cursor, Position
from finance_sync.domain.documents import InvoiceVersion
from om_platform.adapters.mongo.database import HasDatabase


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Repository:
    name = ""

    def __init__(self, holder: HasDatabase) -> None:
        self._holder = holder

    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        return self._holder.db[self.name]


CURSORS = "cursors"


class CursorCodec:
    """`CursorCodec[Cursor]` of the platform's `MongoCursors` (collection ``cursors``, stream
    field ``feature``): a document without a position yet (only its run log) is at `NEVER`."""

    def encode(self, position: Cursor) -> dict[str, Any]:
        return {"at": position.position.at, "last_id": position.position.id, "resume": position.resume}

    def decode(self, document: Mapping[str, Any]) -> Cursor | None:
        at = document.get("at")
        return Cursor(
            Position(_utc(at) if at else NEVER, int(document.get("last_id", 0))),
            resume=bool(document.get("resume", False)),
        )


def job_run_id(feature: str, supplier_id: str, slot: datetime) -> str:
    return f"{feature}:{supplier_id}:{_utc(slot):%Y-%m-%dT%H}"


class JobRuns(_Repository):
    """The run log: a record per completed slot in ``job_runs``, the last one on the cursor document.

    The last completed slot lives in ``cursors`` (field ``last_slot``, beside the position) where
    it always has; the cursor's own store never writes it.
    """

    name = "job_runs"

    @property
    def _cursors(self) -> AsyncCollection[dict[str, Any]]:
        return self._holder.db[CURSORS]

    async def last_slot(self, feature: str, supplier_id: str) -> datetime | None:
        document = await self._cursors.find_one({"_id": f"{supplier_id}:{feature}"}, {"last_slot": 1})
        last_slot = document.get("last_slot") if document else None
        return _utc(last_slot) if last_slot else None

    async def complete_slot(self, feature: str, supplier_id: str, slot: datetime) -> None:
        await self._cursors.update_one(
            {"_id": f"{supplier_id}:{feature}"}, {"$max": {"last_slot": slot}}, upsert=True
        )

    async def is_done(self, feature: str, supplier_id: str, slot: datetime) -> bool:
        return (
            await self.collection.find_one({"_id": job_run_id(feature, supplier_id, slot)}, {"_id": 1})
            is not None
        )

    async def mark_done(
        self, feature: str, supplier_id: str, slot: datetime, owner: str, published: int
    ) -> bool:
        """Record the hour as done; False if another holder already recorded it."""
        try:
            await self.collection.insert_one(
                {
                    "_id": job_run_id(feature, supplier_id, slot),
                    "feature": feature,
                    "supplier_id": supplier_id,
                    "slot": slot,
                    "owner": owner,
                    "published": published,
                    "finished_at": datetime.now(UTC),
                }
            )
        except DuplicateKeyError:
            return False
        return True


class PublishedStore(_Repository):
    """Keys (`<netsuite id>@<version>`) whose events the broker confirmed, one document per batch.

    Batches keep MongoDB writes per page, not per document (the embedded server does ~500 writes/s).
    """

    name = "published"

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("supplier_id", 1), ("feature", 1), ("keys", 1)])

    async def already(self, supplier_id: str, feature: str, keys: Iterable[str]) -> set[str]:
        wanted = list(set(keys))
        if not wanted:
            return set()
        found: set[str] = set()
        query = {"supplier_id": supplier_id, "feature": feature, "keys": {"$in": wanted}}
        async for document in self.collection.find(query, {"keys": 1}):
            found.update(document["keys"])
        return found & set(wanted)

    async def mark(self, supplier_id: str, feature: str, keys: list[str]) -> None:
        if keys:
            await self.collection.insert_one(
                {"supplier_id": supplier_id, "feature": feature, "keys": keys, "at": datetime.now(UTC)}
            )


class InvoiceVersionStore(_Repository):
    """The published state of each finalised invoice: one bulk write per published page."""

    name = "invoice_versions"

    async def many(self, supplier_id: str, invoice_ids: Iterable[str]) -> dict[str, InvoiceVersion]:
        keys = [f"{supplier_id}:{i}" for i in set(invoice_ids)]
        found: dict[str, InvoiceVersion] = {}
        if not keys:
            return found
        async for document in self.collection.find({"_id": {"$in": keys}}):
            found[document["invoice_id"]] = InvoiceVersion(
                invoice_id=document["invoice_id"],
                order_id=document["order_id"],
                tran_id=document.get("tran_id"),
                fingerprint=document.get("fingerprint", ""),
                state=document["state"],
            )
        return found

    async def remember(self, supplier_id: str, versions: Sequence[InvoiceVersion]) -> None:
        if not versions:
            return
        now = datetime.now(UTC)
        await self.collection.bulk_write(
            [
                UpdateOne(
                    {"_id": f"{supplier_id}:{v.invoice_id}"},
                    {
                        "$set": {
                            "supplier_id": supplier_id,
                            "invoice_id": v.invoice_id,
                            "order_id": v.order_id,
                            "tran_id": v.tran_id,
                            "fingerprint": v.fingerprint,
                            "state": v.state,
                            "updated_at": now,
                        }
                    },
                    upsert=True,
                )
                for v in versions
            ],
            ordered=True,
        )


class ReconciliationLedger(_Repository):
    """Idempotency and status of each payment and payout recorded in NetSuite."""

    name = "reconciliations"

    @staticmethod
    def key(supplier_id: str, kind: str, ordermentum_id: str) -> str:
        return f"{supplier_id}:{kind}:{ordermentum_id}"

    async def get(self, supplier_id: str, kind: str, ordermentum_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": self.key(supplier_id, kind, ordermentum_id)})

    async def many(self, supplier_id: str, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = [self.key(supplier_id, kind, i) for i in ids]
        found: dict[str, dict[str, Any]] = {}
        async for document in self.collection.find({"_id": {"$in": keys}}):
            found[document["ordermentum_id"]] = document
        return found

    async def update(self, supplier_id: str, kind: str, ordermentum_id: str, fields: dict[str, Any]) -> None:
        await self.collection.update_one(
            {"_id": self.key(supplier_id, kind, ordermentum_id)},
            {
                "$set": {**fields, "updated_at": datetime.now(UTC)},
                "$setOnInsert": {"supplier_id": supplier_id, "kind": kind, "ordermentum_id": ordermentum_id},
            },
            upsert=True,
        )

    async def ensure_indexes(self) -> None:
        # Only parked entries are in it: what a recovery sends again, found without a scan.
        await self.collection.create_index(
            [("supplier_id", 1), ("parked.at", 1)],
            partialFilterExpression={"parked.event": {"$exists": True}},
        )

    async def park(self, supplier_id: str, kind: str, ordermentum_id: str, parked: dict[str, Any]) -> None:
        await self.update(supplier_id, kind, ordermentum_id, {"parked": parked})

    async def parked(self, supplier_id: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"parked.event": {"$exists": True}}
        if supplier_id is not None:
            query["supplier_id"] = supplier_id
        return await self.collection.find(query).sort("parked.at", 1).to_list(None)

    async def claim_redrive(self, entry_id: str, now: datetime, until: datetime) -> bool:
        claimed = await self.collection.update_one(
            {
                "_id": entry_id,
                "parked.event": {"$exists": True},
                "$or": [{"parked.redrive_until": None}, {"parked.redrive_until": {"$lte": now}}],
            },
            {"$set": {"parked.redrive_until": until}},
        )
        return claimed.matched_count == 1

    async def forget_plan(self, supplier_id: str, kind: str, ordermentum_id: str) -> None:
        await self.collection.update_one(
            {"_id": self.key(supplier_id, kind, ordermentum_id), "status": "planned"},
            {"$unset": {"plan": ""}, "$set": {"status": "failed"}},
        )
