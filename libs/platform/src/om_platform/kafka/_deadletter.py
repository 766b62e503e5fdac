"""Dead letters: the original record, byte for byte, plus why it failed, on `<topic>.dlq`.

The producer is a plain aiokafka producer (acks=all) rather than a FastStream publisher because a
dead letter must keep the original key, value and headers exactly as received, and FastStream's
publish API takes string headers and adds its own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from aiokafka import AIOKafkaProducer

from om_contracts import DeadLetterHeaders, dead_letter_headers, dead_letter_topic

log = logging.getLogger(__name__)


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
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def failure_headers(
    record: _Record, *, code: str, message: str, attempts: int, failed_at: datetime | None = None
) -> list[tuple[str, bytes]]:
    """The original headers (minus any earlier failure context) followed by this failure's context."""
    context = DeadLetterHeaders(
        error_code=code,
        error_message=message,
        original_topic=record.topic,
        original_partition=record.partition,
        original_offset=record.offset,
        attempts=attempts,
        failed_at=failed_at or datetime.now(UTC),
    )
    return dead_letter_headers(record.headers, context)


class DeadLetterPublisher:
    """Publishes dead letters and waits for the broker to confirm each one."""

    def __init__(self, producer: AIOKafkaProducer | None = None) -> None:
        self._producer = producer

    def attach(self, producer: AIOKafkaProducer) -> None:
        """Give the publisher its producer once the runtime has started it."""
        self._producer = producer

    async def publish(
        self, record: _Record, value: bytes | None, *, code: str, message: str, attempts: int
    ) -> None:
        if self._producer is None:
            raise RuntimeError("dead-letter producer not started")
        topic = dead_letter_topic(record.topic)
        headers = failure_headers(record, code=code, message=message, attempts=attempts)
        await self._producer.send_and_wait(topic, value=value, key=record.key, headers=headers)
        log.warning(
            "dead-lettered %s[%d]@%d to %s: %s",
            record.topic,
            record.partition,
            record.offset,
            topic,
            code,
            extra={"error_code": code, "attempts": attempts},
        )
