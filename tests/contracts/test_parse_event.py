"""parse_event: known events, unknown event types, tombstones and clear contract violations."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from om_contracts import (
    INTEGRATIONS_TOPIC,
    ORDERS_TOPIC,
    PAYMENTS_TOPIC,
    ContractViolation,
    IntegrationConfigured,
    IntegrationDisconnected,
    Tombstone,
    UnknownEventType,
    integration_settings,
    parse_event,
)

Wrap = Callable[[str, str], bytes]
Text = Callable[[str], str]


def test_an_unknown_event_type_on_a_known_topic_is_recognised_not_fatal(
    wrap: Wrap, fixture_text: Text
) -> None:
    result = parse_event(ORDERS_TOPIC, wrap("order.archived", fixture_text("order.json")))

    assert result == UnknownEventType(
        topic=ORDERS_TOPIC,
        event_type="order.archived",
        event_id="evt_01JDZ3K4X8",
        supplier_id="sup_7c1e",
    )


def test_an_event_type_from_another_topic_counts_as_unknown_here(wrap: Wrap, fixture_text: Text) -> None:
    result = parse_event(PAYMENTS_TOPIC, wrap("order.placed", fixture_text("order.json")))

    assert isinstance(result, UnknownEventType)


def test_an_unknown_event_type_with_a_broken_envelope_is_a_violation() -> None:
    raw = b'{"event_type": "order.archived", "event_id": "e1", "supplier_id": "s", "data": {}}'

    with pytest.raises(ContractViolation) as caught:
        parse_event(ORDERS_TOPIC, raw)

    assert caught.value.problems == [("occurred_at", "Field required")]


def test_a_naive_occurred_at_is_refused_naming_the_field(wrap: Wrap, fixture_text: Text) -> None:
    # The first offset in the text is the envelope's occurred_at.
    raw = wrap("order.placed", fixture_text("order.json")).replace(b'+11:00"', b'"', 1)

    with pytest.raises(ContractViolation) as caught:
        parse_event(ORDERS_TOPIC, raw)

    [(path, reason)] = caught.value.problems
    assert path == "occurred_at"
    assert "RFC 3339 date-time string with an offset" in reason


def test_every_problem_is_listed_with_its_field_path(wrap: Wrap, fixture_text: Text) -> None:
    order = json.loads(fixture_text("order.json"))
    order["lines"][0]["quantity"] = "three"
    order["customer"]["properties"]["netsuite_id"] = "Café Luna"
    del order["totals"]["total"]

    with pytest.raises(ContractViolation) as caught:
        parse_event(ORDERS_TOPIC, wrap("order.placed", json.dumps(order)))

    paths = [path for path, _ in caught.value.problems]
    assert paths == ["data.customer.properties", "data.lines.0.quantity", "data.totals.total"]
    message = str(caught.value)
    assert message.startswith(f"invalid event on {ORDERS_TOPIC}: ")
    assert "data.lines.0.quantity: must be a plain decimal string" in message
    assert "property netsuite_id must be a NetSuite internal id" in message
    assert "three" not in message


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"not json", ("", "not valid JSON (Expecting value)")),
        (b"[1, 2]", ("", "an event must be a JSON object")),
        (b'{"event_id": "e"}', ("event_type", "is required")),
        (b'{"event_type": 7}', ("event_type", "must be a string")),
        (
            b'{"event_type": "order.placed", "x": NaN}',
            ("", "non-finite number NaN is not allowed in an event"),
        ),
        (b"\xff\xfe", ("", "value is not UTF-8 (byte 0xff at position 0)")),
    ],
)
def test_values_that_are_not_events_are_violations(raw: bytes, problem: tuple[str, str]) -> None:
    with pytest.raises(ContractViolation) as caught:
        parse_event(ORDERS_TOPIC, raw)

    [(path, reason)] = caught.value.problems
    assert path == problem[0]
    assert problem[1].removesuffix(")") in reason


def test_a_tombstone_on_the_integrations_topic_disconnects_the_supplier() -> None:
    result = parse_event(INTEGRATIONS_TOPIC, None, key=b"sup_7c1e")

    assert result == Tombstone(topic=INTEGRATIONS_TOPIC, key="sup_7c1e")
    assert integration_settings(result) is None


def test_a_null_value_on_a_topic_that_is_not_compacted_is_a_violation() -> None:
    with pytest.raises(ContractViolation, match="not compacted"):
        parse_event(ORDERS_TOPIC, None)


def test_configured_and_disconnected_events_give_the_settings_in_force(
    wrap: Wrap, integration_text: str
) -> None:
    configured = parse_event(INTEGRATIONS_TOPIC, wrap("integration.netsuite.configured", integration_text))
    disconnected = parse_event(
        INTEGRATIONS_TOPIC, wrap("integration.netsuite.disconnected", '{"account_id": "123"}')
    )

    assert isinstance(configured, IntegrationConfigured)
    assert integration_settings(configured) is configured.data
    assert isinstance(disconnected, IntegrationDisconnected)
    assert integration_settings(disconnected) is None


def test_a_violation_in_the_integration_never_echoes_a_plain_credential(
    wrap: Wrap, integration_text: str
) -> None:
    settings = json.loads(integration_text)
    settings["credentials"]["client_secret"] = "hunter2-plain-secret"

    with pytest.raises(ContractViolation) as caught:
        parse_event(INTEGRATIONS_TOPIC, wrap("integration.netsuite.configured", json.dumps(settings)))

    assert caught.value.problems == [
        ("data.credentials.tba.client_secret", "must be a credential sealed with the NetSuite key ring")
    ]
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value.__cause__)


def test_an_unknown_topic_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="unknown topic"):
        parse_event("ordermentum.nope.v1", b"{}")
