"""Dead letters: the original record, byte for byte, plus why it failed, on `<topic>.dlq`.

The producer is a plain aiokafka producer (acks=all) rather than a FastStream publisher because a
dead letter must keep the original key, value and headers exactly as received, and FastStream's
publish API takes string headers and adds its own.

Publishing a dead letter is bounded (CONTRACTS.md "Limits on input"):

1. The whole letter is published, retried with capped backoff for as long as the broker is merely
   unavailable or slow (timeouts, refused connections): a slow broker never costs a letter its
   value. After `DeadLetterPolicy.attempts` failures it counts as waiting (`waiting`). It waits
   alone: the consumer publishes each dead letter in its own task, so no lane, supplier slot or
   other dead letter waits behind it; only its own offset stays uncommitted, so nothing is lost
   if the process stops meanwhile.
2. Only a letter the broker or the client calls too large for the dead-letter topic
   (`message.max.bytes`) is published with what is too large cut to `TRUNCATED_PART_BYTES` (value,
   and key or original headers if they are the problem), `x-truncated` naming what was cut and
   `x-original-size` the value's size. The whole record stays readable at its original
   topic/partition/offset, which the letter carries, until that topic's retention removes it;
   `omctl dlq redrive` reads it from there.
3. Before each try the consumer is asked whether it still owns the record's partition (`owned`):
   once a rebalance took it away, nothing is published (`DeadLetterOutcome.REVOKED`); the new
   owner redelivers the record and decides.

Each letter has a deterministic id (`x-dead-letter-id`): the consumer group, the record's origin
(its coordinates, or those in `x-replayed-from` for a copy made by `omctl replay`) and a digest of
its key and value. The ids published are remembered (MongoDB, `DeadLetterMemory`), so a record
redelivered after a crash or read again by a replay is not dead-lettered twice. If the memory
cannot answer, the letter is published anyway (a duplicate beats a loss) and `omctl dlq` shows
letters with the same id once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from om_contracts import (
    DEAD_LETTER_HEADER_NAMES,
    DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES,
    TRUNCATED_PART_BYTES,
    DeadLetterHeaders,
    dead_letter_headers,
    dead_letter_topic,
)

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

_TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)
_UNAVAILABLE = (KafkaError, OSError, TimeoutError)
REPLAYED_FROM = "x-replayed-from"


class _Record(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]]: ...


def _context(
    record: _Record,
    *,
    code: str,
    message: str,
    attempts: int,
    failed_at: datetime | None = None,
    dead_letter_id: str | None = None,
    consumer_group: str | None = None,
) -> DeadLetterHeaders:
    return DeadLetterHeaders(
        error_code=code,
        error_message=message,
        original_topic=record.topic,
        original_partition=record.partition,
        original_offset=record.offset,
        attempts=attempts,
        failed_at=failed_at or datetime.now(UTC),
        dead_letter_id=dead_letter_id,
        consumer_group=consumer_group,
    )


def failure_headers(
    record: _Record, *, code: str, message: str, attempts: int, failed_at: datetime | None = None
) -> list[tuple[str, bytes | None]]:
    """The original headers (minus any earlier failure context) followed by this failure's context."""
    context = _context(record, code=code, message=message, attempts=attempts, failed_at=failed_at)
    return dead_letter_headers(record.headers, context)


def _origin(record: _Record) -> str:
    """Where the record first was: itself, or the record an `omctl replay` copy was made from."""
    for name, value in record.headers:
        if name == REPLAYED_FROM and value:
            claimed = value.decode("utf-8", "replace")
            if claimed.rpartition("/")[0].rpartition("/")[0] == record.topic:
                return claimed
    return f"{record.topic}/{record.partition}/{record.offset}"


def dead_letter_id(record: _Record, value: bytes | None, group: str) -> str:
    """The letter's deterministic id: same group, same origin, same key and value -> same id.

    The digest makes a forged `x-replayed-from` harmless: a different record claiming another's
    origin gets its own id, so it is still dead-lettered.
    """
    digest = hashlib.sha256()
    for part in (group.encode(), _origin(record).encode(), record.key, value):
        if part is None:
            digest.update(b"\x00")
        else:
            digest.update(b"\x01" + len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:32]


class DeadLetterOutcome(StrEnum):
    """What became of a dead letter."""

    PUBLISHED = "published"  # whole
    TRUNCATED = "truncated"  # with what was too large cut (see the module docstring)
    ALREADY = "already"  # this record was dead-lettered before by this group: not published again
    REVOKED = "revoked"  # the partition was revoked first: not published, its new owner decides


@dataclass(frozen=True)
class DeadLetterPolicy:
    """Backoff of a letter the broker does not accept yet, and the producer's request size.

    `attempts`: failed tries after which a letter counts as waiting (it is still retried, whole).
    """

    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_request_bytes: int = DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES

    def delay(self, failures: int) -> float:
        return float(min(self.max_delay_s, self.base_delay_s * 2 ** max(0, failures - 1)))


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
                    for _, waiters in batch.values():
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_exception(exc)
                    continue
                for key, (_, waiters) in batch.items():
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(results[key])
        except asyncio.CancelledError:
            pending, self._pending = self._pending, {}
            for _, waiters in pending.values():
                for waiter in waiters:
                    waiter.cancel()
            raise


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
    async def recall(self, letter_id: str) -> bool:
        return False

    async def remember(self, letter_id: str, facts: dict[str, Any]) -> None:
        return None


@dataclass(frozen=True)
class _Letter:
    topic: str
    key: bytes | None
    value: bytes | None
    original: list[tuple[str, bytes | None]]  # the record's own headers, earlier context removed
    context: DeadLetterHeaders

    @property
    def headers(self) -> list[tuple[str, bytes | None]]:
        return [*self.original, *self.context.to_kafka_headers()]

    def cut(self, limit: int) -> tuple[_Letter, list[str]]:
        """This letter with each part over `limit` bytes cut, and the names of the parts cut."""
        cut: list[str] = []
        value, key, original = self.value, self.key, self.original
        if value is not None and len(value) > limit:
            value, cut = value[:limit], [*cut, "value"]
        if key is not None and len(key) > limit:
            key, cut = key[:limit], [*cut, "key"]
        if sum(len(name) + len(data or b"") for name, data in original) > limit:
            original, cut = [], [*cut, "headers"]
        context = self.context
        if cut:
            size = len(self.value or b"")
            context = context.model_copy(update={"truncated": ",".join(cut), "original_size": size})
        return _Letter(self.topic, key, value, original, context), cut


class DeadLetterPublisher:
    """Publishes dead letters (bounded, degrading; see the module docstring) and awaits each one."""

    def __init__(
        self,
        producer: AIOKafkaProducer | None = None,
        *,
        policy: DeadLetterPolicy | None = None,
        memory: DeadLetterMemory | None = None,
    ) -> None:
        self._producer = producer
        self.policy = policy or DeadLetterPolicy()
        self._memory: DeadLetterMemory = memory or _NoMemory()
        self.waiting = 0  # letters whose whole form failed and which are not published yet

    def attach(self, producer: AIOKafkaProducer, memory: DeadLetterMemory | None = None) -> None:
        """Give the publisher its producer (and memory) once the runtime has started them."""
        self._producer = producer
        if memory is not None:
            self._memory = memory

    async def publish(
        self,
        record: _Record,
        value: bytes | None,
        *,
        code: str,
        message: str,
        attempts: int,
        group: str = "",
        owned: Callable[[], bool] = lambda: True,
    ) -> DeadLetterOutcome:
        """Publish the record's dead letter; returns once it is confirmed (or known to exist), or
        `REVOKED` when `owned()` said before a try that this process no longer owns the record."""
        letter_id = dead_letter_id(record, value, group)
        if await self._memory.recall(letter_id):
            log.info(
                "already dead-lettered %s[%d]@%d; not publishing it again",
                record.topic,
                record.partition,
                record.offset,
                extra={"error_code": code},
            )
            return DeadLetterOutcome.ALREADY
        context = _context(
            record,
            code=code,
            message=message,
            attempts=attempts,
            dead_letter_id=letter_id,
            consumer_group=group or None,
        )
        original = [(n, v) for n, v in record.headers if n not in DEAD_LETTER_HEADER_NAMES]
        letter = _Letter(dead_letter_topic(record.topic), record.key, value, original, context)
        outcome = DeadLetterOutcome.PUBLISHED
        try:
            sent = await self._send_until_accepted(letter, owned)
            for limit in (TRUNCATED_PART_BYTES, 0):
                if sent is not None:
                    break
                cut, parts = letter.cut(limit)
                outcome = DeadLetterOutcome.TRUNCATED if parts else outcome
                sent = await self._send_until_accepted(cut, owned)
        except _NotOwned:
            where = f"{record.topic}[{record.partition}]@{record.offset}"
            log.info("not dead-lettering %s: its partition was revoked, the new owner redelivers it", where)
            return DeadLetterOutcome.REVOKED
        if sent is None:
            raise RuntimeError(f"{letter.topic} refuses even an empty dead letter as too large")
        facts = {
            "origin": _origin(record),
            "group": group,
            "code": code,
            "outcome": outcome.value,
            "dead_letter": f"{letter.topic}/{sent[0]}/{sent[1]}",
            "at": datetime.now(UTC),
        }
        await self._memory.remember(letter_id, facts)
        log.warning(
            "dead-lettered %s[%d]@%d to %s (%s): %s",
            record.topic,
            record.partition,
            record.offset,
            letter.topic,
            outcome.value,
            code,
            extra={"error_code": code, "attempts": attempts},
        )
        return outcome

    async def _send(self, letter: _Letter) -> tuple[int, int]:
        if self._producer is None:
            raise RuntimeError("dead-letter producer not started")
        metadata = await self._producer.send_and_wait(
            letter.topic, value=letter.value, key=letter.key, headers=letter.headers
        )
        return metadata.partition, metadata.offset

    async def _send_until_accepted(
        self, letter: _Letter, owned: Callable[[], bool]
    ) -> tuple[int, int] | None:
        """Publish `letter` however long the broker is unavailable; None if it is too large.

        Raises `_NotOwned` when, before a try, `owned()` says the partition was revoked.
        """
        failures = 0
        try:
            while True:
                if not owned():
                    raise _NotOwned
                try:
                    return await self._send(letter)
                except _TOO_LARGE as exc:  # before _UNAVAILABLE: these are KafkaErrors too
                    log.warning("dead letter too large for %s, cutting it: %s", letter.topic, exc)
                    return None
                except _UNAVAILABLE as exc:
                    failures += 1
                    if failures == self.policy.attempts:
                        self.waiting += 1
                    log.warning(
                        "dead letter not accepted by %s yet (%d), retrying it whole: %r",
                        letter.topic,
                        failures,
                        exc,
                    )
                    await asyncio.sleep(self.policy.delay(failures))
        finally:
            if failures >= self.policy.attempts:
                self.waiting -= 1


class _NotOwned(Exception):
    """The record's partition was revoked before its dead letter went out."""
