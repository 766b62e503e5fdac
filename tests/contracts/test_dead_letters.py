"""Dead-letter headers round-trip through Kafka header tuples."""

from __future__ import annotations

import datetime as dt

import pytest

from om_contracts import (
    ORDERS_TOPIC,
    ContractViolation,
    DeadLetterHeaders,
    dead_letter_headers,
    dead_letter_topic,
)

FAILED_AT = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)


def _context(**changes: object) -> DeadLetterHeaders:
    base: dict[str, object] = {
        "error_code": "INVALID_EVENT",
        "error_message": "data.lines.0.quantity: must be a plain decimal string",
        "original_topic": ORDERS_TOPIC,
        "original_partition": 7,
        "original_offset": 123456,
        "attempts": 3,
        "failed_at": FAILED_AT,
    }
    base.update(changes)
    return DeadLetterHeaders.model_validate(base)


def test_dead_letter_headers_round_trip_through_kafka_headers() -> None:
    context = _context()

    headers = context.to_kafka_headers()

    assert dict(headers) == {
        "x-error-code": b"INVALID_EVENT",
        "x-error-message": b"data.lines.0.quantity: must be a plain decimal string",
        "x-original-topic": ORDERS_TOPIC.encode(),
        "x-original-partition": b"7",
        "x-original-offset": b"123456",
        "x-attempts": b"3",
        "x-failed-at": b"2026-11-24T09:30:00+00:00",
    }
    assert DeadLetterHeaders.from_kafka_headers(headers) == context


def test_original_headers_are_kept_and_old_dead_letter_headers_replaced() -> None:
    original = [("traceparent", b"00-abc-def-01"), ("x-attempts", b"1")]

    headers = dead_letter_headers(original, _context(attempts=5))

    assert headers[0] == ("traceparent", b"00-abc-def-01")
    assert [value for name, value in headers if name == "x-attempts"] == [b"5"]


def test_a_long_error_message_is_cut() -> None:
    headers = dict(_context(error_message="x" * 5000).to_kafka_headers())

    assert len(headers["x-error-message"]) == 1000


def test_missing_or_broken_headers_are_reported_by_header_name() -> None:
    headers = [(n, v) for n, v in _context().to_kafka_headers() if n != "x-attempts"]
    headers = [(n, b"seven" if n == "x-original-partition" else v) for n, v in headers]

    with pytest.raises(ContractViolation) as caught:
        DeadLetterHeaders.from_kafka_headers(headers)

    assert [path for path, _ in caught.value.problems] == ["x-original-partition", "x-attempts"]


def test_the_dead_letter_topic_is_the_source_topic_plus_dlq() -> None:
    assert dead_letter_topic(ORDERS_TOPIC) == "ordermentum.orders.v1.dlq"
