"""How the Kafka edge classifies an exception: the core taxonomy plus the drivers' own errors.

The taxonomy (`PermanentFailure`, `InvalidEvent`, `TransientFailure`) is driver-free
(`om_platform.core.failures`); this module adds what only the edge knows: the broker's and
MongoDB's connection errors are transient too, whichever library raises them, so the record waits
for them with backoff instead of being dead-lettered after the few tries an unknown error gets.
"""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from pymongo.errors import ConnectionFailure, PyMongoError

from om_platform.core.failures import FailureKind, PermanentFailure, TransientFailure

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
