"""Leases in MongoDB: "at most one holder at a time" for jobs across all replicas.

A lease is one document `{_id: name, owner, expires_at}`. Taking it is a single atomic
`find_one_and_update` that matches only a free or expired lease (or one we already own); a
unique `_id` makes a racing insert fail instead of creating a second holder. The holder renews it
while working, so a long run keeps it, and a crashed holder's lease simply expires.

Failure mode to know: a holder whose event loop stalls longer than the TTL can lose the lease
while still running; `LeaseLost` is raised at its next check (`Lease.check()`), and work must be
idempotent anyway (every job here publishes or writes by deterministic id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The lease expired or was taken over while its holder still worked."""


class Lease:
    def __init__(self, store: LeaseStore, name: str, owner: str, ttl_s: float) -> None:
        self.store = store
        self.name = name
        self.owner = owner
        self.ttl_s = ttl_s
        self.lost = False

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(self.name)


class LeaseStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection

    async def try_acquire(self, name: str, owner: str, ttl_s: float) -> bool:
        now = datetime.now(UTC)
        try:
            document = await self._collection.find_one_and_update(
                {"_id": name, "$or": [{"expires_at": {"$lte": now}}, {"owner": owner}]},
                {"$set": {"owner": owner, "expires_at": now + timedelta(seconds=ttl_s), "acquired_at": now}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # someone else holds it (the upsert raced with their live document)
        return document is not None and document.get("owner") == owner

    async def renew(self, name: str, owner: str, ttl_s: float) -> bool:
        result = await self._collection.update_one(
            {"_id": name, "owner": owner},
            {"$set": {"expires_at": datetime.now(UTC) + timedelta(seconds=ttl_s)}},
        )
        return result.matched_count == 1

    async def release(self, name: str, owner: str) -> None:
        await self._collection.update_one(
            {"_id": name, "owner": owner}, {"$set": {"expires_at": datetime.now(UTC), "owner": None}}
        )

    async def holder(self, name: str) -> str | None:
        document = await self._collection.find_one({"_id": name})
        if document is None or document["expires_at"].replace(tzinfo=UTC) <= datetime.now(UTC):
            return None
        owner = document.get("owner")
        return owner if isinstance(owner, str) else None

    @asynccontextmanager
    async def hold(
        self, name: str, ttl_s: float = 60.0, owner: str | None = None
    ) -> AsyncIterator[Lease | None]:
        """Yield a `Lease` if it could be taken now, else None; renewed every ttl/3 while held."""
        owner = owner or secrets.token_hex(8)
        if not await self.try_acquire(name, owner, ttl_s):
            yield None
            return
        lease = Lease(self, name, owner, ttl_s)

        async def keep() -> None:
            while True:
                await asyncio.sleep(ttl_s / 3)
                try:
                    if not await self.renew(name, owner, ttl_s):
                        lease.lost = True
                        log.warning("lease %s lost to another holder", name)
                        return
                except Exception:
                    log.exception("lease %s renewal failed; retrying", name)

        renewer = asyncio.create_task(keep(), name=f"lease:{name}")
        try:
            yield lease
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            if not lease.lost:
                with contextlib.suppress(Exception):
                    await self.release(name, owner)
