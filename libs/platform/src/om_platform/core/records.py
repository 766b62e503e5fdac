"""What the Kafka edge hands a service: a record understood by its decoder, and the record's context.

Plain values (driver-free): a use case's handler takes a `RecordContext`, a topic's decoder returns
`Decoded` or `Skip`. The consuming edge itself is `om_platform.adapters.kafka.TopicConsumer`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

PayloadT = TypeVar("PayloadT")


@dataclass(frozen=True)
class Decoded(Generic[PayloadT]):
    """A record understood by its topic's decoder.

    `tenant` groups records that share a concurrency budget (the supplier), `lane` orders records
    of one business entity (an order id); records with the same lane run one after another.
    """

    tenant: str
    lane: str
    payload: PayloadT
    event_id: str = ""


@dataclass(frozen=True)
class Skip:
    """A record that is valid but not for this consumer (unknown event type, other sync type)."""

    reason: str


@dataclass
class RecordContext:
    """What a handler knows about the record it processes (never the raw credentials).

    The edge owns retries: `attempt` counts from 1, `first_attempt_at` is when the first attempt
    began in this process, and `is_last_attempt` says whether the edge's `EventRetryPolicy` will
    give up if this attempt fails transiently. It is decided before the attempt starts and the edge
    keeps to it, so a handler may turn its last transient failure into an outcome of its own.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: Sequence[tuple[str, bytes | None]]
    timestamp_ms: int
    attempt: int = 1
    is_last_attempt: bool = False
    first_attempt_at: datetime | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return None if value is None else value.decode("utf-8", "replace")
        return None


Decoder = Callable[[bytes | None, RecordContext], "Decoded[PayloadT] | Skip"]
Handler = Callable[[PayloadT, RecordContext], Awaitable[None]]
