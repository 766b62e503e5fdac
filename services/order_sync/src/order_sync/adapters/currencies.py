"""Each NetSuite account's currency ids by ISO code, kept in MongoDB (collection `currencies`).

A process needs an account's currencies before its first upsert for that account. With thousands
of suppliers, every replica of every restart would otherwise query each account once more (one
NetSuite request per account, ~a third of the requests of a supplier's first three orders,
measured). Stored here, a process reads them with the other accounts it meets at the same time
(one `find` for the batch, `om_platform.batching`) and asks NetSuite only for an account nobody
read yet, for a code the stored ones lack (a currency added since), or after `max_age_s`. The
writes of accounts met at the same time go together too (one unordered `bulk_write`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from om_platform.batching import Batch


class CurrencyStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, max_age_s: float = 86_400) -> None:
        self._collection = collection
        self._max_age = timedelta(seconds=max_age_s)
        self._reads: Batch[str, dict[str, Any] | None] = Batch(self._find, name="currency-reads")
        self._writes: Batch[tuple[str, dict[str, str]], None] = Batch(self._write, name="currency-writes")

    async def get(self, account_id: str) -> dict[str, str] | None:
        """The stored ISO code -> internal id of the account (None: none stored, or too old)."""
        document = await self._reads.submit(account_id)
        if document is None:
            return None
        read_at = document.get("read_at")
        if isinstance(read_at, datetime) and read_at.tzinfo is None:  # a client without tz_aware
            read_at = read_at.replace(tzinfo=UTC)
        if not isinstance(read_at, datetime) or datetime.now(UTC) - read_at > self._max_age:
            return None
        return {str(code): str(internal_id) for code, internal_id in (document.get("ids") or {}).items()}

    async def put(self, account_id: str, ids: dict[str, str]) -> None:
        await self._writes.submit((account_id, ids))

    async def _write(self, puts: list[tuple[str, dict[str, str]]]) -> list[None]:
        now = datetime.now(UTC)
        writes = [
            UpdateOne({"_id": a}, {"$set": {"ids": ids, "read_at": now}}, upsert=True) for a, ids in puts
        ]
        await self._collection.bulk_write(writes, ordered=False)
        return [None] * len(puts)

    async def _find(self, account_ids: list[str]) -> list[dict[str, Any] | None]:
        cursor = self._collection.find({"_id": {"$in": sorted(set(account_ids))}})
        found = {document["_id"]: document async for document in cursor}
        return [found.get(account_id) for account_id in account_ids]
