"""Money and quantities: exact decimals, serialised as strings.

Rule (CONTRACTS.md "General rules"), applied to every ``Money``, ``Quantity`` and ``Rate`` field:

- accepted: decimal strings (``"42.50"``, ``"3"``, ``"-0.125"``), ``int`` and ``Decimal`` values,
  and JSON numbers when the JSON is decoded by :func:`om_contracts.loads` (which every
  ``model_validate_json`` and :func:`om_contracts.parse_event` use): ``42.50`` becomes
  ``Decimal('42.50')`` exactly, digits and trailing zeros included;
- rejected: Python ``float`` values built in code (already rounded to binary, so exactness is
  lost before we see them), booleans, NaN and infinities, exponents (in strings and in JSON
  numbers) and anything else that is not a plain decimal;
- output: always a decimal string in JSON (``"42.50"``), a ``Decimal`` in Python.

What the Ordermentum platform sends is held to more (CONTRACTS.md "Limits on input", bounds in
:mod:`om_contracts._limits`): ``Amount`` (totals, freight, surcharge, payments, payouts, fees),
``UnitPrice``, ``OrderedQuantity`` and ``TaxRate`` are never negative and never written with a
minus sign (``-0`` included), an ordered quantity is more than zero, and each has at most
``MAX_DECIMAL_DIGITS`` significant digits and its own number of decimals. These are the numbers
NetSuite books; what breaks them is refused at the edge instead of being sent on.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from om_contracts._json import ExponentDecimal, NegativeZero
from om_contracts._limits import (
    MAX_AMOUNT_DECIMALS,
    MAX_DECIMAL_DIGITS,
    MAX_PRICE_DECIMALS,
    MAX_QUANTITY_DECIMALS,
    MAX_RATE_DECIMALS,
)

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "must be a decimal string, not a boolean")
    if isinstance(value, float):
        raise PydanticCustomError(
            "decimal_float",
            "must be a decimal string or an exact JSON number, not a binary float",
        )
    if isinstance(value, ExponentDecimal):
        raise PydanticCustomError("decimal_exponent", "must be written without an exponent, such as 42.50")
    if isinstance(value, NegativeZero):
        return Decimal("-0")
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


def _bookable(max_decimals: int, *, positive: bool = False) -> AfterValidator:
    """A check that a decimal is one NetSuite books as it is (see the module docstring)."""

    def check(value: Decimal) -> Decimal:
        if value.is_signed():
            raise PydanticCustomError("decimal_sign", "must not be negative or carry a minus sign")
        if positive and not value:
            raise PydanticCustomError("decimal_positive", "must be more than zero")
        _, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)  # finite: checked before
        decimals = max(0, -exponent)
        if decimals > max_decimals:
            raise PydanticCustomError(
                "decimal_places",
                "has {decimals} decimals; at most {allowed} are accepted",
                {"decimals": decimals, "allowed": max_decimals},
            )
        significant = len(digits) + max(0, exponent)  # as written without an exponent
        if significant > MAX_DECIMAL_DIGITS:
            raise PydanticCustomError(
                "decimal_digits",
                "has {digits} digits; at most {allowed} are accepted",
                {"digits": significant, "allowed": MAX_DECIMAL_DIGITS},
            )
        return value

    return AfterValidator(check)


Amount = Annotated[
    Decimal,
    _DecimalCheck,
    _bookable(MAX_AMOUNT_DECIMALS),
    Field(
        allow_inf_nan=False,
        description=f"Amount as a decimal string, e.g. '42.50': not negative, at most {MAX_AMOUNT_DECIMALS} "
        "decimals.",
    ),
]
"""A currency amount the platform sends: not negative, at most 2 decimals, 15 digits."""

UnitPrice = Annotated[
    Decimal,
    _DecimalCheck,
    _bookable(MAX_PRICE_DECIMALS),
    Field(
        allow_inf_nan=False,
        description=f"Price per unit excluding tax, e.g. '42.50': not negative, at most {MAX_PRICE_DECIMALS} "
        "decimals.",
    ),
]
"""A unit price the platform sends: not negative, at most 6 decimals, 15 digits."""

OrderedQuantity = Annotated[
    Decimal,
    _DecimalCheck,
    _bookable(MAX_QUANTITY_DECIMALS, positive=True),
    Field(
        allow_inf_nan=False,
        description=f"Quantity as a decimal string, e.g. '3' or '0.125': more than zero, at most "
        f"{MAX_QUANTITY_DECIMALS} decimals.",
    ),
]
"""A quantity the platform sends: more than zero, at most 6 decimals, 15 digits."""

TaxRate = Annotated[
    Decimal,
    _DecimalCheck,
    _bookable(MAX_RATE_DECIMALS),
    Field(
        allow_inf_nan=False,
        description=f"Tax rate as a decimal fraction, e.g. '0.10': not negative, at most {MAX_RATE_DECIMALS} "
        "decimals.",
    ),
]
"""A tax rate the platform sends, as a fraction: not negative, at most 6 decimals."""

Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 currency code, e.g. 'AUD'."),
]
"""An ISO 4217 currency code in upper case."""
