"""The consuming half of the Kafka edge: at-least-once, concurrent per tenant, ordered per record.

A FastStream subscriber (ack policy MANUAL, so FastStream never commits) hands every record to
`TopicConsumer._on_record`, which decodes it and schedules it on a `LaneScheduler` lane. The
subscriber returns at once; the poll loop keeps reading other partitions. Offsets are committed by
a background committer, per partition, only up to the oldest record not yet finished
(`PartitionOffsets`), so a crash or rebalance redelivers every record whose effect might not be
durable, and no record is ever skipped.

Raw bytes in, exactly one outcome out: the subscriber's parser wraps the aiokafka record without
reading its headers or value, and its decoder decodes nothing, so no framework code can fail on a
record before the topic's own decoder sees its bytes. FastStream's defaults did both before any
handler ran: `AioKafkaParser.parse_message` decodes every header value as UTF-8 (a null value
raises AttributeError, a binary one UnicodeDecodeError), and the call wrapper awaits
`message.decode()`, i.e. `json.loads` of the value, which lets RecursionError (deep nesting) and
ValueError (over 4,300 digits) through, and every JSON error when a `content-type:
application/json` header is set. FastStream logs such an exception and moves on; the record was
never counted nor dead-lettered, and a later commit passed it. Whatever the topic's own decoder
raises makes an `INVALID_EVENT` dead letter with the reason.

Failures (see `om_platform.core.failures`, classified by `om_platform.adapters.kafka.classify`): transient ones are retried in the record's own task with
full-jitter backoff (`EventRetryPolicy`; the handler sees the attempt number and whether it is the
last in its `RecordContext`); permanent ones, invalid payloads and exhausted retries are
dead-lettered to `<topic>.dlq` and only then count as finished. Publishing a dead letter runs as a
task of its own (`DEAD_LETTER_CONCURRENCY` at once per consumer), never in the record's lane or its
supplier's slot, and is bounded (`_deadletter.py`): a poison record never blocks its partition,
a dead letter that cannot be published as it is never holds up another record, and nothing is
dropped silently.

Back-pressure: when a partition has `max_in_flight` unfinished records it is paused (aiokafka keeps
polling, so the group membership stays healthy) and resumed below half of that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from fast_depends.library import CustomField
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import FAKE_CONSUMER
from faststream.kafka.message import KafkaMessage as KafkaStreamMessage
from opentelemetry.trace import StatusCode

from om_platform.adapters.kafka._deadletter import DeadLetterOutcome, DeadLetterPublisher
from om_platform.adapters.kafka._lanes import LaneScheduler
from om_platform.adapters.kafka._offsets import PartitionOffsets
from om_platform.adapters.kafka._retry import EventRetryPolicy
from om_platform.adapters.kafka.classify import classify, error_code
from om_platform.core.failures import FailureKind, InvalidEvent
from om_platform.core.records import Decoded, Decoder, Handler, RecordContext, Skip
from om_platform.logging import bind_event
from om_platform.metrics import Metrics
from om_platform.tracing import Tracing

log = logging.getLogger(__name__)

PayloadT = TypeVar("PayloadT")


class _CurrentMessage(CustomField):
    """FastStream's current message, resolved on the event loop.

    fast_depends runs a custom field's synchronous `use` in a worker thread: with
    `faststream.kafka.KafkaMessage` (`Context("message")`) every record cost a thread round trip on
    the poll loop (measured in a profile of order_sync). Looking the message up in FastStream's
    context is a dict lookup; as a coroutine it runs in the loop.
    """

    def __init__(self) -> None:
        super().__init__(cast=False, required=True)

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        assert self.param_name is not None
        kwargs[self.param_name] = kwargs["context__"].resolve("message")
        return kwargs


KafkaMessage = Annotated[KafkaStreamMessage, _CurrentMessage()]
"""The record's FastStream message, as handler parameter (resolved without a thread)."""

DEAD_LETTER_CONCURRENCY = 16
"""Dead letters one consumer publishes at once (each in its own task, outside every lane)."""

DECODE_INLINE_BYTES = 65_536
"""Values up to this size are decoded on the event loop (well under a millisecond); larger ones in
a worker thread (the edge awaits it, so records of a partition are still taken in order)."""

_DEAD_LETTERS = "\x00dead-letters"  # the scheduler tenant of dead letters: never a supplier id
MAX_DECODER_REASON = 300


@dataclass(frozen=True)
class ConsumerOptions:
    """Tuning knobs of one consumer (filled from the service settings)."""

    group_id: str
    max_in_flight: int = 1000
    commit_interval_s: float = 0.5
    retry: EventRetryPolicy = field(default_factory=EventRetryPolicy)
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    group_instance_id: str | None = None
    revoke_timeout_s: float = 10.0
    fetch_max_wait_ms: int = 500


class TopicConsumer(Generic[PayloadT]):
    """One topic's subscription with the guarantees described in the module docstring."""

    def __init__(
        self,
        broker: KafkaBroker,
        topic: str,
        *,
        decode: Decoder[PayloadT],
        handle: Handler[PayloadT],
        options: ConsumerOptions,
        dead_letters: DeadLetterPublisher,
        metrics: Metrics,
        limit_for: Callable[[str], int] = lambda _tenant: 1,
        title: str | None = None,
        description: str | None = None,
        tracing: Tracing | None = None,
        ready: asyncio.Event | None = None,
    ) -> None:
        self.topic = topic
        # Records are taken and scheduled at once, but none is handled before `ready` is set (the
        # runtime's cold-start gate: the integrations projection caught up with its topic).
        self._ready = ready
        self._tracing = tracing if tracing is not None else Tracing(topic)
        self._decode = decode
        self._handle = handle
        self._options = options
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._limit_for = limit_for
        self._offsets: dict[TopicPartition, PartitionOffsets] = {}
        self._paused: set[TopicPartition] = set()
        self._revoking: set[TopicPartition] = set()
        self._jobs: dict[TopicPartition, dict[asyncio.Task[Any], _Job]] = {}
        self._scheduler = LaneScheduler(on_crash=self._on_job_crash)
        self._consumer: Any = None
        self._commit_wakeup = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._stopping = False
        self.last_progress = time.monotonic()
        self.crashed: BaseException | None = None

        self.subscriber = broker.subscriber(
            topic,
            group_id=options.group_id,
            group_instance_id=options.group_instance_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset=options.auto_offset_reset,
            session_timeout_ms=options.session_timeout_ms,
            heartbeat_interval_ms=options.heartbeat_interval_ms,
            max_poll_interval_ms=options.max_poll_interval_ms,
            fetch_max_wait_ms=options.fetch_max_wait_ms,
            listener=_Rebalance(self),
            title=title or f"{topic}:consume",
            description=description,
            parser=self._wrap_record,
            decoder=_decode_nothing,
        )
        self.subscriber(self._on_record)

    async def _wrap_record(self, record: ConsumerRecord[bytes, bytes]) -> KafkaStreamMessage:
        """FastStream's message around the raw record, with nothing read from its headers or value.

        A coroutine on purpose: FastStream runs a plain function parser in a worker thread.
        """
        consumer = getattr(self.subscriber, "consumer", None) or FAKE_CONSUMER
        return KafkaStreamMessage(
            raw_message=record,
            body=b"",
            message_id=f"{record.partition}-{record.offset}",
            correlation_id=f"{record.topic}-{record.partition}-{record.offset}",
            consumer=consumer,
        )

    # -- poll loop side -------------------------------------------------------------------------

    async def _on_record(self, message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)  # batch mode is never configured here
        self._consumer = message.consumer
        if self._stopping:
            return  # draining: leave it uncommitted, so whoever owns the partition next reads it
        self.last_progress = time.monotonic()
        tp = TopicPartition(record.topic, record.partition)
        offsets = self._offsets.setdefault(tp, PartitionOffsets())
        offsets.started(record.offset)
        ctx = RecordContext(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            headers=tuple(record.headers or ()),
            timestamp_ms=record.timestamp,
        )
        try:
            value = record.value
            if value is not None and len(value) > DECODE_INLINE_BYTES:
                # Bounded (om_contracts limits), but a large value still costs milliseconds of
                # CPU: off the loop, so heartbeats, lease renewals and health checks keep time.
                decoded = await asyncio.to_thread(self._decode, value, ctx)
            else:
                decoded = self._decode(value, ctx)
        except Exception as exc:  # whatever a decoder raises, the record cannot be understood
            invalid = exc if isinstance(exc, InvalidEvent) else _decoder_failure(exc)
            self._track(tp, offsets)
            self._dead_letter(_InFlight(tp, offsets, record.value, ctx, invalid, attempts=1))
            return
        if isinstance(decoded, Skip):
            log.info("event skipped: %s", decoded.reason, extra={"topic": self.topic})
            self._metrics.events_consumed.labels(self.topic, "skipped").inc()
            offsets.finished(record.offset)
            self._commit_wakeup.set()
            return
        self._track(tp, offsets)
        work = self._process_job(decoded, _InFlight(tp, offsets, record.value, ctx, None, attempts=0))
        limit = self._limit_for(decoded.tenant)
        self._scheduler.submit(decoded.tenant, decoded.lane, work, limit)

    def _track(self, tp: TopicPartition, offsets: PartitionOffsets) -> None:
        """Count a record as in flight until `_finish`; pause its partition when too much is."""
        self._metrics.in_flight.labels(self.topic).inc()
        if offsets.in_flight >= self._options.max_in_flight and tp not in self._paused:
            self._pause(tp)

    # -- processing side ------------------------------------------------------------------------

    def _process_job(self, decoded: Decoded[PayloadT], record: _InFlight) -> Callable[[], Awaitable[None]]:
        ctx = record.ctx

        async def work() -> None:
            await self._as_job(record, run)

        async def run(job: _Job) -> None:
            if self._ready is not None and not self._ready.is_set():
                await self._ready.wait()  # before the first attempt: the wait spends no retry budget
            policy = self._options.retry
            first = time.monotonic()
            ctx.first_attempt_at = datetime.now(UTC)
            attempt = 1
            with bind_event(supplier_id=decoded.tenant, event_id=decoded.event_id, topic=ctx.topic):
                while True:
                    ctx.attempt = attempt
                    ctx.is_last_attempt = policy.is_last(attempt, time.monotonic() - first)
                    # One span per attempt, so retries and their backoff show in the trace.
                    with self._tracing.consume_span(
                        ctx, supplier_id=decoded.tenant, event_id=decoded.event_id
                    ) as span:
                        job.in_attempt = True
                        try:
                            await self._handle(decoded.payload, ctx)
                        except asyncio.CancelledError:
                            raise
                        except Exception as exc:
                            job.in_attempt = False
                            kind = classify(exc)
                            span.set_status(StatusCode.ERROR, kind.value)
                            span.set_attribute("error.type", type(exc).__name__)
                            if not self._owns(record):
                                # Revoked during the attempt: neither a retry nor a dead letter
                                # here; the new owner redelivers the record with a fresh budget.
                                span.set_attribute("om.outcome", "revoked")
                                self._abandon(record)
                                return
                            if _gives_up(kind, policy, ctx):
                                span.set_attribute("om.outcome", "dead_lettered")
                                span.set_attribute("om.error_code", error_code(exc))
                                log.warning(
                                    "event failed (%s) after %d attempt(s): %s",
                                    kind.value,
                                    attempt,
                                    exc,
                                    exc_info=kind is FailureKind.UNEXPECTED,
                                )
                                # The letter is published outside this lane and this supplier's
                                # slot; the record stays in flight (uncommitted) until it is out.
                                self._dead_letter(record.failed(exc, attempt))
                                return
                            span.set_attribute("om.outcome", "retry")
                            delay = policy.delay(attempt)
                            self._metrics.retries.labels(kind.value).inc()
                            log.info(
                                "event attempt %d failed (%s), retrying in %.2fs: %s",
                                attempt,
                                kind.value,
                                delay,
                                exc,
                            )
                        else:
                            job.in_attempt = False
                            span.set_attribute("om.outcome", "processed")
                            self._metrics.events_consumed.labels(self.topic, "processed").inc()
                            self._metrics.handler_seconds.labels(self.topic).observe(time.monotonic() - first)
                            self._finish(record.tp, record.offsets, ctx.offset)
                            return
                    self.last_progress = time.monotonic()
                    await asyncio.sleep(delay)  # a revoke cancels this wait at once
                    attempt += 1

        return work

    def _dead_letter(self, failed: _InFlight) -> None:
        """Publish the record's dead letter in a task of its own, then count the record finished."""
        exc = failed.exc
        assert exc is not None

        async def publish() -> None:
            await self._as_job(failed, send)

        async def send(job: _Job) -> None:
            code = error_code(exc)
            outcome = await self._dead_letters.publish(
                failed.ctx,
                failed.raw,
                code=code,
                message=f"{type(exc).__name__}: {exc}",
                attempts=failed.attempts,
                group=self._options.group_id,
                owned=lambda: self._owns(failed),
            )
            if outcome is DeadLetterOutcome.REVOKED:
                self._abandon(failed)
                return
            self._metrics.events_consumed.labels(self.topic, "dead_lettered").inc()
            self._metrics.dead_letters.labels(self.topic, outcome.value).inc()
            if outcome is not DeadLetterOutcome.ALREADY:
                self._metrics.failures.labels(code).inc()
            self._finish(failed.tp, failed.offsets, failed.ctx.offset)

        lane = f"{failed.tp.partition}:{failed.ctx.offset}"
        self._scheduler.submit(_DEAD_LETTERS, lane, publish, DEAD_LETTER_CONCURRENCY)

    def _owns(self, record: _InFlight) -> bool:
        """Whether this process still owns the record's partition (no revoke begun or done since)."""
        return self._offsets.get(record.tp) is record.offsets and record.tp not in self._revoking

    def _abandon(self, record: _InFlight) -> None:
        """Give up a record of a revoked partition: uncommitted here, its new owner redelivers it."""
        self._metrics.in_flight.labels(self.topic).dec()
        self._commit_wakeup.set()  # wakes a revoke waiting for the partition's jobs

    async def _as_job(self, record: _InFlight, body: Callable[[_Job], Awaitable[None]]) -> None:
        """Run `body` as one of the record's partition's jobs, which a revoke may cancel."""
        if not self._owns(record):
            self._abandon(record)  # revoked while queued: the new owner reads it again
            return
        task = asyncio.current_task()
        assert task is not None
        job = _Job(task)
        jobs = self._jobs.setdefault(record.tp, {})
        jobs[task] = job
        try:
            await body(job)
        except asyncio.CancelledError:
            if job.revoked and task.uncancel() == 0:
                self._abandon(record)  # cancelled by the revoke alone, not by a shutdown
                return
            raise
        finally:
            jobs.pop(task, None)
            job.ended.set()

    def _finish(self, tp: TopicPartition, offsets: PartitionOffsets, offset: int) -> None:
        self.last_progress = time.monotonic()
        self._metrics.in_flight.labels(self.topic).dec()
        if self._offsets.get(tp) is not offsets:
            return  # the partition was revoked meanwhile: its new owner will redeliver
        offsets.finished(offset)
        if tp in self._paused and offsets.in_flight <= self._options.max_in_flight // 2:
            self._resume(tp)
        self._commit_wakeup.set()

    def _on_job_crash(self, exc: BaseException) -> None:
        log.error("a record job crashed; the consumer is unhealthy", exc_info=exc)
        self.crashed = exc

    # -- flow control and commits ---------------------------------------------------------------

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
            self._committer.cancel()
            await asyncio.gather(self._committer, return_exceptions=True)
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


@dataclass
class _InFlight:
    """A record between its arrival and its outcome; `exc` is set once it is to be dead-lettered."""

    tp: TopicPartition
    offsets: PartitionOffsets
    raw: bytes | None
    ctx: RecordContext
    exc: BaseException | None
    attempts: int

    def failed(self, exc: BaseException, attempts: int) -> _InFlight:
        """The same record, now to be dead-lettered for `exc` after `attempts` attempts."""
        return _InFlight(self.tp, self.offsets, self.raw, self.ctx, exc, attempts)


def _gives_up(kind: FailureKind, policy: EventRetryPolicy, ctx: RecordContext) -> bool:
    if kind is FailureKind.PERMANENT:
        return True
    if kind is FailureKind.UNEXPECTED and policy.gives_up_unexpected(ctx.attempt):
        return True
    return ctx.is_last_attempt


def _decoder_failure(exc: Exception) -> InvalidEvent:
    """A decoder that raised something else than `InvalidEvent` (RecursionError, a bug): still invalid."""
    reason = f"{type(exc).__name__}: {exc}"
    if len(reason) > MAX_DECODER_REASON:
        reason = reason[:MAX_DECODER_REASON] + "…"
    return InvalidEvent(f"the event could not be decoded ({reason})")


async def _decode_nothing(message: Any) -> None:
    """The subscriber's decoder: the edge reads the raw record itself (see the module docstring)."""
    return


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: TopicConsumer[Any]) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._owner._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._owner._on_assigned(set(assigned))
