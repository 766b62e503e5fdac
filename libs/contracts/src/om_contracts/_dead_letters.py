"""Dead-letter headers (CONTRACTS.md, "General rules" -> Headers).

A dead-lettered message goes to ``<source topic>.dlq`` with its original key, value and headers,
plus ``x-error-code``, ``x-error-message``, ``x-original-topic``, ``x-original-partition``,
``x-original-offset``, ``x-attempts`` and ``x-failed-at``. Header values are UTF-8 text.
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
        return [(_HEADER_NAMES[field], value.encode("utf-8")) for field, value in values.items()]

    @classmethod
    def from_kafka_headers(cls, headers: Sequence[tuple[str, bytes]]) -> DeadLetterHeaders:
        """Read the ``x-…`` headers back; raises :class:`ContractViolation` if any is wrong."""
        by_name = {name: value for name, value in headers if name in DEAD_LETTER_HEADER_NAMES}
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
    original: Sequence[tuple[str, bytes]], context: DeadLetterHeaders
) -> list[tuple[str, bytes]]:
    """Original headers (``traceparent`` included) followed by the dead-letter context.

    Earlier ``x-…`` dead-letter headers (a message dead-lettered twice) are replaced.
    """
    kept = [(name, value) for name, value in original if name not in DEAD_LETTER_HEADER_NAMES]
    return kept + context.to_kafka_headers()
