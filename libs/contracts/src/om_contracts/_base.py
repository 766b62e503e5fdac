"""Base classes shared by every contract model.

Inbound models (produced by the Ordermentum platform) ignore unknown fields, because the
platform may add optional fields at any time (CONTRACTS.md, "may add optional fields").
Outbound models (produced by these services) forbid them, so a typo never ships.
Both are frozen: an event is a fact, and handlers must not mutate what they received.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict
from pydantic.config import ExtraValues

from om_contracts._json import loads


class _ContractModel(BaseModel):
    """Common behaviour: exact JSON decoding for money and quantities."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """Validate JSON text, keeping JSON numbers exact (``42.50`` -> ``Decimal('42.50')``).

        pydantic's own JSON parser reads numbers as binary floats before a ``Decimal`` field
        sees them, which loses digits; this decodes with :func:`om_contracts.loads` instead.
        """
        return cls.model_validate(
            loads(json_data),
            strict=strict,
            extra=extra,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )


class InboundModel(_ContractModel):
    """A payload produced by the Ordermentum platform: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


class OutboundModel(_ContractModel):
    """A payload produced by these services: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")
