"""The partition side of `TopicConsumer`: back-pressure, commits, rebalances, drain and lag.

Offsets are committed by a background committer, per partition, only up to the oldest record not
yet finished (`PartitionOffsets`). When a partition has `max_in_flight` unfinished records it is
paused (aiokafka keeps polling, so the group membership stays healthy) and resumed below half of
that. Before partitions are revoked their work is stopped and what finished is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from om_platform.adapters.kafka._lanes import LaneScheduler
from om_platform.adapters.kafka._offsets import PartitionOffsets
from om_platform.core.tasks import cancel_and_wait
from om_platform.metrics import Metrics

if TYPE_CHECKING:
    from om_platform.adapters.kafka._consumer import ConsumerOptions

log = logging.getLogger(__name__)


@dataclass
class _Job:
    """A record's job running on a lane task: cancelled when its partition is revoked."""

    task: asyncio.Task[Any]
    in_attempt: bool = False
    revoked: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def cancel(self) -> None:
        if not self.ended.is_set() and not self.revoked:
            self.revoked = True
            self.task.cancel()


class PartitionFlow:
    """The partition half of `TopicConsumer` (which sets every attribute declared here)."""

    topic: str
    subscriber: Any
    _options: ConsumerOptions
    _metrics: Metrics
    _offsets: dict[TopicPartition, PartitionOffsets]
    _paused: set[TopicPartition]
    _revoking: set[TopicPartition]
    _jobs: dict[TopicPartition, dict[asyncio.Task[Any], _Job]]
    _scheduler: LaneScheduler
    _consumer: Any
    _commit_wakeup: asyncio.Event
    _committer: asyncio.Task[None] | None
    _stopping: bool

    def _pause(self, tp: TopicPartition) -> None:
        if self._consumer is not None:
            self._consumer.pause(tp)
        self._paused.add(tp)
        self._metrics.paused_partitions.labels(self.topic).set(len(self._paused))

    def _resume(self, tp: TopicPartition) -> None:
        self._paused.discard(tp)
        if self._consumer is not None and tp in self._consumer.assignment():
            self._consumer.resume(tp)
        self._metrics.paused_partitions.labels(self.topic).set(len(self._paused))

    async def start(self) -> None:
        """Start the committer (the subscriber itself is started by the broker)."""
        self._stopping = False
        self._committer = asyncio.create_task(self._commit_loop(), name=f"committer:{self.topic}")

    async def _commit_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._commit_wakeup.wait(), self._options.commit_interval_s)
            self._commit_wakeup.clear()
            # Coalesce bursts of completions into one commit per interval.
            await asyncio.sleep(self._options.commit_interval_s / 5)
            await self.commit(self._offsets.keys())

    async def commit(self, partitions: Iterable[TopicPartition]) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        pending = {}
        for tp in list(partitions):
            offsets = self._offsets.get(tp)
            position = offsets.committable() if offsets else None
            if offsets is not None and position is not None and tp in assigned:
                pending[tp] = (offsets, position)
        if not pending:
            return
        try:
            await consumer.commit({tp: position for tp, (_, position) in pending.items()})
        except CommitFailedError as exc:
            # A rebalance took the partitions away; their new owner redelivers from the last
            # committed position, and idempotent handlers make that harmless.
            log.warning("commit refused after a rebalance: %s", exc)
            return
        except KafkaError as exc:
            log.warning("commit failed, will retry: %s", exc)
            return
        for offsets, position in pending.values():
            offsets.mark_committed(position)

    async def drain(self, timeout: float) -> bool:
        """Graceful shutdown: stop taking records, finish in-flight work, commit what is done.

        Work still running after `timeout` is cancelled without committing past it, so it is
        redelivered to whoever owns the partition next. Returns True when everything finished.
        """
        self._stopping = True
        if self._consumer is not None:
            for tp in self._consumer.assignment():
                self._pause(tp)
        finished = await self._scheduler.wait_idle(timeout)
        if not finished:
            log.warning("shutdown: %d record(s) still in flight are abandoned", self._scheduler.running)
            await self._scheduler.cancel_all()
        await self.commit(list(self._offsets.keys()))
        if self._committer is not None:
            await cancel_and_wait([self._committer])
        return finished

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Before losing partitions, stop their work and commit what finished.

        Jobs waiting to retry (or to start, or to publish a dead letter) are cancelled at once; an
        attempt under way gets until `revoke_timeout_s` to end (it then neither retries nor
        dead-letters), and is cancelled after. None of them publishes a dead letter once the revoke
        began, and none is left when the partition goes: their records stay uncommitted, so the
        new owner redelivers them (handlers are idempotent).
        """
        owned = {tp for tp in revoked if tp in self._offsets}
        self._revoking |= owned
        jobs = [job for tp in owned for job in self._jobs.get(tp, {}).values()]
        for job in jobs:
            if not job.in_attempt:
                job.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._options.revoke_timeout_s
        while any(job.in_attempt and not job.ended.is_set() for job in jobs) and loop.time() < deadline:
            self._commit_wakeup.clear()
            try:
                await asyncio.wait_for(self._commit_wakeup.wait(), deadline - loop.time())
            except TimeoutError:
                break
        for job in jobs:
            job.cancel()
        if jobs:
            await asyncio.wait([asyncio.create_task(job.ended.wait()) for job in jobs], timeout=5.0)
        await self.commit(revoked)
        for tp in revoked:
            self._offsets.pop(tp, None)
            self._jobs.pop(tp, None)
            self._paused.discard(tp)
        self._revoking -= owned
        self._metrics.paused_partitions.labels(self.topic).set(len(self._paused))

    def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        for tp in assigned:
            self._offsets[tp] = PartitionOffsets()
            self._paused.discard(tp)

    def _in_flight(self, tp: TopicPartition) -> int:
        offsets = self._offsets.get(tp)
        return offsets.in_flight if offsets else 0

    def pending_work(self) -> bool:
        return self.in_flight > 0 or self.lag() > 0

    def lag(self) -> int:
        """Records behind the log end on the partitions this process owns (0 when unknown)."""
        consumer = self._consumer
        if consumer is None:
            return 0
        total = 0
        for tp, offsets in self._offsets.items():
            highwater = consumer.highwater(tp)
            position = offsets.position()
            if highwater is not None and position is not None:
                total += max(0, highwater - position)
        return total

    @property
    def in_flight(self) -> int:
        return sum(o.in_flight for o in self._offsets.values())

    @property
    def jobs_running(self) -> int:
        """Record and dead-letter jobs running in this process (tests, shutdown logs)."""
        return self._scheduler.running

    @property
    def consumer(self) -> Any:
        return self._consumer or getattr(self.subscriber, "consumer", None)


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: PartitionFlow) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._owner._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._owner._on_assigned(set(assigned))
