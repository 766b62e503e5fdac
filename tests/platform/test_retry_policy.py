"""Backoff bounds and failure classification used by the edge."""

import random

from om_platform.adapters.kafka import EventRetryPolicy
from om_platform.adapters.kafka.classify import classify
from om_platform.core.failures import FailureKind, InvalidEvent, PermanentFailure, TransientFailure


def test_delays_are_full_jitter_and_capped() -> None:
    policy = EventRetryPolicy(base_delay_s=1, max_delay_s=8)
    rng = random.Random(7)
    for attempt in range(1, 10):
        delay = policy.delay(attempt, rng)
        assert 0 <= delay <= min(8, 2 ** (attempt - 1))


def test_the_last_attempt_is_the_one_at_the_attempt_limit_or_starting_after_the_time_limit() -> None:
    policy = EventRetryPolicy(max_attempts=4, max_elapsed_s=60, unexpected_max_attempts=2)
    assert not policy.is_last(3, 10)
    assert policy.is_last(4, 10)
    assert policy.is_last(2, 60)
    assert not policy.is_last(2, 59.9)
    assert not policy.gives_up_unexpected(1)
    assert policy.gives_up_unexpected(2)


class _Retryable(Exception):
    retryable = True


def test_failures_are_classified_by_type_or_their_own_verdict() -> None:
    assert classify(InvalidEvent("bad")) is FailureKind.PERMANENT
    assert classify(PermanentFailure("UNMAPPED_PRODUCT", "x")) is FailureKind.PERMANENT
    assert classify(TransientFailure("down")) is FailureKind.TRANSIENT
    assert classify(TimeoutError()) is FailureKind.TRANSIENT
    assert classify(_Retryable()) is FailureKind.TRANSIENT
    assert classify(KeyError("bug")) is FailureKind.UNEXPECTED


def test_a_lost_broker_or_mongodb_connection_is_transient_whichever_library_raises_it() -> None:
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartitionError
    from pymongo.errors import AutoReconnect, OperationFailure, ServerSelectionTimeoutError

    assert classify(KafkaConnectionError()) is FailureKind.TRANSIENT
    assert classify(KafkaTimeoutError()) is FailureKind.TRANSIENT
    assert classify(NotLeaderForPartitionError()) is FailureKind.TRANSIENT  # retriable by its own verdict
    assert classify(AutoReconnect("primary went away")) is FailureKind.TRANSIENT
    assert classify(ServerSelectionTimeoutError("no server")) is FailureKind.TRANSIENT
    retryable = OperationFailure("write conflict", details={"errorLabels": ["RetryableWriteError"]})
    assert classify(retryable) is FailureKind.TRANSIENT
    assert classify(OperationFailure("bad query")) is FailureKind.UNEXPECTED


def test_dead_letter_codes_say_how_the_edge_gave_up() -> None:
    from om_platform.adapters.kafka.classify import error_code

    assert error_code(PermanentFailure("UNMAPPED_PRODUCT", "x")) == "UNMAPPED_PRODUCT"
    assert error_code(InvalidEvent("bad")) == "INVALID_EVENT"
    assert error_code(TransientFailure("down")) == "RETRIES_EXHAUSTED"
    assert error_code(_Retryable()) == "RETRIES_EXHAUSTED"
    assert error_code(KeyError("bug")) == "UNEXPECTED_ERROR"
