"""What the dead-letter publisher remembers: which letters were published already (by letter id).

A redelivered record that was dead-lettered before (the process died before committing its offset)
is not published twice: the publisher recalls its letter id first and remembers it once the broker
accepted the letter. `MongoDeadLetterMemory` keeps the ids in MongoDB, coalescing bursts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from om_platform.core.batching import Batch

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

_UNBOUNDED = 2**31  # a burst goes in one command whatever its size, as before the `Batch`


class DeadLetterMemory(Protocol):
    """Which dead letters a consumer group has published already (by `dead_letter_id`)."""

    async def recall(self, letter_id: str) -> bool: ...

    async def remember(self, letter_id: str, facts: dict[str, Any]) -> None: ...


def _coalesced(
    run: Callable[[dict[str, ItemT]], Awaitable[Mapping[str, ResultT]]], *, name: str
) -> Batch[tuple[str, ItemT], ResultT]:
    """A `Batch` of `(key, item)` requests whose round trip carries each key once.

    Dead letters come in bursts (a poll returns many records, a bad producer sends many), and each
    would otherwise cost two MongoDB round trips; the `Batch` turns a burst into two round trips in
    all (its group commit, a failure or cancellation reaching every waiter, are what this needs).
    What it adds: requests for one letter id share one entry of the command (the first item given
    for the key is the one sent) and each hears that key's answer.
    """

    async def run_once_per_key(requests: list[tuple[str, ItemT]]) -> list[ResultT]:
        unique: dict[str, ItemT] = {}
        for key, item in requests:
            unique.setdefault(key, item)
        answers = await run(unique)
        return [answers[key] for key, _ in requests]

    return Batch(run_once_per_key, name=name, max_size=_UNBOUNDED)


class MongoDeadLetterMemory:
    """`DeadLetterMemory` in a MongoDB collection, `_id` = the letter id.

    Concurrent recalls share one `find`, concurrent remembers one `bulk_write` (see `_coalesced`).
    Failing to read or write is not a reason to hold a record: the letter is then published (once
    more, at worst), and `omctl dlq` collapses letters that share an id.
    """

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._collection = collection
        self._recall = _coalesced(self._find, name="dead-letter-recall")
        self._remember = _coalesced(self._write, name="dead-letter-remember")

    async def recall(self, letter_id: str) -> bool:
        try:
            return await self._recall.submit((letter_id, None))
        except PyMongoError as exc:
            log.warning("dead-letter memory unavailable, publishing anyway: %s", exc)
            return False

    async def remember(self, letter_id: str, facts: dict[str, Any]) -> None:
        try:
            await self._remember.submit((letter_id, facts))
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
