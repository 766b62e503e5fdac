"""CONTRACTS.md "Limits on input": every bound and rule refuses what breaks it, with a precise reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from om_contracts import (
    CUSTOMERS_TOPIC,
    INTEGRATIONS_TOPIC,
    INVOICES_TOPIC,
    KEY_PATH,
    MAX_EVENT_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_NODES,
    MAX_LOCATION_IDS,
    MAX_MAPPINGS,
    MAX_NUMBER_DIGITS,
    MAX_TAX_CODES,
    ORDERS_TOPIC,
    PAYMENTS_TOPIC,
    PRODUCTS_TOPIC,
    ContractViolation,
    IntegrationConfigured,
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
        ("1e400", f"has more than {MAX_NUMBER_DIGITS} digits in full"),
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


# -- numbers bounded by their value, before any conversion (issue 23) --------------------------

HUGE_EXPONENTS = ["1e15000000", "1e100000000", "-1.5E+99", "1e41", "12345e36", "1e-41", "1E+0000000000000099"]


@pytest.fixture
def no_exponent_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the decoder converts a number written with an exponent at all."""

    def converted(token: str) -> Any:
        raise AssertionError(f"{token[:20]} was converted before its magnitude was checked")

    monkeypatch.setattr("om_contracts._json.ExponentDecimal", converted)


@pytest.mark.parametrize("number", HUGE_EXPONENTS)
@pytest.mark.usefixtures("no_exponent_conversion")
def test_an_exponent_number_too_large_for_the_bound_is_refused_from_its_text(number: str) -> None:
    with pytest.raises(JsonRefused, match=f"more than {MAX_NUMBER_DIGITS} digits in full"):
        loads('{"n": ' + number + "}")


@pytest.mark.parametrize("number", ["1e39", "1.5e38", "1e-38", "42.5e0", "1E+0000000000000009"])
def test_an_exponent_number_within_the_bound_still_decodes(number: str) -> None:
    assert loads('{"n": ' + number + "}")["n"] == Decimal(number)


def _numeric_leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every leaf of an event's data that is a number or a string of digits (amounts, ids, limits)."""
    if isinstance(value, dict):
        return [leaf for name, item in value.items() for leaf in _numeric_leaves(item, (*path, name))]
    if isinstance(value, list):
        return [leaf for n, item in enumerate(value) for leaf in _numeric_leaves(item, (*path, n))]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric or (isinstance(value, str) and re.fullmatch(r"[0-9.,]+", value)):
        return [path]
    return []


def _every_topic_example(wrap: Wrap, fixture_text: Text, integration_text: str) -> list[tuple[str, bytes]]:
    order = fixture_text("order.json").strip()
    invoice = order[:-1] + ', "order_id": "ord_8f3a2c", "issued_at": "2026-11-25T08:00:00+11:00"}'
    return [
        (ORDERS_TOPIC, wrap("order.placed", order)),
        (INVOICES_TOPIC, wrap("invoice.issued", invoice)),
        (CUSTOMERS_TOPIC, wrap("customer.upserted", fixture_text("customer.json"))),
        (PRODUCTS_TOPIC, wrap("product.upserted", fixture_text("product.json"))),
        (PAYMENTS_TOPIC, wrap("payment.succeeded", fixture_text("payment.json"))),
        (PAYMENTS_TOPIC, wrap("payout.settled", fixture_text("payout.json"))),
        (INTEGRATIONS_TOPIC, wrap("integration.netsuite.configured", integration_text)),
    ]


@pytest.mark.usefixtures("no_exponent_conversion")
def test_a_huge_exponent_in_every_numeric_field_of_every_topic_is_refused_before_conversion(
    wrap: Wrap, fixture_text: Text, integration_text: str
) -> None:
    checked = 0
    for topic, raw in _every_topic_example(wrap, fixture_text, integration_text):
        parse_event(topic, raw, key=b"sup_7c1e")  # the example itself is valid
        event = json.loads(raw)
        for path in [("occurred_at",), *(("data", *leaf) for leaf in _numeric_leaves(event["data"]))]:
            target = event
            for part in path[:-1]:
                target = target[part]
            saved, target[path[-1]] = target[path[-1]], "\x00NUMBER\x00"
            text = json.dumps(event).replace('"\\u0000NUMBER\\u0000"', "1e15000000")
            target[path[-1]] = saved
            [(where, reason)] = problems(topic, text.encode())
            assert (where, reason) == (
                "",
                f"a number written with an exponent has more than {MAX_NUMBER_DIGITS} digits in full",
            ), path
            checked += 1
    assert checked >= 40  # every amount, quantity, rate, id of digits and integer setting


# -- integer settings are strict, nested JSON and lists are bounded ----------------------------


@pytest.mark.parametrize("value", ["5.0", '"5"', "true", "5e0", "5.5"])
@pytest.mark.parametrize("field", ["concurrency_limit", "interval_minutes"])
def test_integer_settings_take_json_integers_only(
    wrap: Wrap, integration_text: str, field: str, value: str
) -> None:
    event = json.loads(wrap("integration.netsuite.configured", integration_text))
    target = event["data"] if field == "concurrency_limit" else event["data"]["stock"]
    target[field] = "\x00N\x00"
    text = json.dumps(event).replace('"\\u0000N\\u0000"', value)
    found = problems(INTEGRATIONS_TOPIC, text.encode())
    path = "data." + ("" if field == "concurrency_limit" else "stock.") + field
    assert [where for where, _ in found] == [path]
    assert "integer" in found[0][1]


def _with_settings(wrap: Wrap, integration_text: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(wrap("integration.netsuite.configured", integration_text))
    for name, value in changes.items():
        if name == "location_ids":
            event["data"]["stock"][name] = value
        else:
            event["data"][name] = value
    return event


@pytest.mark.parametrize(
    ("location_ids", "reason"),
    [
        ("[" * 40 + "]" * 40, "must be a comma-separated list of numbers such as '3,1,2'"),
        ("[1e15000000]", "must be a comma-separated list of numbers such as '3,1,2'"),
        ("[" + "7" * 5000 + "]", "must be a comma-separated list of numbers such as '3,1,2'"),
        (
            json.dumps([str(n) for n in range(90_000)]),
            f"has 90000 entries; at most {MAX_LOCATION_IDS} are accepted",
        ),
        (",".join(["3"] * (MAX_LOCATION_IDS + 1)), f"has {MAX_LOCATION_IDS + 1} entries; at most"),
        ([str(n) for n in range(MAX_LOCATION_IDS + 1)], f"has {MAX_LOCATION_IDS + 1} entries; at most"),
    ],
)
@pytest.mark.usefixtures("no_exponent_conversion")
def test_location_ids_go_through_the_bounded_decoder_and_their_bound(
    wrap: Wrap, integration_text: str, location_ids: Any, reason: str
) -> None:
    event = _with_settings(wrap, integration_text, location_ids=location_ids)
    [(where, found)] = problems(INTEGRATIONS_TOPIC, event)
    assert where == "data.stock.location_ids"
    assert found.startswith(reason)


def test_location_ids_up_to_the_bound_are_accepted(wrap: Wrap, integration_text: str) -> None:
    ids = [str(n + 1) for n in range(MAX_LOCATION_IDS)]
    for given in (ids, ",".join(ids), json.dumps(ids)):
        event = parse_event(
            INTEGRATIONS_TOPIC, json.dumps(_with_settings(wrap, integration_text, location_ids=given))
        )
        assert isinstance(event, IntegrationConfigured)
        assert event.data.stock.location_ids == tuple(ids)


@pytest.mark.parametrize(
    ("field", "bound"),
    [("tax_codes", MAX_TAX_CODES), ("product_mappings", MAX_MAPPINGS), ("customer_mappings", MAX_MAPPINGS)],
)
def test_maps_of_the_settings_have_a_bound(wrap: Wrap, integration_text: str, field: str, bound: int) -> None:
    entries = {f"0.{n:04d}" if field == "tax_codes" else f"id_{n}": "7" for n in range(bound + 1)}
    event = _with_settings(wrap, integration_text, **{field: entries})
    assert problems(INTEGRATIONS_TOPIC, event) == [
        (f"data.{field}", f"has {bound + 1} entries; at most {bound} are accepted")
    ]
    del entries[next(iter(entries))]
    assert isinstance(
        parse_event(
            INTEGRATIONS_TOPIC, json.dumps(_with_settings(wrap, integration_text, **{field: entries}))
        ),
        IntegrationConfigured,
    )


@pytest.mark.parametrize("item", ["1", "1.5", "{}", "[]", "1e3"])
def test_a_value_with_more_objects_arrays_and_numbers_than_the_bound_is_refused(item: str) -> None:
    many = "[" + ",".join([item] * (MAX_JSON_NODES + 1)) + "]"
    with pytest.raises(JsonRefused, match=f"more than {MAX_JSON_NODES:,} objects, arrays and numbers"):
        loads('{"pad": ' + many + "}")
    assert (
        len(loads('{"pad": [' + ",".join([item] * (MAX_JSON_NODES - 2)) + "]}")["pad"]) == MAX_JSON_NODES - 2
    )


def test_brackets_that_cannot_match_are_refused_before_parsing() -> None:
    with pytest.raises(JsonRefused, match="JSON brackets do not match"):
        loads("]" * 100 + "[]" * 40)
