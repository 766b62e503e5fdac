"""``MongoBudget``: a lease-based distributed semaphore per NetSuite account in MongoDB.

Design
------
* One document per slot: ``_id = "<account>:<n>"`` for ``n < limit``, with ``owner`` (a random
  token per acquisition, or None) and ``expires_at`` (epoch seconds). Slot documents are created
  idempotently (upsert with ``$setOnInsert``) the first time a process sees an (account, limit).
* Acquire = one ``find_one_and_update`` on any slot of the account with ``n < limit`` that is free
  (``owner: None``) or whose lease has expired, setting a fresh owner token and lease. MongoDB
  applies it atomically per document, so two processes never own the same slot.
* While held, a supervised task renews the lease every ``lease / 3`` (requests may run for
  minutes); on exit the slot is released with ``update_one({_id, owner: token})`` so a holder
  whose lease was stolen after an expiry cannot free someone else's slot.
* Waiting: a local FIFO gate (:class:`~om_netsuite.FifoGate`) in front keeps callers in one process
  fair and stops more than ``limit`` of them from polling. The head waiters poll MongoDB with
  jittered exponential backoff (``poll_min`` .. ``poll_max``) and are woken at once when a slot
  is released in this process. Waits are bounded by ``max_wait`` (:class:`BudgetTimeout`).

Failure modes
-------------
* A crashed holder keeps its slot until its lease expires (``lease`` seconds, default 30): the
  account runs with one slot fewer for that long, never with one too many.
* A holder that cannot renew (MongoDB unreachable, event loop blocked longer than the lease) may
  lose its slot while its request is still in flight: briefly ``limit + 1`` requests; NetSuite
  answers the extra one with 429, which the retry policy absorbs. Renewal failures are logged.
* Leases use each process's wall clock; hosts must be NTP-synchronised (skew adds to or subtracts
  from the lease).
* Fairness across processes is probabilistic (jittered polling), strict FIFO only within one.
* If MongoDB is down, acquisition raises the driver error: no request is sent unbudgeted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from ._budget import FifoGate
from ._exceptions import BudgetTimeout

__all__ = ["MongoBudget"]

logger = logging.getLogger("om_netsuite.budget")


class MongoBudget:
    """:class:`~om_netsuite.Budget` shared by every process using the same collection."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        lease: float = 30.0,
        max_wait: float = 300.0,
        poll_min: float = 0.005,
        poll_max: float = 0.25,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if lease <= 0 or max_wait <= 0 or not 0 < poll_min <= poll_max:
            raise ValueError("lease, max_wait and poll intervals must be positive")
        self._collection = collection
        self._lease = lease
        self._max_wait = max_wait
        self._poll_min = poll_min
        self._poll_max = poll_max
        self._clock = clock
        self._gates: dict[str, FifoGate] = {}
        self._wakers: dict[str, set[asyncio.Future[None]]] = {}
        self._ensured: set[tuple[str, int]] = set()

    def gate(self, account_id: str) -> FifoGate:
        """The local FIFO gate of one account (``in_use`` counts this process's holders)."""
        gate = self._gates.get(account_id)
        if gate is None:
            gate = self._gates[account_id] = FifoGate()
        return gate

    async def _ensure_slots(self, account_id: str, limit: int) -> None:
        if (account_id, limit) in self._ensured:
            return
        for n in range(limit):
            await self._collection.update_one(
                {"_id": f"{account_id}:{n}"},
                {"$setOnInsert": {"account": account_id, "n": n, "owner": None, "expires_at": 0.0}},
                upsert=True,
            )
        self._ensured.add((account_id, limit))

    async def _try_acquire(self, account_id: str, limit: int, token: str) -> str | None:
        now = self._clock()
        doc = await self._collection.find_one_and_update(
            {
                "account": account_id,
                "n": {"$lt": limit},
                "$or": [{"owner": None}, {"expires_at": {"$lt": now}}],
            },
            {"$set": {"owner": token, "expires_at": now + self._lease}},
            projection={"_id": 1},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else str(doc["_id"])

    async def _acquire(self, account_id: str, limit: int, token: str, deadline: float) -> str:
        await self._ensure_slots(account_id, limit)
        wakers = self._wakers.setdefault(account_id, set())
        loop = asyncio.get_running_loop()
        delay = self._poll_min
        while True:
            # Registered before the attempt so a release in between is not missed.
            waker: asyncio.Future[None] = loop.create_future()
            wakers.add(waker)
            try:
                slot_id = await self._try_acquire(account_id, limit, token)
                if slot_id is not None:
                    return slot_id
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BudgetTimeout(
                        f"no NetSuite concurrency slot for {account_id} within {self._max_wait}s"
                    )
                # Full jitter keeps processes from polling in lock-step; a release in this
                # process wakes the local waiters at once.
                pause = min(remaining, random.uniform(self._poll_min, delay))  # noqa: S311
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(waker), pause)
            finally:
                wakers.discard(waker)
            delay = min(self._poll_max, delay * 2)

    async def _renew(self, slot_id: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                result = await self._collection.update_one(
                    {"_id": slot_id, "owner": token},
                    {"$set": {"expires_at": self._clock() + self._lease}},
                )
            except Exception:
                logger.warning("netsuite budget lease renewal failed", extra={"slot": slot_id})
                continue
            if result.matched_count == 0:
                logger.warning("netsuite budget lease lost", extra={"slot": slot_id})
                return

    async def _release(self, account_id: str, slot_id: str, token: str) -> None:
        await self._collection.update_one(
            {"_id": slot_id, "owner": token}, {"$set": {"owner": None, "expires_at": 0.0}}
        )
        for waker in self._wakers.get(account_id, ()):
            if not waker.done():
                waker.set_result(None)

    @asynccontextmanager
    async def slot(self, account_id: str, limit: int) -> AsyncIterator[None]:
        """Hold one of ``limit`` slots of ``account_id`` shared through MongoDB."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        deadline = time.monotonic() + self._max_wait
        gate = self.gate(account_id)
        try:
            await asyncio.wait_for(gate.acquire(limit), self._max_wait)
        except TimeoutError:
            raise BudgetTimeout(
                f"no NetSuite concurrency slot for {account_id} within {self._max_wait}s"
            ) from None
        try:
            token = secrets.token_hex(12)
            slot_id = await self._acquire(account_id, limit, token, deadline)
            renewer = asyncio.create_task(self._renew(slot_id, token), name=f"lease:{slot_id}")
            try:
                yield
            finally:
                renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewer
                # Shielded: a cancelled request must still give its slot back.
                await asyncio.shield(self._release(account_id, slot_id, token))
        finally:
            gate.release(limit)
