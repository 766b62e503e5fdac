"""Per-supplier freshness read from the services' MongoDB stores (the values: `om_platform.core.freshness`).

Read from what the services already store, by `omctl status` (per supplier) and by each service's
`/metrics` (in aggregate: supplier ids are never labels). One reader per shape of store:

* `ledger_freshness`: a sync ledger, one document per record (order_sync's `ledger`): the newest
  success (`updated_at` of a synced/cancelled/voided record), the oldest event whose latest outcome
  is a failure (`last_occurred_at`, else `updated_at`), and the records parked until the connection
  is back (failed with `PARKED_CODES`);
* `runs_freshness`: one schedule document per supplier (stock_sync's `stock_runs`): its
  `last_success_at`, `failing_since` (the first failure of the current streak) and whether its runs
  are held for the connection (`waiting_for_connection`: one parked job);
* `slots_freshness`: one document per finished slot (finance_sync's `job_runs`): the newest
  `finished_at`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from om_platform.core.freshness import PARKED_CODES, SUCCESS_STATUSES, Freshness, aware


def _match(supplier_id: str | None) -> dict[str, Any]:
    return {"supplier_id": supplier_id} if supplier_id else {"supplier_id": {"$exists": True}}


async def ledger_freshness(
    collection: AsyncCollection[dict[str, Any]], supplier_id: str | None = None
) -> dict[str, Freshness]:
    pipeline: list[dict[str, Any]] = [
        {"$match": _match(supplier_id)},
        {
            "$group": {
                "_id": {"supplier_id": "$supplier_id", "status": "$status", "code": "$last_error.code"},
                "n": {"$sum": 1},
                "newest": {"$max": "$updated_at"},
                "oldest": {"$min": {"$ifNull": ["$last_occurred_at", "$updated_at"]}},
            }
        },
    ]
    found: dict[str, dict[str, Any]] = {}
    async for row in await collection.aggregate(pipeline):
        key = row["_id"]
        entry = found.setdefault(key["supplier_id"], {"last_success": None, "oldest_failure": None})
        if key.get("status") in SUCCESS_STATUSES:
            entry["last_success"] = _later(entry["last_success"], row.get("newest"))
        elif key.get("status") == "failed":
            entry["oldest_failure"] = _earlier(entry["oldest_failure"], row.get("oldest"))
            entry["failed"] = entry.get("failed", 0) + row["n"]
            if key.get("code") in PARKED_CODES:
                entry["parked"] = entry.get("parked", 0) + row["n"]
    return {supplier: Freshness(**fields) for supplier, fields in found.items()}


async def runs_freshness(
    collection: AsyncCollection[dict[str, Any]], supplier_id: str | None = None
) -> dict[str, Freshness]:
    fields = {"supplier_id": 1, "last_success_at": 1, "failing_since": 1, "waiting_for_connection": 1}
    found: dict[str, Freshness] = {}
    async for document in collection.find(_match(supplier_id), fields):
        failing = document.get("failing_since")
        found[document["supplier_id"]] = Freshness(
            last_success=document.get("last_success_at"),
            oldest_failure=failing,
            failed=1 if failing is not None else 0,
            parked=1 if document.get("waiting_for_connection") else 0,
        )
    return found


async def slots_freshness(
    collection: AsyncCollection[dict[str, Any]], supplier_id: str | None = None
) -> dict[str, Freshness]:
    pipeline: list[dict[str, Any]] = [
        {"$match": _match(supplier_id)},
        {"$group": {"_id": "$supplier_id", "newest": {"$max": "$finished_at"}}},
    ]
    return {
        row["_id"]: Freshness(last_success=row.get("newest"))
        async for row in await collection.aggregate(pipeline)
    }


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or aware(candidate) > aware(current) else current


def _earlier(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or aware(candidate) < aware(current) else current
