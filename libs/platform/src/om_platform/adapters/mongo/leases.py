"""Leases in MongoDB: "at most one holder at a time" for jobs across all replicas.

A lease is one document `{_id: name, owner, incarnation, expires_at, acquired_at, token}`
(`token`: the take that holds it). `owner` is the
identity of the process that holds it (`ServiceSettings.instance_identity`: the StatefulSet pod
name in production), `incarnation` the `LeaseStore` object that took it (random, one per process
start). Taking a lease is a single atomic `find_one_and_update` that matches a free or expired
lease, or one held under our own identity by another incarnation: a process restarted after a
crash takes back at once what its previous life held (that life is dead, and so is its renewer),
while a process of another identity waits for the lease to expire. A unique `_id` makes a racing
insert fail instead of creating a second holder. The holder renews it while working (matching
its incarnation, so a taken-over holder learns it lost the lease), and a crashed holder's lease
simply expires.

Build one `LeaseStore` per identity and process (each store is one incarnation: two stores of one
identity in one process would take each other's leases). Two *live* processes configured with the
same identity defeat the exclusion: each takes the other's leases; the one taken over sees
`LeaseLost` at its next renewal (within ttl/3) and stops, so their work overlaps for up to ttl/3.

Failure mode to know: a holder whose event loop stalls longer than the TTL can lose the lease
while still running; `LeaseLost` is raised at its next check (`Lease.check()`), and work must be
idempotent anyway (every job here publishes or writes by deterministic id).

Why the NetSuite budget does not use these leases (and these do not use its shares): they answer
different questions. A lease here is exclusive ownership of a name: one holder or none, for a job
that must not run twice at once (a supplier's stock scan, a finance hour, a catalog poll); being
refused means "someone else does it, skip it". A share of the budget
(`om_platform.adapters.budget`) is a fraction of a capacity: every process using an
account holds part of its concurrency limit at the same time, the parts are recomputed by a
fair-share rule at every renewal, judged in the server's clock, and spent without touching MongoDB;
being short means "wait for a slot", never "skip". Merging them would either make the budget
exclusive (one process per account) or give every job lease the budget's per-request bookkeeping.
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

from om_platform.core.ports import LeaseLost
from om_platform.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class Lease:
    def __init__(self, store: LeaseStore, name: str, ttl_s: float) -> None:
        self.store = store
        self.name = name
        self.owner = store.owner
        self.ttl_s = ttl_s
        self.lost = False

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(self.name)


class LeaseStore:
    """Leases taken under the identity `owner` (random when not given) by this incarnation."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], owner: str | None = None) -> None:
        self._collection = collection
        self.owner = owner or secrets.token_hex(8)
        self.incarnation = secrets.token_hex(8)

    async def try_acquire(self, name: str, ttl_s: float) -> bool:
        """Take `name` if it is free, expired, or held by an earlier incarnation of our identity."""
        now = datetime.now(UTC)
        token = secrets.token_hex(8)  # this take's own mark: whether it landed can be read back
        free_or_ours = [
            {"expires_at": {"$lte": now}},
            {"owner": self.owner, "incarnation": {"$ne": self.incarnation}},
        ]
        try:
            document = await self._collection.find_one_and_update(
                {"_id": name, "$or": free_or_ours},
                {
                    "$set": {
                        "owner": self.owner,
                        "incarnation": self.incarnation,
                        "expires_at": now + timedelta(seconds=ttl_s),
                        "acquired_at": now,
                        "token": token,
                    }
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # held by someone else, or by this incarnation already
        if document is None:
            # An upsert answers with the document; an answer without one (the embedded
            # Mongo-protocol server's `{n: 1}` and no value, when the take raced the previous
            # holder's release) says nothing about whether it landed. Read it back by this take's
            # token: taken as "busy", a take that landed held the lease, unreleased, for its TTL
            # (the demo's on-demand finance run was refused for 60 s that way).
            document = await self._collection.find_one({"_id": name, "token": token})
        return document is not None and document.get("token") == token

    async def renew(self, name: str, ttl_s: float) -> bool:
        result = await self._collection.update_one(
            {"_id": name, "owner": self.owner, "incarnation": self.incarnation},
            {"$set": {"expires_at": datetime.now(UTC) + timedelta(seconds=ttl_s)}},
        )
        return result.matched_count == 1

    async def release(self, name: str) -> None:
        await self._collection.update_one(
            {"_id": name, "owner": self.owner, "incarnation": self.incarnation},
            {"$set": {"expires_at": datetime.now(UTC), "owner": None, "incarnation": None}},
        )

    async def holder(self, name: str) -> str | None:
        """The identity holding `name` now, or None."""
        document = await self._collection.find_one({"_id": name})
        if document is None or document["expires_at"].replace(tzinfo=UTC) <= datetime.now(UTC):
            return None
        owner = document.get("owner")
        return owner if isinstance(owner, str) else None

    @asynccontextmanager
    async def hold(self, name: str, ttl_s: float = 60.0) -> AsyncIterator[Lease | None]:
        """Yield a `Lease` if it could be taken now, else None; renewed every ttl/3 while held."""
        if not await self.try_acquire(name, ttl_s):
            yield None
            return
        lease = Lease(self, name, ttl_s)

        async def keep() -> None:
            while True:
                await asyncio.sleep(ttl_s / 3)
                try:
                    if not await self.renew(name, ttl_s):
                        lease.lost = True
                        log.warning("lease %s lost to another holder", name)
                        return
                except Exception:
                    log.exception("lease %s renewal failed; retrying", name)

        renewer = asyncio.create_task(keep(), name=f"lease:{name}")
        try:
            yield lease
        finally:
            await cancel_and_wait([renewer])
            if not lease.lost:
                with contextlib.suppress(Exception):
                    await self.release(name)
