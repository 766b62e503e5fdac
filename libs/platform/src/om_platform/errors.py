"""How a failure is classified at the Kafka edge: retry later, or this event cannot succeed.

Use cases raise (or let through) exceptions; only the edge decides what they mean for offsets and
dead letters:

    Exception
     +-- PermanentFailure     the event cannot succeed as it is: dead-letter it at once
     |    +-- InvalidEvent    the payload breaks the contract (code INVALID_EVENT)
     +-- TransientFailure     something outside the event is down: retry with backoff

Lost connections to the broker or to MongoDB (a restart, a failover, a timeout) are transient too,
whichever library raises them: the record waits for them with backoff instead of being
dead-lettered after the few tries an unknown error gets.

Anything else is unexpected (a bug or an unknown library error): retried a few times in case it is
a blip, then dead-lettered with code UNEXPECTED_ERROR so a human looks at it.
"""

from __future__ import annotations

from enum import StrEnum

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from pymongo.errors import ConnectionFailure, PyMongoError


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


TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TransientFailure,
    TimeoutError,
    ConnectionError,
    KafkaConnectionError,  # the broker went away (a restart); aiokafka reconnects
    KafkaTimeoutError,  # a publish or metadata request that got no answer in time
    ConnectionFailure,  # MongoDB unreachable: AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
)

_TRANSIENT_MONGO_LABELS = ("RetryableWriteError", "TransientTransactionError")


def _transient_by_verdict(exc: BaseException) -> bool:
    """Library errors that say themselves that they may clear: aiokafka's `retriable`, Mongo's labels."""
    if getattr(exc, "retriable", None) is True:
        return True
    return isinstance(exc, PyMongoError) and any(
        exc.has_error_label(label) for label in _TRANSIENT_MONGO_LABELS
    )


def classify(exc: BaseException) -> FailureKind:
    if isinstance(exc, PermanentFailure):
        return FailureKind.PERMANENT
    if isinstance(exc, TRANSIENT_TYPES) or _transient_by_verdict(exc):
        return FailureKind.TRANSIENT
    retryable = getattr(exc, "retryable", None)  # e.g. NetSuite errors carry their own verdict
    if retryable is True:
        return FailureKind.TRANSIENT
    if retryable is False:
        return FailureKind.PERMANENT
    return FailureKind.UNEXPECTED


def error_code(exc: BaseException) -> str:
    """The dead letter's `x-error-code`: the failure's own stable code, or what kind of give-up it was.

    A transient failure still failing after every retry is `RETRIES_EXHAUSTED` (the underlying code,
    e.g. NetSuite's, is in the message); an unclassified exception is `UNEXPECTED_ERROR`.
    """
    kind = classify(exc)
    if kind is FailureKind.TRANSIENT:
        return "RETRIES_EXHAUSTED"
    if isinstance(exc, PermanentFailure):
        return exc.code
    if kind is FailureKind.PERMANENT:  # e.g. a NetSuite rejection that reached the edge
        code = getattr(exc, "code", None)
        return code if isinstance(code, str) and code else "PERMANENT_ERROR"
    return "UNEXPECTED_ERROR"
