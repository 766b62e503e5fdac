"""Money and quantities are exact decimals: strings and JSON numbers in, strings out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
from pydantic import ValidationError

from om_contracts import Freight, LocationQuantity, OrderLine, decode_message_body, loads


def test_a_json_number_keeps_every_digit_and_its_trailing_zero() -> None:
    freight = Freight.model_validate_json('{"amount": 42.50}')

    assert freight.amount == Decimal("42.50")
    assert str(freight.amount) == "42.50"


def test_a_json_number_with_more_digits_than_a_float_holds_stays_exact() -> None:
    level = LocationQuantity.model_validate_json(
        '{"location_id": "3", "quantity": 0.1000000000000000055511151231257827}'
    )

    assert level.quantity == Decimal("0.1000000000000000055511151231257827")


def test_decimal_strings_and_integers_are_accepted() -> None:
    assert Freight.model_validate({"amount": "0.12"}).amount == Decimal("0.12")
    assert Freight.model_validate({"amount": 3}).amount == Decimal(3)
    level = LocationQuantity.model_validate(
        {"location_id": "3", "quantity": "-1.50"}
    )  # NetSuite's own figure
    assert level.quantity == Decimal("-1.50")


def test_money_is_written_as_a_decimal_string() -> None:
    freight = Freight.model_validate_json('{"amount": 15.00, "tax_rate": "0.10"}')

    assert freight.model_dump_json() == '{"amount":"15.00","tax_rate":"0.10"}'


def test_a_python_float_is_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Freight.model_validate({"amount": 42.5})

    error = caught.value.errors()[0]
    assert error["loc"] == ("amount",)
    assert "not a binary float" in error["msg"]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '"NaN"', '"inf"', '"1e3"', '""'])
def test_non_finite_and_non_decimal_values_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"amount|non-finite"):
        Freight.model_validate_json('{"amount": ' + text + "}")


def test_a_decimal_nan_built_in_code_is_refused() -> None:
    with pytest.raises(ValidationError, match="finite"):
        LocationQuantity.model_validate({"location_id": "3", "quantity": Decimal("NaN")})


def test_booleans_are_not_money() -> None:
    with pytest.raises(ValidationError, match="not a boolean"):
        Freight.model_validate({"amount": True})


def test_loads_turns_every_json_fraction_into_a_decimal() -> None:
    assert loads(b'{"a": 1.10, "b": [2, 0.5]}') == {"a": Decimal("1.10"), "b": [2, Decimal("0.5")]}


@dataclass
class _Message:
    body: bytes


def test_the_message_decoder_keeps_json_numbers_exact_for_faststream() -> None:
    decoded = decode_message_body(_Message(b'{"amount": 42.50}'))

    assert Freight.model_validate(decoded).amount == Decimal("42.50")
    assert decode_message_body(_Message(b"")) is None


def test_plain_json_loads_floats_are_refused_so_inexact_money_never_slips_in() -> None:
    with pytest.raises(ValidationError, match="not a binary float"):
        OrderLine.model_validate(
            json.loads('{"id": "l", "quantity": 1, "unit_price": 42.5, "product": {"id": "p", "name": "n"}}')
        )
