"""The failure taxonomy: retry later, or this event cannot succeed (driver-free).

Use cases raise (or let through) exceptions; only the edge decides what they mean for offsets and
dead letters:

    Exception
     +-- PermanentFailure     the event cannot succeed as it is: dead-letter it at once
     |    +-- InvalidEvent    the payload breaks the contract (code INVALID_EVENT)
     +-- TransientFailure     something outside the event is down: retry with backoff

Lost connections to the broker or to MongoDB (a restart, a failover, a timeout) are transient too,
whichever library raises them: the record waits for them with backoff instead of being
dead-lettered after the few tries an unknown error gets.

Which driver errors count as transient, and the dead letter's error code, are decided at the Kafka
edge (`om_platform.adapters.kafka.classify`), the only place that knows the drivers' types.

Anything else is unexpected (a bug or an unknown library error): retried a few times in case it is
a blip, then dead-lettered with code UNEXPECTED_ERROR so a human looks at it.
"""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNEXPECTED = "unexpected"


class PermanentFailure(Exception):
    """The event can never succeed as it is; `code` is the stable error code for the dead letter."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidEvent(PermanentFailure):
    """The payload does not satisfy its contract."""

    def __init__(self, message: str) -> None:
        super().__init__("INVALID_EVENT", message)


class TransientFailure(Exception):
    """A dependency failed in a way that may clear by itself (outage, timeout, rate limit)."""
