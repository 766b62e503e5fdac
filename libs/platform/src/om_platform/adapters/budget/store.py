"""Every MongoDB command the budget sends, on its two collections (see the package docstring).

Writes use ``w: majority`` and reads a majority read concern; each command runs under
``pymongo.timeout(margin)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import pymongo
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from .state import Account, Holder, Write, logger
from .timing import NOW_MS, OperationHook

__all__ = ["BudgetStore", "Documents"]

#: The account documents read at one server time, and the heartbeats (expires, drain) of their holders.
Documents = tuple[dict[str, dict[str, Any]], int, dict[str, tuple[int, int]]]


class BudgetStore:
    """The account documents (``collection``) and the heartbeats (``<collection>_holders``)."""

    def __init__(
        self, collection: AsyncCollection[dict[str, Any]], holder: Holder, on_operation: OperationHook | None
    ) -> None:
        # Majority on both sides: a grow acknowledged by a primary that then fails over is not
        # rolled back, and a read never sees a share that may be rolled back.
        majority, committed = WriteConcern("majority"), ReadConcern("majority")
        self.shares = collection.with_options(write_concern=majority, read_concern=committed)
        self.beats = collection.database.get_collection(
            f"{collection.name}_holders", write_concern=majority, read_concern=committed
        )
        self._holder = holder
        self._on_operation = on_operation
        self.indexed = False
        self._failing = False
        self.operations: dict[str, int] = {}
        """MongoDB commands sent by this budget, by command name."""

    # -- bookkeeping ---------------------------------------------------------------------------

    def count(self, operation: str) -> None:
        self.operations[operation] = self.operations.get(operation, 0) + 1
        if self._on_operation is not None:
            self._on_operation(operation)

    def bounded(self) -> contextlib.AbstractContextManager[None]:
        """Every budget command gives up after ``margin``: a renewal never blocks past it."""
        return pymongo.timeout(self._holder.timing.margin_s)

    def failed(self, what: str, error: PyMongoError) -> None:
        if not self._failing:
            logger.warning(
                "netsuite budget: MongoDB unreachable; shares lapse unless renewed",
                extra={"step": what, "error": type(error).__name__},
            )
        self._failing = True

    def recovered(self) -> None:
        if self._failing:
            logger.info("netsuite budget: MongoDB answers again")
        self._failing = False

    # -- account documents ---------------------------------------------------------------------

    async def read(self, ids: list[str]) -> Documents:
        """The documents of ``ids``, the server's time (ms) and the heartbeats of their holders:
        one command on the _id index, and one more on the holders' _id when others hold shares."""
        self.count("aggregate")
        with self.bounded():
            cursor = await self.shares.aggregate(
                [{"$match": {"_id": {"$in": ids}}}, {"$addFields": {"_now": NOW_MS}}],
                batchSize=len(ids) + 1,  # one batch: no getMore
            )
            docs = await cursor.to_list()
            now_ms = max((int(doc.pop("_now")) for doc in docs), default=0)
            me = self._holder.holder_id
            holders = {str(h) for doc in docs for h in (doc.get("holders") or {})} - {me}
            beats: dict[str, tuple[int, int]] = {}
            if holders:
                self.count("find")
                async for beat in self.beats.find(
                    {"_id": {"$in": sorted(holders)}}, {"expires": 1, "drain": 1}, batch_size=len(holders) + 1
                ):
                    beats[str(beat["_id"])] = (int(beat.get("expires", 0)), int(beat.get("drain", 0)))
        return {str(doc["_id"]): doc for doc in docs}, now_ms, beats

    async def missing(self, accounts: list[Account]) -> list[Account]:
        """The audit: of ``accounts``, those whose document or entry is gone (one small read)."""
        if not accounts:
            return []
        self.count("aggregate")
        me = self._holder.holder_id
        with self.bounded():
            cursor = await self.shares.aggregate(
                [
                    {"$match": {"_id": {"$in": [a.account_id for a in accounts]}}},
                    {"$project": {f"holders.{me}.stamp": 1}},
                ],
                batchSize=len(accounts) + 1,
            )
            present = {
                str(doc["_id"])
                for doc in await cursor.to_list()
                if (doc.get("holders") or {}).get(me, {}).get("stamp")
            }
        return [account for account in accounts if account.account_id not in present]

    async def execute(self, write: Write) -> bool:
        """Send one compare-and-set; False when it matched nothing (someone wrote first)."""
        try:
            with self.bounded():
                if write.kind == "delete":
                    self.count("delete")
                    deleted = await self.shares.delete_one(write.filter)
                    return deleted.deleted_count == 1
                self.count("update")
                updated = await self.shares.update_one(
                    write.filter, write.update, upsert=write.kind == "insert"
                )
                return bool(updated.matched_count == 1 or updated.upserted_id is not None)
        except DuplicateKeyError:
            return False  # another process created the document first

    async def bulk(self, writes: Sequence[Write]) -> bool:
        """Send ``writes`` unordered (one "update" and/or one "delete" command); True if all applied."""
        for command in sorted({"delete" if w.kind == "delete" else "update" for w in writes}):
            self.count(command)
        try:
            with self.bounded():
                result = await self.shares.bulk_write([w.operation() for w in writes], ordered=False)
        except BulkWriteError:
            return False
        return result.matched_count + result.deleted_count == len(writes)

    # -- heartbeats ----------------------------------------------------------------------------

    async def beat(self) -> Mapping[str, Any] | None:
        """Renew this process's heartbeat (one ``findAndModify``); the document after the update."""
        holder = self._holder
        self.count("findAndModify")
        with self.bounded():
            return await self.beats.find_one_and_update(
                {"_id": holder.holder_id},
                [
                    {
                        "$set": {
                            "asked": {"$ifNull": ["$wanted", []]},
                            "wanted": [],
                            "before": {"$ifNull": ["$expires", 0]},
                            "expires": {"$add": [NOW_MS, holder.lease_ms]},
                            "drain": holder.drain_ms,
                            "name": {"$literal": holder.name},
                            # Removed (TTL) once nothing it held can count any more.
                            "expire_at": {"$add": ["$$NOW", 2 * holder.lease_ms + holder.drain_ms]},
                        }
                    }
                ],
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )

    async def ask(self, holders: list[str], account_id: str) -> None:
        """Add ``account_id`` to the ``wanted`` list of each of ``holders`` (one command)."""
        self.count("update")
        with self.bounded():
            await self.beats.update_many({"_id": {"$in": holders}}, {"$addToSet": {"wanted": account_id}})

    async def drop_beat(self) -> None:
        """Delete this process's heartbeat (else it expires by itself)."""
        with contextlib.suppress(PyMongoError):
            self.count("delete")
            with self.bounded():
                await self.beats.delete_one({"_id": self._holder.holder_id})

    async def ensure_index(self) -> None:
        with contextlib.suppress(PyMongoError):  # retried at the next renewal
            self.count("createIndexes")
            await self.beats.create_index("expire_at", expireAfterSeconds=0, name="expire_at_ttl")
            self.indexed = True
