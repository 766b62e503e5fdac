"""`omctl replay`: make a consumer group read a topic again from a UTC time or an offset.

Two paths:

* reset (default): the group's committed offsets are moved back; refused while the group has
  members, because a running consumer would overwrite them (stop the service, replay, start it).
* `--via-replay-topic`: the records of the window (from the target to the group's committed
  offset) are re-published to the same topic with their original key, value and headers (plus
  `x-replayed-from`), so a running service reads them again without stopping. Safe because every
  handler is idempotent (deterministic external ids, upserts keyed by business ids).

A supplier's events all live in one partition (key = supplier id, murmur2 like Kafka's default
partitioner), so `--supplier` narrows the reset to that partition; other suppliers sharing it are
re-read too (harmless, idempotent). With `--via-replay-topic` only that supplier's records are
re-published.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from aiokafka import TopicPartition
from rich.progress import Progress

from omctl import _kafka
from omctl._settings import OpsSettings


class ReplayRefused(RuntimeError):
    """The replay cannot be done as asked (active members, unknown topic...)."""


@dataclass(frozen=True)
class PartitionPlan:
    partition: int
    committed: int | None
    target: int
    log_end: int

    @property
    def rereads(self) -> int:
        """How many records the group will read again (0 when the target is ahead of it)."""
        current = self.committed if self.committed is not None else self.log_end
        return max(0, current - self.target)


@dataclass(frozen=True)
class ReplayPlan:
    topic: str
    group: str
    supplier_id: str | None
    partitions: tuple[PartitionPlan, ...]
    group_state: str
    members: int

    @property
    def total(self) -> int:
        return sum(p.rereads for p in self.partitions)

    def as_dict(self) -> dict[str, object]:
        return {
            "topic": self.topic,
            "group": self.group,
            "supplier_id": self.supplier_id,
            "group_state": self.group_state,
            "members": self.members,
            "total": self.total,
            "partitions": [asdict(p) | {"rereads": p.rereads} for p in self.partitions],
        }


async def groups_reading(settings: OpsSettings, topic: str, prefix: str) -> list[str]:
    """Consumer groups whose id starts with prefix and that committed offsets on the topic."""
    async with _kafka.reader(settings) as consumer, _kafka.admin_client(settings) as admin:
        try:
            partitions = await _kafka.partitions_of(consumer, topic)
        except LookupError as exc:
            raise ReplayRefused(str(exc)) from exc
        found = []
        for group_id, *_ in await admin.list_consumer_groups():
            if str(group_id).startswith(prefix):
                committed = await _kafka.committed_offsets(admin, str(group_id), partitions)
                if any(offset is not None for offset in committed.values()):
                    found.append(str(group_id))
    return sorted(found)


async def plan(
    settings: OpsSettings,
    *,
    topic: str,
    group: str,
    at: datetime | None = None,
    offset: int | None = None,
    supplier_id: str | None = None,
) -> ReplayPlan:
    """Per partition: the committed offset, the target and how many records will be re-read."""
    if (at is None) == (offset is None):
        raise ReplayRefused("give exactly one of --at (UTC time) or --offset")
    if at is not None and at.tzinfo is None:
        raise ReplayRefused("--at must carry an explicit UTC offset, e.g. 2026-11-24T09:00:00Z")
    async with _kafka.reader(settings) as consumer, _kafka.admin_client(settings) as admin:
        try:
            partitions = await _kafka.partitions_of(consumer, topic)
        except LookupError as exc:
            raise ReplayRefused(str(exc)) from exc
        if supplier_id is not None:
            partitions = [partitions[_kafka.partition_for_key(supplier_id, len(partitions))]]
        ends = await _kafka.log_ends(consumer, partitions)
        starts = await consumer.beginning_offsets(partitions)
        if at is not None:
            targets = await _kafka.offsets_at(consumer, partitions, int(at.timestamp() * 1000))
        else:
            assert offset is not None
            if offset < 0 or all(offset > ends[tp] for tp in partitions):
                held = ", ".join(f"{tp.partition}: {starts[tp]}..{ends[tp]}" for tp in partitions)
                raise ReplayRefused(
                    f"--offset {offset} is outside every partition of {topic} (first..end per partition: {held})"
                )
            targets = {tp: min(max(offset, starts[tp]), ends[tp]) for tp in partitions}
        committed = await _kafka.committed_offsets(admin, group, partitions)
        state = await _kafka.group_state(admin, group)
    if not state.active and all(c is None for c in committed.values()):
        # a typo in --group would otherwise create a new group at the target and say done
        raise ReplayRefused(
            f"group {group!r} has never committed an offset on {topic}: check the name "
            "(`omctl status` lists the groups and the topics they read)"
        )
    return ReplayPlan(
        topic=topic,
        group=group,
        supplier_id=supplier_id,
        partitions=tuple(
            PartitionPlan(tp.partition, committed[tp], targets[tp], ends[tp]) for tp in partitions
        ),
        group_state=state.state,
        members=len(state.members),
    )


async def reset(settings: OpsSettings, replay: ReplayPlan, *, probe_members: bool = False) -> None:
    """Move the group's committed offsets to the plan's targets; the group must have no live member.

    By default any member listed by DescribeGroups refuses the reset. Some brokers (the embedded
    tansu) keep listing the last member after it left; `probe_members` then checks by joining the
    group: a live member keeps its partitions and the reset is refused without committing.
    """
    async with _kafka.admin_client(settings) as admin:
        state = await _kafka.group_state(admin, replay.group)
    advice = "stop the service first, or use --via-replay-topic to re-publish the window while it runs"
    if state.active and not probe_members:
        raise ReplayRefused(f"group {replay.group} has {len(state.members)} active member(s): {advice}")
    offsets = {TopicPartition(replay.topic, p.partition): p.target for p in replay.partitions}
    if not await _kafka.commit_as_group(settings, replay.group, offsets):
        raise ReplayRefused(f"group {replay.group} has a live member holding partitions: {advice}")


async def republish(settings: OpsSettings, replay: ReplayPlan, *, progress: bool = True) -> int:
    """Re-publish the window's records to the same topic with their original keys; returns the count."""
    wanted_key = replay.supplier_id.encode() if replay.supplier_id is not None else None
    sent = 0
    async with _kafka.reader(settings) as consumer, _kafka.producer(settings) as sender:
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"re-publishing {replay.topic}", total=replay.total)
            for part in replay.partitions:
                if part.rereads == 0:
                    continue
                tp = TopicPartition(replay.topic, part.partition)
                stop = part.committed if part.committed is not None else part.log_end
                async for record in _kafka.read_range(consumer, tp, part.target, stop):
                    bar.advance(task)
                    if wanted_key is not None and record.key != wanted_key:
                        continue
                    headers = [(k, v) for k, v in record.headers if k != "x-replayed-from"]
                    headers.append(
                        ("x-replayed-from", f"{record.topic}/{record.partition}/{record.offset}".encode())
                    )
                    await sender.send_and_wait(
                        replay.topic, value=record.value, key=record.key, headers=headers
                    )
                    sent += 1
    return sent
