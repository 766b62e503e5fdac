"""The event envelope and the errors raised when an event breaks its contract.

CONTRACTS.md, "General rules": every event is
``{"event_id", "event_type", "occurred_at", "supplier_id", "data"}``; ``event_id`` is what
consumers deduplicate on; ``occurred_at`` is RFC 3339 with an offset (naive times are refused).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, ValidationError

from om_contracts._base import InboundModel, OutboundModel
from om_contracts._ids import _as_written
from om_contracts._limits import MAX_ID_LENGTH
from om_contracts._timestamps import Rfc3339DateTime

DataT = TypeVar("DataT")

EventId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH),
    AfterValidator(_as_written),
    Field(description="Globally unique event id; consumers deduplicate on it."),
]
SupplierId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH),
    AfterValidator(_as_written),
    Field(description="Ordermentum supplier id; also the Kafka message key."),
]
OccurredAt = Annotated[
    AwareDatetime,
    Field(description="When it happened: RFC 3339 date-time with an offset."),
]
InboundOccurredAt = Annotated[
    Rfc3339DateTime,
    Field(description="When it happened: an RFC 3339 date-time string with an offset."),
]


class Envelope(InboundModel, Generic[DataT]):
    """Envelope of an event produced by the Ordermentum platform (unknown fields ignored)."""

    event_id: EventId
    event_type: str = Field(description="What happened, e.g. 'order.placed'.")
    occurred_at: InboundOccurredAt
    supplier_id: SupplierId
    data: DataT = Field(description="The event payload; its shape depends on event_type.")

    def kafka_key(self) -> bytes:
        """The Kafka message key: the supplier id, UTF-8 (CONTRACTS.md "General rules")."""
        return self.supplier_id.encode("utf-8")


class OutboundEnvelope(OutboundModel, Generic[DataT]):
    """Envelope of an event produced by these services (unknown fields forbidden)."""

    event_id: EventId
    event_type: str = Field(description="What happened, e.g. 'netsuite.order.synced'.")
    occurred_at: OccurredAt
    supplier_id: SupplierId
    data: DataT = Field(description="The event payload; its shape depends on event_type.")

    def kafka_key(self) -> bytes:
        """The Kafka message key: the supplier id, UTF-8 (CONTRACTS.md "General rules")."""
        return self.supplier_id.encode("utf-8")


def new_event_id() -> str:
    """A fresh globally unique event id (``evt_`` + 32 hex digits)."""
    return f"evt_{uuid.uuid4().hex}"


def derived_event_id(*parts: str) -> str:
    """An event id derived from what makes the event itself (same shape as `new_event_id`).

    The same parts always give the same id, so a republication (after a crash, a retry or by a
    second replica) carries the id consumers already de-duplicate on; the parts must tell every
    distinct event apart (see each event model for its own rule).
    """
    return "evt_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


Problem = tuple[str, str]
"""A contract problem: (dotted field path, reason)."""


class ContractViolation(ValueError):
    """An event value does not satisfy its contract.

    ``problems`` lists every ``(field path, reason)`` found, not only the first. The message
    names each field and reason and never includes the offending values (they may be secrets).
    """

    def __init__(self, topic: str, problems: list[Problem]) -> None:
        self.topic = topic
        self.problems = problems
        listed = "; ".join(f"{path or '<value>'}: {reason}" for path, reason in problems)
        super().__init__(f"invalid event on {topic}: {listed}")

    @classmethod
    def from_validation_error(
        cls, topic: str, error: ValidationError, *, strip_tag: str | None = None
    ) -> ContractViolation:
        """Build from a pydantic error; ``strip_tag`` drops a union discriminator from paths."""
        problems: list[Problem] = []
        for item in error.errors(include_url=False, include_input=False):
            loc = list(item["loc"])
            if strip_tag is not None and loc and loc[0] == strip_tag:
                loc = loc[1:]
            problems.append((".".join(str(part) for part in loc), item["msg"]))
        return cls(topic, problems)


@dataclass(frozen=True, slots=True)
class UnknownEventType:
    """A well-formed envelope whose ``event_type`` this version does not know.

    CONTRACTS.md: unknown event types on a known topic are skipped (and counted), never fatal.
    """

    topic: str
    event_type: str
    event_id: str
    supplier_id: str


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A null value on a compacted topic: the record for ``key`` is deleted.

    On ``ordermentum.integrations.v1`` this disconnects the supplier ``key``.
    """

    topic: str
    key: str | None
