"""Dead-letter headers (CONTRACTS.md, "General rules" -> Headers).

A dead-lettered message goes to ``<source topic>.dlq`` with its original key, value and headers,
plus ``x-error-code``, ``x-error-message``, ``x-original-topic``, ``x-original-partition``,
``x-original-offset``, ``x-attempts`` and ``x-failed-at``. Header values are UTF-8 text.

These services add (CONTRACTS.md, "Limits on input"): ``x-dead-letter-id``, the same for every
dead letter of one record by one consumer group, so a redelivered or replayed record is not
dead-lettered twice and ``omctl dlq`` can show each once; ``x-consumer-group``, who gave up on
it; and, on a letter whose record was too large for the dead-letter topic, ``x-truncated`` (what
was cut: ``value``, ``key``, ``headers``) and ``x-original-size`` (bytes of the whole value). The
whole record stays readable at ``x-original-topic``/``-partition``/``-offset`` until that topic's
retention removes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import AwareDatetime, Field, ValidationError

from om_contracts._base import OutboundModel
from om_contracts._envelope import ContractViolation

MAX_ERROR_MESSAGE = 1000
"""``x-error-message`` is cut to this many characters (messages must not carry whole bodies)."""

_HEADER_NAMES: dict[str, str] = {
    "error_code": "x-error-code",
    "error_message": "x-error-message",
    "original_topic": "x-original-topic",
    "original_partition": "x-original-partition",
    "original_offset": "x-original-offset",
    "attempts": "x-attempts",
    "failed_at": "x-failed-at",
    "dead_letter_id": "x-dead-letter-id",
    "consumer_group": "x-consumer-group",
    "truncated": "x-truncated",
    "original_size": "x-original-size",
}
DEAD_LETTER_HEADER_NAMES: frozenset[str] = frozenset(_HEADER_NAMES.values())


class DeadLetterHeaders(OutboundModel):
    """The context added to a dead-lettered message."""

    error_code: str = Field(min_length=1, description="Stable error code, e.g. 'INVALID_EVENT'.")
    error_message: str = Field(description="Short reason; never credentials or whole bodies.")
    original_topic: str = Field(min_length=1, description="Topic the message came from.")
    original_partition: int = Field(ge=0, description="Partition it came from.")
    original_offset: int = Field(ge=0, description="Offset it had.")
    attempts: int = Field(ge=1, description="How many times handling was attempted.")
    failed_at: AwareDatetime = Field(description="When it was dead-lettered (RFC 3339).")
    dead_letter_id: str | None = Field(
        default=None,
        description="Same for every dead letter of one record by one consumer group (de-duplication).",
    )
    consumer_group: str | None = Field(default=None, description="Consumer group that gave up on it.")
    truncated: str | None = Field(
        default=None,
        description="What was cut to fit the dead-letter topic ('value', 'key', 'headers', comma-separated); "
        "absent when the letter is whole.",
    )
    original_size: int | None = Field(
        default=None, ge=0, description="Bytes of the original value, on a truncated letter."
    )

    def to_kafka_headers(self) -> list[tuple[str, bytes]]:
        """The ``x-…`` headers as Kafka header tuples (UTF-8 values)."""
        values: dict[str, str] = {
            "error_code": self.error_code,
            "error_message": self.error_message[:MAX_ERROR_MESSAGE],
            "original_topic": self.original_topic,
            "original_partition": str(self.original_partition),
            "original_offset": str(self.original_offset),
            "attempts": str(self.attempts),
            "failed_at": self.failed_at.isoformat(),
        }
        optional = {
            "dead_letter_id": self.dead_letter_id,
            "consumer_group": self.consumer_group,
            "truncated": self.truncated,
            "original_size": None if self.original_size is None else str(self.original_size),
        }
        values.update({name: value for name, value in optional.items() if value is not None})
        return [(_HEADER_NAMES[field], value.encode("utf-8")) for field, value in values.items()]

    @classmethod
    def from_kafka_headers(cls, headers: Sequence[tuple[str, bytes | None]]) -> DeadLetterHeaders:
        """Read the ``x-…`` headers back; raises :class:`ContractViolation` if any is wrong."""
        by_name = {
            name: value for name, value in headers if name in DEAD_LETTER_HEADER_NAMES and value is not None
        }
        raw: dict[str, Any] = {}
        for field, header in _HEADER_NAMES.items():
            if header in by_name:
                raw[field] = by_name[header].decode("utf-8", errors="replace")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = [
                (_HEADER_NAMES.get(str(err["loc"][0]), str(err["loc"][0])), err["msg"])
                for err in exc.errors(include_url=False, include_input=False)
            ]
            raise ContractViolation("dead-letter headers", problems) from None


def dead_letter_headers(
    original: Sequence[tuple[str, bytes | None]], context: DeadLetterHeaders
) -> list[tuple[str, bytes | None]]:
    """Original headers (``traceparent`` included) followed by the dead-letter context.

    Earlier ``x-…`` dead-letter headers (a message dead-lettered twice) are replaced. A header
    may have a null value (Kafka allows it); it is kept as it is.
    """
    kept = [(name, value) for name, value in original if name not in DEAD_LETTER_HEADER_NAMES]
    return [*kept, *context.to_kafka_headers()]
