"""Heal requests in MongoDB (`heal_requests`): one document per (supplier, blocker id).

`{_id: "<supplier>:<blocker>", supplier_id, blocker, status: pending|done, generation,
requested_at}`. A new request for the same id sets it pending again and bumps `generation`;
finishing is conditional on the generation read, so a request made during a heal run survives it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from order_sync.service_layer.ports import HealRequest


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class MongoHealRequests:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection
        self._added = asyncio.Event()

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("status", 1), ("supplier_id", 1)])

    async def add(self, supplier_id: str, blockers: Iterable[str]) -> None:
        now = datetime.now(UTC)
        requests = [
            UpdateOne(
                {"_id": f"{supplier_id}:{blocker}"},
                {
                    "$set": {
                        "supplier_id": supplier_id,
                        "blocker": blocker,
                        "status": "pending",
                        "requested_at": now,
                    },
                    "$inc": {"generation": 1},
                },
                upsert=True,
            )
            for blocker in sorted(set(blockers))
        ]
        if requests:
            await self._collection.bulk_write(requests, ordered=False)
            self._added.set()

    async def suppliers(self) -> list[str]:
        found: list[str] = await self._collection.distinct("supplier_id", {"status": "pending"})
        return sorted(found)

    async def pending(self, supplier_id: str) -> list[HealRequest]:
        cursor = self._collection.find({"supplier_id": supplier_id, "status": "pending"})
        return [
            HealRequest(d["blocker"], d.get("generation", 0), _aware(d.get("requested_at")))
            async for d in cursor
        ]

    async def finish(self, supplier_id: str, requests: Iterable[HealRequest]) -> None:
        now = datetime.now(UTC)
        updates = [
            UpdateOne(
                {"_id": f"{supplier_id}:{r.blocker}", "generation": r.generation, "status": "pending"},
                {"$set": {"status": "done", "done_at": now}},
            )
            for r in requests
        ]
        if updates:
            await self._collection.bulk_write(updates, ordered=False)

    async def wait(self, timeout_s: float) -> None:
        """Until this process adds a request, or `timeout_s` (other processes' requests are polled)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._added.wait(), timeout_s)
        self._added.clear()
