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

Back-pressure, commits and rebalances: `_flow.py`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage as KafkaStreamMessage
from opentelemetry.trace import StatusCode

from om_platform.adapters.kafka._deadletter import DeadLetterOutcome, DeadLetterPublisher
from om_platform.adapters.kafka._faststream import KafkaMessage, decode_nothing, wrap_record
from om_platform.adapters.kafka._flow import PartitionFlow, Rebalance, _Job
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


class TopicConsumer(PartitionFlow, Generic[PayloadT]):
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
            listener=Rebalance(self),
            title=title or f"{topic}:consume",
            description=description,
            parser=self._wrap_record,
            decoder=decode_nothing,
        )
        self.subscriber(self._on_record)

    async def _wrap_record(self, record: ConsumerRecord[bytes, bytes]) -> KafkaStreamMessage:
        """FastStream's message around the raw record (a coroutine: a plain parser runs in a thread)."""
        return wrap_record(getattr(self.subscriber, "consumer", None), record)

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

        async def send(_job: _Job) -> None:
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

    def _abandon(self, _record: _InFlight) -> None:
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
