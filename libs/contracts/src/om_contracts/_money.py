"""Money and quantities: exact decimals, serialised as strings.

Rule (CONTRACTS.md "General rules"), applied to every ``Money`` and ``Quantity`` field:

- accepted: decimal strings (``"42.50"``, ``"3"``, ``"-0.125"``), ``int`` and ``Decimal`` values,
  and JSON numbers when the JSON is decoded by :func:`om_contracts.loads` (which every
  ``model_validate_json`` and :func:`om_contracts.parse_event` use): ``42.50`` becomes
  ``Decimal('42.50')`` exactly, digits and trailing zeros included;
- rejected: Python ``float`` values built in code (already rounded to binary, so exactness is
  lost before we see them), booleans, NaN and infinities, exponents and anything else that is not
  a plain decimal string;
- output: always a decimal string in JSON (``"42.50"``), a ``Decimal`` in Python.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "must be a decimal string, not a boolean")
    if isinstance(value, float):
        raise PydanticCustomError(
            "decimal_float",
            "must be a decimal string or an exact JSON number, not a binary float",
        )
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise PydanticCustomError("decimal_text", "must be a plain decimal string such as '42.50'")
        return Decimal(value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise PydanticCustomError("decimal_finite", "must be a finite number")
    return value


_DecimalCheck = BeforeValidator(_exact_decimal)

Money = Annotated[
    Decimal,
    _DecimalCheck,
    Field(allow_inf_nan=False, description="Amount as a decimal string, e.g. '42.50'."),
]
"""An exact amount of money in the transaction currency (decimal string on the wire)."""

Quantity = Annotated[
    Decimal,
    _DecimalCheck,
    Field(allow_inf_nan=False, description="Quantity as a decimal string, e.g. '3' or '0.125'."),
]
"""An exact quantity (decimal string on the wire)."""

Rate = Annotated[
    Decimal,
    _DecimalCheck,
    Field(allow_inf_nan=False, description="Rate as a decimal fraction string, e.g. '0.10'."),
]
"""An exact rate such as a tax rate, as a fraction (``'0.10'`` is 10 %)."""

Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 currency code, e.g. 'AUD'."),
]
"""An ISO 4217 currency code in upper case."""
