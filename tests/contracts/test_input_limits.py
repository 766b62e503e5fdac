"""CONTRACTS.md "Limits on input": every bound and rule refuses what breaks it, with a precise reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from om_contracts import (
    INTEGRATIONS_TOPIC,
    KEY_PATH,
    MAX_EVENT_BYTES,
    MAX_JSON_DEPTH,
    MAX_NUMBER_DIGITS,
    ORDERS_TOPIC,
    PAYMENTS_TOPIC,
    ContractViolation,
    JsonRefused,
    OrderPlaced,
    Tombstone,
    loads,
    parse_event,
)

Wrap = Callable[[str, str], bytes]
Text = Callable[[str], str]


@pytest.fixture
def order_event(wrap: Wrap, fixture_text: Text) -> dict[str, Any]:
    """The CONTRACTS.md order.placed example as a dict, to break one field at a time."""
    event: dict[str, Any] = json.loads(wrap("order.placed", fixture_text("order.json")))
    return event


def problems(
    topic: str, event: dict[str, Any] | bytes, key: bytes | None = b"sup_7c1e"
) -> list[tuple[str, str]]:
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    with pytest.raises(ContractViolation) as caught:
        parse_event(topic, raw, key=key)
    return caught.value.problems


# -- bounds on the JSON itself ----------------------------------------------------------------


def test_a_value_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    raw = b'{"pad": "' + b"A" * MAX_EVENT_BYTES + b'"}'
    with pytest.raises(JsonRefused, match=f"at most {MAX_EVENT_BYTES:,} are accepted"):
        loads(raw)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 10_000, 100_000])
def test_json_nested_deeper_than_the_bound_is_refused_without_recursing(depth: int) -> None:
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        with pytest.raises(JsonRefused, match=f"deeper than {MAX_JSON_DEPTH} levels"):
            loads(opener * depth + "1" + closer * depth)


def test_nesting_up_to_the_bound_is_accepted_and_brackets_inside_strings_do_not_count() -> None:
    assert loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    note = {"note": "[" * 100 + '"{' * 100}
    assert loads(json.dumps(note)) == note


@pytest.mark.parametrize("number", ["1" * 5000, "-" + "9" * 4301, "0." + "1" * 5000, "1" * 41])
def test_a_number_with_more_digits_than_the_bound_is_refused_before_conversion(number: str) -> None:
    with pytest.raises(JsonRefused, match=f"at most {MAX_NUMBER_DIGITS} are accepted"):
        loads('{"n": ' + number + "}")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": "\xff"}', "not UTF-8 (byte 0xff at position 7)"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b'{"a": 1, "a": 2}', "member 'a' appears twice in one object"),
        (b'{"a": "\\ud800"}', "unpaired UTF-16 surrogate"),
        (b'{"\\udc00": 1}', "unpaired UTF-16 surrogate"),
        (b'{"a": NaN}', "non-finite number NaN"),
        (b'{"a": -Infinity}', "non-finite number -Infinity"),
    ],
)
def test_text_that_is_not_utf8_json_the_contract_allows_is_refused_by_name(raw: bytes, reason: str) -> None:
    with pytest.raises(JsonRefused, match=re.escape(reason)):
        loads(raw)


def test_a_paired_surrogate_escape_is_ordinary_text() -> None:
    assert loads(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}


def test_a_refused_value_becomes_one_violation_naming_the_bound() -> None:
    [(path, reason)] = problems(ORDERS_TOPIC, b"[" * 10_000 + b"]" * 10_000)
    assert (path, reason) == ("", f"JSON nests deeper than {MAX_JSON_DEPTH} levels")


# -- the record key ---------------------------------------------------------------------------


def test_a_key_that_differs_from_the_supplier_is_refused_with_the_other_problems(
    order_event: dict[str, Any],
) -> None:
    order_event["data"]["lines"][0]["quantity"] = "0"
    found = problems(ORDERS_TOPIC, order_event, key=b"sup_other")
    assert found[0] == (
        KEY_PATH,
        "differs from the event's supplier_id (the key decides the partition, hence the order)",
    )
    assert found[1] == ("data.lines.0.quantity", "must be more than zero")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "is missing"),
        (b"\xffsup", "is not UTF-8"),
        (b"sup_7c1e ", "differs from the event's supplier_id"),
    ],
)
def test_a_missing_or_undecodable_key_is_refused(
    order_event: dict[str, Any], key: bytes | None, reason: str
) -> None:
    [(path, found)] = problems(ORDERS_TOPIC, order_event, key=key)
    assert path == KEY_PATH
    assert found.startswith(reason)


def test_the_key_is_checked_on_unknown_event_types_too(order_event: dict[str, Any]) -> None:
    order_event["event_type"] = "order.archived"
    assert problems(ORDERS_TOPIC, order_event, key=b"sup_other")[0][0] == KEY_PATH


def test_a_value_alone_is_validated_without_a_key(order_event: dict[str, Any]) -> None:
    assert isinstance(parse_event(ORDERS_TOPIC, json.dumps(order_event)), OrderPlaced)


@pytest.mark.parametrize(("key", "reason"), [(b"\xff", "is not UTF-8"), (b"sup_1\n", "control characters")])
def test_a_tombstone_key_must_be_a_supplier_id_as_written(key: bytes, reason: str) -> None:
    with pytest.raises(ContractViolation, match=reason):
        parse_event(INTEGRATIONS_TOPIC, None, key=key)
    assert parse_event(INTEGRATIONS_TOPIC, None, key=b"sup_1") == Tombstone(INTEGRATIONS_TOPIC, "sup_1")


# -- occurred_at and other times --------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [1764000000, 1764000000.5, True, "2026-11-24T09:15:00", "2026-11-24", "24/11/2026 09:15+11:00"],
)
def test_occurred_at_must_be_an_rfc3339_string_with_an_offset(
    order_event: dict[str, Any], occurred_at: Any
) -> None:
    order_event["occurred_at"] = occurred_at
    [(path, reason)] = problems(ORDERS_TOPIC, order_event)
    assert path == "occurred_at"
    assert reason.startswith("must be an RFC 3339 date-time string with an offset")


@pytest.mark.parametrize("occurred_at", ["2026-11-24T09:15:00Z", "2026-11-24t09:15:00.123456+11:00"])
def test_rfc3339_with_z_or_a_fraction_is_accepted(order_event: dict[str, Any], occurred_at: str) -> None:
    order_event["occurred_at"] = occurred_at
    assert isinstance(parse_event(ORDERS_TOPIC, json.dumps(order_event), key=b"sup_7c1e"), OrderPlaced)


def test_other_inbound_times_and_dates_are_text_too(order_event: dict[str, Any]) -> None:
    order_event["data"]["placed_at"] = 1764000000
    order_event["data"]["delivery_date"] = 20261126
    assert sorted(path for path, _ in problems(ORDERS_TOPIC, order_event)) == [
        "data.delivery_date",
        "data.placed_at",
    ]


# -- ids as written ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (("event_id",), "evt_1\n", "must not contain control characters"),
        (("supplier_id",), " sup_7c1e", "must not start or end with whitespace"),
        (("data", "id"), "ord_1\x00", "must not contain control characters"),
        (("data", "customer", "id"), "cus_1 ", "must not start or end with whitespace"),
        (("data", "lines", 0, "id"), "\u00a0ln_1", "must not start or end with whitespace"),
        (("data", "lines", 0, "product", "id"), "prd\x7f55", "must not contain control characters"),
    ],
)
def test_ids_with_surrounding_whitespace_or_control_characters_are_refused_not_trimmed(
    order_event: dict[str, Any], field: tuple[Any, ...], value: str, reason: str
) -> None:
    target = order_event
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    key = value.encode() if field == ("supplier_id",) else b"sup_7c1e"
    found = problems(ORDERS_TOPIC, order_event, key=key)
    assert (".".join(str(p) for p in field), reason) in found


@pytest.mark.parametrize("order_id", ["ord/1", "ord..1", "ord#1?x=%20", "ord 1", "заказ-1", "订单"])
def test_opaque_ids_with_punctuation_inner_spaces_or_non_latin_letters_are_accepted(
    order_event: dict[str, Any], order_id: str
) -> None:
    order_event["data"]["id"] = order_id
    event = parse_event(ORDERS_TOPIC, json.dumps(order_event), key=b"sup_7c1e")
    assert isinstance(event, OrderPlaced)
    assert event.data.id == order_id


@pytest.mark.parametrize("account_id", ["1234567_SB1\n", " 1234567", "1234567\x00"])
def test_an_integration_account_id_is_taken_exactly_as_written(
    wrap: Wrap, integration_text: str, account_id: str
) -> None:
    event = json.loads(wrap("integration.netsuite.configured", integration_text))
    event["data"]["account_id"] = account_id
    [(path, reason)] = problems(INTEGRATIONS_TOPIC, event)
    assert path == "data.account_id"
    assert "taken exactly as written" in reason


def test_a_netsuite_id_property_with_spaces_is_refused(order_event: dict[str, Any]) -> None:
    order_event["data"]["customer"]["properties"]["netsuite_id"] = " 812"
    assert [path for path, _ in problems(ORDERS_TOPIC, order_event)] == ["data.customer.properties"]


# -- amounts, prices and quantities NetSuite books ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("lines", 0, "quantity"), "-3", "must not be negative or carry a minus sign"),
        (("lines", 0, "quantity"), "-0", "must not be negative or carry a minus sign"),
        (("lines", 0, "quantity"), "0", "must be more than zero"),
        (("lines", 0, "quantity"), "0.0000001", "has 7 decimals; at most 6 are accepted"),
        (("lines", 0, "unit_price"), "-42.50", "must not be negative or carry a minus sign"),
        (("lines", 0, "unit_price"), "-0.00", "must not be negative or carry a minus sign"),
        (("lines", 0, "unit_price"), "0." + "1" * 60, "has 60 decimals; at most 6 are accepted"),
        (("lines", 0, "tax_rate"), "-0.10", "must not be negative or carry a minus sign"),
        (("freight", "amount"), "15.001", "has 3 decimals; at most 2 are accepted"),
        (("surcharge", "amount"), "-2.35", "must not be negative or carry a minus sign"),
        (("totals", "total"), "1" * 16, "has 16 digits; at most 15 are accepted"),
        (("totals", "total"), "1" * 5000, "has 5000 digits; at most 15 are accepted"),
    ],
)
def test_numbers_netsuite_would_not_book_as_sent_are_refused(
    order_event: dict[str, Any], path: tuple[Any, ...], value: str, reason: str
) -> None:
    target = order_event["data"]
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    found = problems(ORDERS_TOPIC, order_event)
    assert ("data." + ".".join(str(p) for p in path), reason) in found


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("42.5e0", "must be written without an exponent"),
        ("1e400", "must be written without an exponent"),
        ("-0", "must not be negative or carry a minus sign"),
        ("NaN", "non-finite number NaN"),
        ("Infinity", "non-finite number Infinity"),
    ],
)
def test_json_numbers_for_money_must_be_plain_exact_decimals(
    order_event: dict[str, Any], number: str, reason: str
) -> None:
    text = json.dumps(order_event).replace('"unit_price": "42.50"', f'"unit_price": {number}')
    found = problems(ORDERS_TOPIC, text.encode())
    assert any(reason in problem for _, problem in found), found


def test_plain_json_numbers_for_money_are_still_exact(order_event: dict[str, Any]) -> None:
    text = json.dumps(order_event).replace('"unit_price": "42.50"', '"unit_price": 42.50')
    event = parse_event(ORDERS_TOPIC, text, key=b"sup_7c1e")
    assert isinstance(event, OrderPlaced)
    assert str(event.data.lines[0].unit_price) == "42.50"


@pytest.mark.parametrize("field", ["amount", "fees"])
def test_payout_amounts_are_bookable_amounts(wrap: Wrap, fixture_text: Text, field: str) -> None:
    event = json.loads(wrap("payout.settled", fixture_text("payout.json")))
    event["data"][field] = "-1.00"
    assert (f"data.{field}", "must not be negative or carry a minus sign") in problems(PAYMENTS_TOPIC, event)
