"""Connection states in MongoDB: one document per supplier in the shared budget database.

Collection `netsuite_connections` of `NETSUITE_BUDGET_DATABASE` (shared by the three services,
like the budget: they use one NetSuite account per supplier):

    {_id: supplier_id, state, since, version, previous_state, service, detail, record_type,
     account_id, last_error: {code, message}, changed_at,
     published, publish_claim_until,          the outbox flag of the status event
     next_probe_at, probe_failures,           the probe schedule while the breaker is open
     credentials_expiring_at,                 the CREDENTIALS_EXPIRING warning, while in force
     credentials}                             fingerprint of the credentials refused (auth_failed)

A supplier without a document is `connected` (version 0). Every transition is one conditional
write on `version` (compare-and-set): of the processes that saw the same change, exactly one
writes it and publishes its event. The write sets `published: false` and claims the publication
(`publish_claim_until`) in the same update, so a process dying between the write and the publish
leaves a document another process finds (`unpublished`) and publishes once the claim lapsed.
The probe schedule is claimed the same way: the process whose conditional write moves
`next_probe_at` forward sends the probe; the others see the new time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from om_platform.core.connections import BREAKER_OPEN, Status

COLLECTION = "netsuite_connections"


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def status_of(document: dict[str, Any]) -> Status:
    error = document.get("last_error") or {}
    return Status(
        supplier_id=document["_id"],
        state=document.get("state", "connected"),
        since=_aware(document.get("since")),
        version=int(document.get("version", 0)),
        previous_state=document.get("previous_state"),
        service=document.get("service"),
        detail=document.get("detail"),
        record_type=document.get("record_type"),
        account_id=document.get("account_id"),
        error_code=error.get("code"),
        error_message=error.get("message"),
        published=bool(document.get("published", True)),
        next_probe_at=_aware(document.get("next_probe_at")),
        probe_failures=int(document.get("probe_failures", 0)),
        credentials_expiring_at=_aware(document.get("credentials_expiring_at")),
        credentials=document.get("credentials"),
    )


class ConnectionStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index("state")
        await self._collection.create_index("changed_at")
        await self._collection.create_index("published", partialFilterExpression={"published": False})

    async def load(self, supplier_id: str) -> Status:
        document = await self._collection.find_one({"_id": supplier_id})
        return status_of(document) if document else Status(supplier_id)

    async def load_many(self, supplier_ids: list[str]) -> dict[str, Status]:
        found = {supplier_id: Status(supplier_id) for supplier_id in supplier_ids}
        async for document in self._collection.find({"_id": {"$in": supplier_ids}}):
            found[document["_id"]] = status_of(document)
        return found

    async def not_connected_or_changed_since(self, since: datetime) -> list[Status]:
        """Every supplier not connected, and every one whose state changed at or after `since`."""
        query = {"$or": [{"state": {"$ne": "connected"}}, {"changed_at": {"$gte": since}}]}
        return [status_of(document) async for document in self._collection.find(query)]

    async def transition(self, current: Status, fields: dict[str, Any], claim_until: datetime) -> bool:
        """Write the new state if the supplier is still at `current.version`; True if this call won."""
        version = current.version + 1
        update = {**fields, "version": version, "published": False, "publish_claim_until": claim_until}
        if current.version == 0:
            try:
                await self._collection.insert_one({"_id": current.supplier_id, **update})
            except DuplicateKeyError:
                return False  # another process wrote the first change
            return True
        written = await self._collection.update_one(
            {"_id": current.supplier_id, "version": current.version}, {"$set": update}
        )
        return written.matched_count == 1

    async def mark_published(self, supplier_id: str, version: int) -> None:
        await self._collection.update_one(
            {"_id": supplier_id, "version": version}, {"$set": {"published": True}}
        )

    async def unpublished(self, now: datetime) -> list[Status]:
        """Changes whose publication nobody holds a live claim on (its process died)."""
        query = {"published": False, "publish_claim_until": {"$lte": now}}
        return [status_of(document) async for document in self._collection.find(query)]

    async def claim_publication(self, status: Status, now: datetime, until: datetime) -> bool:
        claimed = await self._collection.update_one(
            {
                "_id": status.supplier_id,
                "version": status.version,
                "published": False,
                "publish_claim_until": {"$lte": now},
            },
            {"$set": {"publish_claim_until": until}},
        )
        return claimed.matched_count == 1

    async def claim_probe(self, status: Status, next_probe_at: datetime) -> bool:
        """Take the due probe of `status` by moving its time forward; True if this call did."""
        claimed = await self._collection.update_one(
            {
                "_id": status.supplier_id,
                "version": status.version,
                "state": {"$in": sorted(BREAKER_OPEN)},
                "next_probe_at": status.next_probe_at,
            },
            {"$set": {"next_probe_at": next_probe_at}},
        )
        return claimed.matched_count == 1

    async def probe_failed(self, status: Status) -> None:
        await self._collection.update_one(
            {"_id": status.supplier_id, "version": status.version}, {"$inc": {"probe_failures": 1}}
        )

    async def probe_now(self, supplier_id: str, now: datetime) -> bool:
        """Make the supplier's next probe due now (new credentials); True if its breaker is open."""
        changed = await self._collection.update_one(
            {"_id": supplier_id, "state": {"$in": sorted(BREAKER_OPEN)}},
            {"$set": {"next_probe_at": now, "probe_failures": 0}},
        )
        return changed.matched_count == 1
