"""Kafka primitives shared by the commands: partitioning, group state, offsets, reading a range.

Notes on brokers (DESIGN.md): the embedded tansu broker answers `offsets_for_times` for a time
after the last record with offset 0 and timestamp -1 instead of "none"; that is read here as "the
log end". `list_consumer_group_offsets` needs explicit partitions on tansu, so partitions are
always passed. Its ListOffsets(latest) answers the base offset of the last batch plus one, so
a batch of several records looks shorter than it is; `log_ends` reads the high watermark from a
fetch instead, which is right on every broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2

from om_platform.adapters.kafka.security import kafka_client_kwargs
from omctl._settings import OpsSettings


def _client(settings: OpsSettings) -> dict[str, object]:
    """Connection and security arguments (the services' own mapping) with omctl's short timeout."""
    timeout_ms = int(settings.omctl_connect_timeout_s * 1000)
    return kafka_client_kwargs(settings) | {"request_timeout_ms": timeout_ms}


def partition_for_key(key: str | bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as in the Java client) picks for a key."""
    raw = key.encode() if isinstance(key, str) else key
    hashed: int = murmur2(raw)
    return (hashed & 0x7FFFFFFF) % partitions


@asynccontextmanager
async def admin_client(settings: OpsSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(**_client(settings), client_id="omctl")
    try:
        await admin.start()
        yield admin
    finally:
        await admin.close()


@asynccontextmanager
async def reader(settings: OpsSettings) -> AsyncIterator[AIOKafkaConsumer]:
    """A group-less consumer for offsets and reading ranges (it never commits)."""
    consumer = AIOKafkaConsumer(
        **_client(settings), enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()
        yield consumer
    finally:
        await _stop(consumer)


async def _stop(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer; aiokafka's group-less coordinator raises CancelledError from stop() when
    its background task was cancelled before it first ran (a command that fails at once, such as
    an unknown partition): that one is swallowed, a cancellation of omctl itself is not."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


@asynccontextmanager
async def producer(settings: OpsSettings) -> AsyncIterator[AIOKafkaProducer]:
    sender = AIOKafkaProducer(
        **_client(settings),
        enable_idempotence=settings.kafka_enable_idempotence,
        acks="all",
        client_id="omctl",
    )
    try:
        await sender.start()
        yield sender
    finally:
        await sender.stop()


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        await consumer.topics()  # refreshes metadata for topics not seen yet
        parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise LookupError(f"topic {topic!r} does not exist")
    return [TopicPartition(topic, p) for p in sorted(parts)]


@dataclass(frozen=True)
class GroupState:
    state: str
    members: tuple[str, ...]

    @property
    def active(self) -> bool:
        return bool(self.members)


async def group_state(admin: AIOKafkaAdminClient, group: str) -> GroupState:
    """The group's state and member ids (DescribeGroups)."""
    responses = await admin.describe_consumer_groups([group])
    for response in responses:
        for described in response.groups:
            # (error_code, group, state, protocol_type, protocol, members)
            if described[1] == group:
                return GroupState(str(described[2]), tuple(str(m[0]) for m in described[5]))
    return GroupState("Dead", ())


async def committed_offsets(
    admin: AIOKafkaAdminClient, group: str, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int | None]:
    """The group's committed offset per partition (None when it never committed there)."""
    answer = await admin.list_consumer_group_offsets(group, partitions=list(partitions))
    result: dict[TopicPartition, int | None] = dict.fromkeys(partitions)
    for tp, meta in answer.items():
        if tp in result and meta.offset >= 0:
            result[tp] = meta.offset
    return result


async def log_ends(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition], timeout_s: float = 10.0
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition (the high watermark of a fetch)."""
    listed = await consumer.end_offsets(list(partitions))
    ends = {tp: 0 for tp in partitions if listed[tp] == 0}
    pending = [tp for tp in partitions if tp not in ends]
    if not pending:
        return ends
    consumer.assign(pending)
    for tp in pending:
        consumer.seek(tp, listed[tp] - 1)  # inside the last batch: the fetch carries the watermark
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while pending:
        await consumer.getmany(*pending, timeout_ms=200, max_records=1)
        for tp in list(pending):
            high = consumer.highwater(tp)
            if high is not None:
                ends[tp] = max(high, listed[tp])
                pending.remove(tp)
        if loop.time() > deadline:
            raise TimeoutError(f"no high watermark for {pending}")
    return ends


async def offsets_at(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition], timestamp_ms: int
) -> dict[TopicPartition, int]:
    """First offset at or after a broker timestamp per partition; the log end when there is none."""
    ends = await log_ends(consumer, partitions)
    found = await consumer.offsets_for_times(dict.fromkeys(partitions, timestamp_ms))
    result: dict[TopicPartition, int] = {}
    for tp in partitions:
        hit = found.get(tp)
        # tansu answers (0, -1) for "after the last record"
        result[tp] = ends[tp] if hit is None or hit.timestamp < 0 else hit.offset
    return result


async def read_range(
    consumer: AIOKafkaConsumer, tp: TopicPartition, start: int, stop: int, *, stall_s: float = 10.0
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of one partition with start <= offset < stop.

    Bounded: a read that moves no further for `stall_s` (an offset past the log end, a partition
    whose leader is gone) raises TimeoutError instead of polling forever. Callers take `stop` from
    `log_ends`, so a range that exists is read without stalling.
    """
    if start >= stop:
        return
    consumer.assign([tp])
    consumer.seek(tp, start)
    loop = asyncio.get_running_loop()
    last_progress = loop.time()
    while True:
        batch = await consumer.getmany(tp, timeout_ms=1000, max_records=500)
        records = batch.get(tp, [])
        position = await consumer.position(tp)
        if not records and position >= stop:
            return
        if records:
            last_progress = loop.time()
        elif loop.time() - last_progress > stall_s:
            raise TimeoutError(
                f"reading {tp.topic}/{tp.partition} stalled at offset {position} "
                f"(wanted up to {stop - 1}) for {stall_s:.0f}s"
            )
        for record in records:
            if record.offset >= stop:
                return
            yield record
        if records and records[-1].offset >= stop - 1:
            return


async def bounds(consumer: AIOKafkaConsumer, tp: TopicPartition) -> tuple[int, int]:
    """The first offset still in the partition and its log end (the offset after the last record)."""
    partitions = await partitions_of(consumer, tp.topic)
    if tp not in partitions:
        raise LookupError(
            f"topic {tp.topic!r} has no partition {tp.partition} "
            f"(its partitions are 0 to {len(partitions) - 1})"
        )
    start = (await consumer.beginning_offsets([tp]))[tp]
    end = (await log_ends(consumer, [tp]))[tp]
    return start, end


async def commit_as_group(
    settings: OpsSettings, group: str, offsets: dict[TopicPartition, int], *, timeout_s: float = 15.0
) -> bool:
    """Commit offsets for a group by joining it briefly; False (nothing committed) if another member
    keeps any of the partitions.

    A commit from outside the group (generation -1) is refused by some brokers even when the group
    is empty; joining works everywhere. Joining also proves liveness where describe cannot: a
    member that still runs keeps its share of the partitions after the rebalance, a departed one
    (some brokers keep listing it) does not.
    """
    topics = sorted({tp.topic for tp in offsets})
    member = AIOKafkaConsumer(
        *topics,
        **kafka_client_kwargs(settings),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    try:
        await member.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        partial_since: float | None = None
        while not set(offsets) <= member.assignment():
            now = loop.time()
            if member.assignment():
                # a rebalance settles within a few heartbeats; a share that stays partial means
                # another member is alive and holds the rest
                partial_since = partial_since if partial_since is not None else now
                if now - partial_since > 3.0:
                    return False
            if now > deadline:
                return False
            await member.getmany(timeout_ms=100, max_records=1)
        await member.commit(offsets)
        return True
    finally:
        await member.stop()
