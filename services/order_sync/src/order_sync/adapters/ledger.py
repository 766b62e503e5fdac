"""The sync ledger in MongoDB: one document per (supplier, kind, Ordermentum id).

Writes per event: one upsert storing the outcome (unpublished) with the event it answers, and one
small update once the broker confirmed the outcome. Both are keyed by `_id`, so a redelivery
rewrites the same document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from om_contracts import ErrorCode, NetSuiteRecordRef, SyncFailed, SyncKind, SyncSucceeded
from order_sync.domain.outcomes import Outcome, status_of
from order_sync.service_layer.ports import LedgerEntry

APPLIED_EVENTS_KEPT = 50  # event ids remembered per record to recognise redeliveries


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


class MongoLedger:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("supplier_id", 1), ("status", 1), ("last_error.code", 1)])
        await self._collection.create_index([("supplier_id", 1), ("warnings.code", 1)])

    async def get(self, supplier_id: str, kind: SyncKind, ordermentum_id: str) -> LedgerEntry | None:
        document = await self._collection.find_one({"_id": ledger_id(supplier_id, kind, ordermentum_id)})
        return _entry(document) if document else None

    async def record(
        self,
        entry: LedgerEntry,
        outcome: Outcome,
        *,
        event_payload: str,
        event_type: str,
        occurred_at: datetime,
        attempts_made: int,
    ) -> None:
        data = outcome.data
        error = data.error.model_dump(mode="json") if isinstance(data, SyncFailed) else None
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
            "updated_at": now,
        }
        if netsuite is not None:
            fields["netsuite"] = netsuite
        if isinstance(data, SyncSucceeded):
            # What `omctl status --supplier` lists: the latest verification of the record (a
            # failed follow-up leaves the last one in place; NetSuite still holds that record).
            fields["warnings"] = [w.model_dump(mode="json") for w in data.warnings]
            fields["totals"] = data.totals.model_dump(mode="json") if data.totals else None
        await self._collection.update_one(
            {"_id": ledger_id(entry.supplier_id, entry.kind, entry.ordermentum_id)},
            {
                "$set": fields,
                "$inc": {"attempts": attempts_made},
                "$push": {
                    "applied_event_ids": {"$each": [data.source_event_id], "$slice": -APPLIED_EVENTS_KEPT}
                },
                "$setOnInsert": {"created_at": now},
            },
            upsert=True,
        )

    async def mark_published(
        self, supplier_id: str, kind: SyncKind, ordermentum_id: str, event_id: str
    ) -> None:
        await self._collection.update_one(
            {"_id": ledger_id(supplier_id, kind, ordermentum_id), "outcome_event_id": event_id},
            {"$set": {"outcome_published": True}},
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

    async def failed(
        self, supplier_id: str, *, ordermentum_id: str | None = None, code: ErrorCode | None = None
    ) -> AsyncIterator[LedgerEntry]:
        query: dict[str, Any] = {"supplier_id": supplier_id}
        if ordermentum_id is not None:
            query["ordermentum_id"] = ordermentum_id
        else:
            query["status"] = "failed"
        if code is not None:
            query["last_error.code"] = code.value
        async for document in self._collection.find(query).sort("_id", 1):
            yield _entry(document)


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
    )
