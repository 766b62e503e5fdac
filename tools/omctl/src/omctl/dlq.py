"""`omctl dlq`: list, show, redrive and purge dead letters (`<topic>.dlq`, CONTRACTS.md).

A dead letter keeps the original key, value and headers and adds the `x-error-*`/`x-original-*`
context. Redrive publishes the original record (key, value, headers without the context, plus
`x-redriven-from`) to `x-original-topic`; the service handles it again like any event, which is
safe because handlers are idempotent.

Kafka has no way to delete one record, and the embedded broker has no DeleteRecords, so omctl
keeps its own ledger of resolved dead letters in MongoDB (database `OMCTL_MONGODB_DATABASE`,
collection `dlq_resolved`, `_id` = `<dlq topic>/<partition>/<offset>`, `action` = `redriven` or
`purged`). `list` and `redrive` skip resolved letters unless `--all`; the records themselves age
out with the dead-letter topic's retention.

Each letter carries `x-dead-letter-id`, the same for every letter of one record by one consumer
group. The services remember the ids they published and do not publish one twice; should a crash
let a second copy through, `list`, `redrive` and `purge` treat letters sharing an id as one (the
oldest is shown, with `copies`; resolving it resolves every copy).

A letter too large for its topic was published cut (`x-truncated`, `x-original-size`); `show`
says so, and `redrive` sends the whole original record, read back from `x-original-topic`/
`-partition`/`-offset`. Once that topic's retention has removed it the record cannot be redriven
from here; `redrive` names such letters and leaves them unresolved.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pymongo import UpdateOne
from rich.console import Console
from rich.progress import Progress

from om_contracts import DEAD_LETTER_HEADER_NAMES, TOPICS, dead_letter_topic
from omctl import _kafka
from omctl._mongo import mongo
from omctl._settings import OpsSettings

RESOLVED = "dlq_resolved"
DLQ_SUFFIX = ".dlq"
warnings = Console(stderr=True)


def default_dlq_topics() -> list[str]:
    """The dead-letter topics of every topic the services consume."""
    return [dead_letter_topic(t.name) for t in TOPICS if t.direction == "inbound"]


@dataclass
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    resolved: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    copies: list[str] = field(default_factory=list)  # refs of later letters with the same id

    @property
    def ref(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"

    @property
    def refs(self) -> list[str]:
        """This letter's ref and those of its copies (what resolving it marks)."""
        return [self.ref, *self.copies]

    @property
    def dead_letter_id(self) -> str | None:
        return self.context.get("x-dead-letter-id")

    @property
    def truncated(self) -> str | None:
        """What was cut from the letter to fit its topic (None when it is whole)."""
        return self.context.get("x-truncated")

    def original_coordinates(self) -> tuple[TopicPartition, int] | None:
        try:
            partition = int(self.context["x-original-partition"])
            offset = int(self.context["x-original-offset"])
        except (KeyError, ValueError):
            return None
        return TopicPartition(self.original_topic, partition), offset

    @property
    def supplier_id(self) -> str | None:
        return self.key.decode("utf-8", "replace") if self.key is not None else None

    @property
    def code(self) -> str:
        return self.context.get("x-error-code", "")

    @property
    def failed_at(self) -> datetime | None:
        raw = self.context.get("x-failed-at")
        try:
            return datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return None

    @property
    def original_topic(self) -> str:
        return self.context.get("x-original-topic") or self.topic.removesuffix(DLQ_SUFFIX)

    def payload(self) -> Any:
        if self.value is None:
            return None
        try:
            return json.loads(self.value)
        except ValueError:
            return self.value.decode("utf-8", "replace")

    def summary(self) -> dict[str, Any]:
        body = self.payload()
        return {
            "ref": self.ref,
            "supplier_id": self.supplier_id,
            "event_type": body.get("event_type") if isinstance(body, dict) else None,
            "event_id": body.get("event_id") if isinstance(body, dict) else None,
            "code": self.code,
            "message": self.context.get("x-error-message", ""),
            "failed_at": self.failed_at,
            "attempts": self.context.get("x-attempts"),
            "original": f"{self.original_topic}/{self.context.get('x-original-partition')}/"
            f"{self.context.get('x-original-offset')}",
            "resolved": self.resolved,
            "dead_letter_id": self.dead_letter_id,
            "consumer_group": self.context.get("x-consumer-group"),
            "copies": len(self.copies),
            "truncated": self.truncated,
            "original_size": self.context.get("x-original-size"),
        }

    def detail(self) -> dict[str, Any]:
        return self.summary() | {
            "headers": {k: None if v is None else v.decode("utf-8", "replace") for k, v in self.headers},
            "payload": self.payload(),
        }

    def original_headers(
        self, headers: list[tuple[str, bytes | None]] | None = None
    ) -> list[tuple[str, bytes | None]]:
        """The record's own headers (the letter's, or `headers` read from the original) plus where it came from."""
        source = self.headers if headers is None else headers
        kept = [(k, v) for k, v in source if k not in DEAD_LETTER_HEADER_NAMES and k != "x-redriven-from"]
        return [*kept, ("x-redriven-from", self.ref.encode())]


@dataclass(frozen=True)
class Selection:
    supplier_id: str | None = None
    code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_resolved: bool = False

    def matches(self, letter: DeadLetter) -> bool:
        if letter.resolved and not self.include_resolved:
            return False
        if self.supplier_id is not None and letter.supplier_id != self.supplier_id:
            return False
        if self.code is not None and letter.code != self.code:
            return False
        when = letter.failed_at
        if self.since is not None and (when is None or when < self.since):
            return False
        return not (self.until is not None and (when is None or when >= self.until))


def _letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers: list[tuple[str, bytes | None]] = list(record.headers)
    context = {
        k: v.decode("utf-8", "replace") for k, v in headers if k in DEAD_LETTER_HEADER_NAMES and v is not None
    }
    return DeadLetter(
        record.topic, record.partition, record.offset, record.key, record.value, headers, context=context
    )


def _collapse_copies(letters: list[DeadLetter]) -> list[DeadLetter]:
    """One letter per `x-dead-letter-id` (the first read), the others listed as its copies."""
    first: dict[str, DeadLetter] = {}
    kept: list[DeadLetter] = []
    for letter in letters:
        key = letter.dead_letter_id
        if key is not None and key in first:
            first[key].copies.append(letter.ref)
            continue
        if key is not None:
            first[key] = letter
        kept.append(letter)
    return kept


async def scan(
    settings: OpsSettings, topics: Sequence[str], selection: Selection, *, named: bool = False
) -> list[DeadLetter]:
    """Every dead letter of the topics that matches the selection, oldest first per partition.

    `named`: the operator named the topics; one that does not exist is refused (LookupError)
    instead of skipped as a default dead-letter topic nothing was ever published to is.
    """
    letters: list[DeadLetter] = []
    if named:
        wrong = [t for t in topics if not t.endswith(DLQ_SUFFIX)]
        if wrong:
            raise LookupError(f"{', '.join(map(repr, wrong))}: not a dead-letter topic (<topic>{DLQ_SUFFIX})")
    async with _kafka.reader(settings) as consumer:
        for topic in topics:
            try:
                partitions = await _kafka.partitions_of(consumer, topic)
            except LookupError:
                if named:
                    raise
                continue
            if selection.supplier_id is not None:
                partitions = [partitions[_kafka.partition_for_key(selection.supplier_id, len(partitions))]]
            starts = await consumer.beginning_offsets(partitions)
            ends = await _kafka.log_ends(consumer, partitions)
            for tp in partitions:
                letters.extend(
                    [_letter(r) async for r in _kafka.read_range(consumer, tp, starts[tp], ends[tp])]
                )
    letters = _collapse_copies(letters)
    async with mongo(settings) as client:
        resolved = client[settings.omctl_mongodb_database][RESOLVED]
        refs = [ref for letter in letters for ref in letter.refs]
        actions: dict[str, str] = {}
        for start in range(0, len(refs), 1000):
            async for doc in resolved.find({"_id": {"$in": refs[start : start + 1000]}}, {"action": 1}):
                actions[doc["_id"]] = doc["action"]
    for letter in letters:
        letter.resolved = next((actions[ref] for ref in letter.refs if ref in actions), None)
    return [letter for letter in letters if selection.matches(letter)]


async def fetch(settings: OpsSettings, ref: str) -> DeadLetter:
    """One dead letter by `<dlq topic>/<partition>/<offset>`.

    The topic, partition and offset are checked against the broker first (LookupError naming what
    exists), so a reference past the log end is refused at once instead of waiting for a record.
    """
    topic, _, rest = ref.rpartition("/")
    topic, _, partition = topic.rpartition("/")
    try:
        tp, offset = TopicPartition(topic, int(partition)), int(rest)
    except ValueError:
        raise LookupError(f"{ref!r} is not <dlq topic>/<partition>/<offset>") from None
    if not topic.endswith(DLQ_SUFFIX):
        raise LookupError(
            f"{topic!r} is not a dead-letter topic (<topic>{DLQ_SUFFIX}): give a ref from `dlq list`"
        )
    async with _kafka.reader(settings) as consumer:
        start, end = await _kafka.bounds(consumer, tp)
        if not start <= offset < end:
            held = f"offsets {start} to {end - 1}" if end > start else "no record"
            raise LookupError(f"no dead letter at {ref}: {topic}/{tp.partition} holds {held}")
        async for record in _kafka.read_range(consumer, tp, offset, offset + 1):
            letter = _letter(record)
            break
        else:  # compacted away or deleted between the two reads
            raise LookupError(f"no dead letter at {ref}")
    async with mongo(settings) as client:
        doc = await client[settings.omctl_mongodb_database][RESOLVED].find_one({"_id": letter.ref})
    letter.resolved = doc["action"] if doc else None
    return letter


async def _mark(settings: OpsSettings, letters: Iterable[DeadLetter], action: str) -> None:
    now = datetime.now(UTC)
    requests = [
        UpdateOne(
            {"_id": ref},
            {"$set": {"action": action, "at": now, "supplier_id": letter.supplier_id, "code": letter.code}},
            upsert=True,
        )
        for letter in letters
        for ref in letter.refs
    ]
    if requests:
        async with mongo(settings) as client:
            await client[settings.omctl_mongodb_database][RESOLVED].bulk_write(requests, ordered=False)


async def _whole_record(
    consumer: AIOKafkaConsumer, letter: DeadLetter
) -> ConsumerRecord[bytes, bytes] | None:
    """The original record of a cut letter, read back from its coordinates; None once it is gone."""
    coordinates = letter.original_coordinates()
    if coordinates is None:
        return None
    tp, offset = coordinates
    try:
        start, end = await _kafka.bounds(consumer, tp)
    except LookupError:
        return None  # the topic or partition is gone
    if not start <= offset < end:
        return None  # removed by retention (or never there): nothing to wait for
    async for record in _kafka.read_range(consumer, tp, offset, offset + 1):
        return record if record.offset == offset else None
    return None


async def redrive(settings: OpsSettings, letters: Sequence[DeadLetter], *, progress: bool = True) -> int:
    """Publish each letter's original record back to its source topic with its original key.

    A cut letter (`x-truncated`) is redriven from its original record; if retention removed it,
    the letter is named on stderr and left unresolved.
    """
    done: list[DeadLetter] = []
    originals = await _originals(settings, [letter for letter in letters if letter.truncated])
    try:
        async with _kafka.producer(settings) as sender:
            with Progress(disable=not progress, transient=True) as bar:
                task = bar.add_task("redriving", total=len(letters))
                for letter in letters:
                    bar.advance(task)
                    key, value, headers = letter.key, letter.value, letter.original_headers()
                    if letter.truncated:
                        whole = originals.get(letter.ref)
                        if whole is None:
                            warnings.print(
                                f"{letter.ref}: the letter was cut and its original record is gone "
                                "(retention); not redriven"
                            )
                            continue
                        key, value = whole.key, whole.value
                        headers = letter.original_headers(list(whole.headers))
                    await sender.send_and_wait(letter.original_topic, value=value, key=key, headers=headers)
                    done.append(letter)
    finally:
        # what was published is recorded even if a later one failed, so a retry does not double it
        await _mark(settings, done, "redriven")
    return len(done)


async def _originals(
    settings: OpsSettings, letters: Sequence[DeadLetter]
) -> dict[str, ConsumerRecord[bytes, bytes]]:
    """The original record of each cut letter still in its topic, by the letter's ref."""
    if not letters:
        return {}
    found: dict[str, ConsumerRecord[bytes, bytes]] = {}
    async with _kafka.reader(settings) as consumer:
        for letter in letters:
            whole = await _whole_record(consumer, letter)
            if whole is not None:
                found[letter.ref] = whole
    return found


async def purge(settings: OpsSettings, letters: Sequence[DeadLetter]) -> int:
    """Mark letters as purged: they no longer show in list or redrive (see the module docstring)."""
    await _mark(settings, letters, "purged")
    return len(letters)
