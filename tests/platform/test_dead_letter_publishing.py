"""Dead-letter publishing: a slow broker never costs a letter its value, only a letter too large is cut,
and a letter of a revoked partition is not published.

Pure logic against a fake producer (the real broker path is in test_edge_hostile.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from om_contracts import TRUNCATED_PART_BYTES, DeadLetterHeaders
from om_platform.adapters.kafka import (
    DeadLetterOutcome,
    DeadLetterPolicy,
    DeadLetterPublisher,
    dead_letter_id,
)


@dataclass
class Record:
    topic: str = "ordermentum.orders.v1"
    partition: int = 3
    offset: int = 41
    key: bytes | None = b"sup_1"
    headers: list[tuple[str, bytes | None]] = field(
        default_factory=lambda: [("traceparent", b"00-abc-def-01")]
    )


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes | None]


@dataclass
class Metadata:
    partition: int
    offset: int


class FakeProducer:
    """Fails the first `fail` sends with `error`, refuses values over `max_value` as too large."""

    def __init__(
        self, *, fail: int = 0, error: Exception | None = None, max_value: int | None = None
    ) -> None:
        self.fail = fail
        self.error = error or KafkaTimeoutError()
        self.max_value = max_value
        self.sent: list[Sent] = []
        self.tries = 0
        self.tried = asyncio.Condition()

    async def send_and_wait(
        self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes | None]]
    ) -> Metadata:
        self.tries += 1
        async with self.tried:
            self.tried.notify_all()
        if self.max_value is not None and len(value or b"") > self.max_value:
            raise MessageSizeTooLargeError("too large")
        if self.fail:
            self.fail -= 1
            raise self.error
        self.sent.append(Sent(topic, key, value, dict(headers)))
        return Metadata(0, len(self.sent) - 1)


class Memory:
    def __init__(self) -> None:
        self.known: dict[str, dict[str, Any]] = {}

    async def recall(self, letter_id: str) -> bool:
        return letter_id in self.known

    async def remember(self, letter_id: str, facts: dict[str, Any]) -> None:
        self.known[letter_id] = facts


FAST = DeadLetterPolicy(attempts=3, base_delay_s=0.001, max_delay_s=0.005)


def publisher(producer: FakeProducer, memory: Memory | None = None) -> DeadLetterPublisher:
    return DeadLetterPublisher(producer, policy=FAST, memory=memory)  # type: ignore[arg-type]


async def publish(
    pub: DeadLetterPublisher, record: Record, value: bytes | None = b'{"a": 1}'
) -> DeadLetterOutcome:
    return await pub.publish(
        record, value, code="INVALID_EVENT", message="bad", attempts=1, group="om.order_sync"
    )


async def test_a_letter_goes_whole_with_its_context_its_id_and_the_group_that_gave_up() -> None:
    producer = FakeProducer()
    record = Record()

    assert await publish(publisher(producer), record) is DeadLetterOutcome.PUBLISHED

    [letter] = producer.sent
    assert (letter.topic, letter.key, letter.value) == ("ordermentum.orders.v1.dlq", b"sup_1", b'{"a": 1}')
    context = DeadLetterHeaders.from_kafka_headers(list(letter.headers.items()))
    assert (context.original_topic, context.original_partition, context.original_offset) == (
        record.topic,
        3,
        41,
    )
    assert context.dead_letter_id == dead_letter_id(record, b'{"a": 1}', "om.order_sync")
    assert context.consumer_group == "om.order_sync"
    assert context.truncated is None
    assert letter.headers["traceparent"] == b"00-abc-def-01"


async def test_a_letter_too_large_is_cut_at_once_and_says_so_while_pointing_at_the_whole_record() -> None:
    producer = FakeProducer(max_value=TRUNCATED_PART_BYTES)
    value = b"A" * (2 * 1024 * 1024)

    assert await publish(publisher(producer), Record(), value) is DeadLetterOutcome.TRUNCATED

    assert producer.tries == 2  # the whole letter once (too large is not retried), then the cut one
    [letter] = producer.sent
    assert letter.value == value[:TRUNCATED_PART_BYTES]
    context = DeadLetterHeaders.from_kafka_headers(list(letter.headers.items()))
    assert (context.truncated, context.original_size) == ("value", len(value))
    assert (context.original_topic, context.original_partition, context.original_offset) == (
        "ordermentum.orders.v1",
        3,
        41,
    )


async def test_a_letter_the_broker_is_slow_to_take_is_retried_whole_never_cut() -> None:
    # Issue 23: after four timeouts the letter used to be cut to 16 KiB although nothing was too large.
    producer = FakeProducer(fail=FAST.attempts + 3)  # timeouts, then the broker takes it
    record = Record(headers=[("big", b"h" * (TRUNCATED_PART_BYTES + 1)), ("small", None)])
    value = b"v" * (TRUNCATED_PART_BYTES + 1)

    outcome = await publish(publisher(producer), record, value)

    assert outcome is DeadLetterOutcome.PUBLISHED
    assert producer.tries == FAST.attempts + 4
    [letter] = producer.sent
    assert letter.value == value
    assert letter.headers["big"] == b"h" * (TRUNCATED_PART_BYTES + 1)
    assert "x-truncated" not in letter.headers


async def test_a_letter_too_large_after_timeouts_is_cut_only_once_the_broker_says_too_large() -> None:
    producer = FakeProducer(fail=2, max_value=TRUNCATED_PART_BYTES)
    value = b"v" * (TRUNCATED_PART_BYTES + 1)

    assert await publish(publisher(producer), Record(), value) is DeadLetterOutcome.TRUNCATED

    [letter] = producer.sent
    assert letter.value == value[:TRUNCATED_PART_BYTES]


async def test_a_letter_of_a_revoked_partition_is_not_published() -> None:
    producer = FakeProducer(fail=10_000)
    owned = True
    pub = publisher(producer)
    task = asyncio.create_task(
        pub.publish(Record(), b"v", code="X", message="m", attempts=1, owned=lambda: owned)
    )
    async with producer.tried:
        await asyncio.wait_for(producer.tried.wait_for(lambda: producer.tries >= 2), 5)
    owned = False  # the rebalance took the partition while the broker was away

    assert await asyncio.wait_for(task, 5) is DeadLetterOutcome.REVOKED
    assert producer.sent == []
    assert await pub.publish(Record(), b"v", code="X", message="m", attempts=1, owned=lambda: False) is (
        DeadLetterOutcome.REVOKED
    )


async def test_a_small_letter_after_an_outage_goes_whole_however_long_the_outage() -> None:
    producer = FakeProducer(fail=FAST.attempts + 5)

    assert await publish(publisher(producer), Record()) is DeadLetterOutcome.PUBLISHED

    assert producer.tries == FAST.attempts + 6
    assert "x-truncated" not in producer.sent[0].headers


async def test_a_record_dead_lettered_before_by_the_group_is_not_published_again() -> None:
    producer, memory = FakeProducer(), Memory()
    pub = publisher(producer, memory)

    assert await publish(pub, Record()) is DeadLetterOutcome.PUBLISHED
    assert await publish(pub, Record()) is DeadLetterOutcome.ALREADY  # a redelivery after a crash

    assert len(producer.sent) == 1
    [facts] = memory.known.values()
    assert facts["dead_letter"] == "ordermentum.orders.v1.dlq/0/0"
    assert facts["origin"] == "ordermentum.orders.v1/3/41"


def test_a_replay_copy_shares_its_originals_id_but_a_forged_claim_or_another_group_does_not() -> None:
    original = Record()
    copy = Record(offset=900, headers=[("x-replayed-from", b"ordermentum.orders.v1/3/41")])
    forged = Record(offset=901, headers=[("x-replayed-from", b"ordermentum.orders.v1/3/41")])
    elsewhere = Record(
        topic="other", offset=902, headers=[("x-replayed-from", b"ordermentum.orders.v1/3/41")]
    )

    same = dead_letter_id(original, b"v", "g")
    assert dead_letter_id(copy, b"v", "g") == same
    assert dead_letter_id(forged, b"something else", "g") != same
    assert dead_letter_id(elsewhere, b"v", "g") != same
    assert dead_letter_id(original, b"v", "another group") != same
    assert dead_letter_id(Record(key=None), b"v", "g") != dead_letter_id(Record(key=b""), b"v", "g")


async def test_letters_waiting_for_the_broker_are_counted_while_they_wait() -> None:
    producer = FakeProducer(fail=10_000)
    pub = DeadLetterPublisher(
        producer, policy=DeadLetterPolicy(attempts=1, base_delay_s=0.001, max_delay_s=0.001)
    )  # type: ignore[arg-type]
    task = asyncio.create_task(publish(pub, Record()))
    async with producer.tried:
        await asyncio.wait_for(producer.tried.wait_for(lambda: producer.tries >= 5), 5)
    assert pub.waiting == 1
    producer.fail = 0
    assert await asyncio.wait_for(task, 5) is DeadLetterOutcome.PUBLISHED
    assert pub.waiting == 0


async def test_without_a_producer_the_publisher_says_so() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        await publish(DeadLetterPublisher(policy=FAST), Record())
