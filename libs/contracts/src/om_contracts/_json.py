"""Exact JSON decoding.

CONTRACTS.md: "JSON numbers are accepted on input and converted exactly; floats are never used
for money inside the services". The standard ``json`` module can hand every non-integer number
to :class:`decimal.Decimal` as its original text, which is exact and keeps trailing zeros.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Protocol


def _reject_constant(name: str) -> Any:
    # NaN, Infinity and -Infinity are not JSON; Python's json module accepts them by default.
    raise ValueError(f"non-finite number {name} is not allowed in an event")


def loads(raw: str | bytes | bytearray) -> Any:
    """Decode JSON text with every non-integer number as an exact ``Decimal``.

    Use this (or :func:`om_contracts.parse_event`, or a model's ``model_validate_json``) to
    decode event values; a plain ``json.loads`` yields floats, which the money types reject.
    Raises ``ValueError`` (``json.JSONDecodeError``) for invalid JSON, NaN or Infinity.
    """
    return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)


class HasBody(Protocol):
    """Anything carrying a raw message body, such as FastStream's ``StreamMessage``."""

    @property
    def body(self) -> bytes: ...


def decode_message_body(message: HasBody) -> Any:
    """Exact JSON decoder for a FastStream subscriber or broker (``decoder=``).

    FastStream's default decoder uses ``json.loads``, which turns ``42.50`` into a binary
    float that the money types refuse; this one keeps it a ``Decimal``. An empty body (a
    tombstone) decodes to ``None``.
    """
    body = message.body
    if not body:
        return None
    return loads(body)
