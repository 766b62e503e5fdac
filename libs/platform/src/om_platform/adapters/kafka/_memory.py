"""What the dead-letter publisher remembers: which letters were published already (by letter id).

A redelivered record that was dead-lettered before (the process died before committing its offset)
is not published twice: the publisher recalls its letter id first and remembers it once the broker
accepted the letter. `MongoDeadLetterMemory` keeps the ids in MongoDB, coalescing bursts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


class DeadLetterMemory(Protocol):
    """Which dead letters a consumer group has published already (by `dead_letter_id`)."""

    async def recall(self, letter_id: str) -> bool: ...

    async def remember(self, letter_id: str, facts: dict[str, Any]) -> None: ...


class _Coalesced(Generic[ItemT, ResultT]):
    """Requests made while a round trip is under way wait for the next one and share it.

    Dead letters come in bursts (a poll returns many records, a bad producer sends many), and each
    would otherwise cost two MongoDB round trips; this turns a burst into two round trips in all.
    Every caller awaits its own answer, so nothing is acknowledged before it is durable.
    """

    def __init__(self, run: Callable[[dict[str, ItemT]], Awaitable[Mapping[str, ResultT]]]) -> None:
        self._run = run
        self._pending: dict[str, tuple[ItemT, list[asyncio.Future[ResultT]]]] = {}
        self._worker: asyncio.Task[None] | None = None

    async def __call__(self, key: str, item: ItemT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, (item, []))[1].append(future)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="dead-letter-memory")
        return await future

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(0)  # let the requests of this burst join
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    results = await self._run({key: item for key, (item, _) in batch.items()})
                except asyncio.CancelledError:
                    self._pending.update(batch)
                    raise
                except Exception as exc:  # every waiter gets the failure; this worker carries on
                    _settle(batch, exc)
                    continue
                _settle(batch, results)
        except asyncio.CancelledError:
            pending, self._pending = self._pending, {}
            for _, waiters in pending.values():
                for waiter in waiters:
                    waiter.cancel()
            raise


def _settle(
    batch: Mapping[str, tuple[Any, list[asyncio.Future[Any]]]], answers: Mapping[str, Any] | Exception
) -> None:
    """Give each waiter of the batch still waiting its answer, or the batch's failure."""
    for key, (_, waiters) in batch.items():
        for waiter in waiters:
            if waiter.done():
                continue
            if isinstance(answers, Exception):
                waiter.set_exception(answers)
            else:
                waiter.set_result(answers[key])


class MongoDeadLetterMemory:
    """`DeadLetterMemory` in a MongoDB collection, `_id` = the letter id.

    Concurrent recalls share one `find`, concurrent remembers one `bulk_write` (see `_Coalesced`).
    Failing to read or write is not a reason to hold a record: the letter is then published (once
    more, at worst), and `omctl dlq` collapses letters that share an id.
    """

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection
        self._recall = _Coalesced[None, bool](self._find)
        self._remember = _Coalesced[dict[str, Any], None](self._write)

    async def recall(self, letter_id: str) -> bool:
        try:
            return await self._recall(letter_id, None)
        except PyMongoError as exc:
            log.warning("dead-letter memory unavailable, publishing anyway: %s", exc)
            return False

    async def remember(self, letter_id: str, facts: dict[str, Any]) -> None:
        try:
            await self._remember(letter_id, facts)
        except PyMongoError as exc:
            log.warning("dead-letter memory unavailable, a redelivery may publish it again: %s", exc)

    async def _find(self, wanted: dict[str, None]) -> dict[str, bool]:
        found = {
            doc["_id"] async for doc in self._collection.find({"_id": {"$in": list(wanted)}}, {"_id": 1})
        }
        return {letter_id: letter_id in found for letter_id in wanted}

    async def _write(self, facts: dict[str, dict[str, Any]]) -> dict[str, None]:
        await self._collection.bulk_write(
            [UpdateOne({"_id": letter_id}, {"$set": item}, upsert=True) for letter_id, item in facts.items()],
            ordered=False,
        )
        return dict.fromkeys(facts)


class _NoMemory:
    """No memory (before `attach` gave one): every letter is published."""

    async def recall(self, _letter_id: str) -> bool:
        return False

    async def remember(self, _letter_id: str, _facts: dict[str, Any]) -> None:
        return None
