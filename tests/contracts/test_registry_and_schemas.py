"""The topic registry is complete and the committed JSON Schemas are current."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

from pydantic import BaseModel

from om_contracts import (
    DEFAULT_PARTITIONS,
    INTEGRATION_STATUS_TOPIC,
    INTEGRATIONS_TOPIC,
    TOPICS,
    DeadLetterHeaders,
    NetSuiteOrderSynced,
    OrderPlaced,
    event_type_of,
    get_topic,
    schemas,
    topic_for_event,
)

_DOCUMENTED_TOPICS = {
    "ordermentum.integrations.v1": {
        "integration.netsuite.configured",
        "integration.netsuite.disconnected",
    },
    "ordermentum.orders.v1": {"order.placed", "order.updated", "order.cancelled"},
    "ordermentum.invoices.v1": {"invoice.issued", "invoice.updated", "invoice.voided"},
    "ordermentum.customers.v1": {"customer.upserted"},
    "ordermentum.products.v1": {"product.upserted"},
    "ordermentum.payments.v1": {"payment.succeeded", "payout.settled"},
    "netsuite.sync-results.v1": {
        "netsuite.order.synced",
        "netsuite.order.failed",
        "netsuite.order.cancelled",
        "netsuite.invoice.synced",
        "netsuite.invoice.failed",
        "netsuite.invoice.voided",
    },
    "netsuite.stock-levels.v1": {"netsuite.stock.changed"},
    "netsuite.invoices.v1": {
        "netsuite.invoice.finalised",
        "netsuite.invoice.updated",
        "netsuite.invoice.voided",
    },
    "netsuite.credit-notes.v1": {"netsuite.credit_note.created"},
    "netsuite.invoice-payments.v1": {"netsuite.invoice.paid"},
    "netsuite.reconciliation.v1": {
        "netsuite.payment.reconciled",
        "netsuite.payout.deposited",
    },
    "netsuite.catalog.v1": {"netsuite.customer.changed", "netsuite.item.changed"},
    "netsuite.integration-status.v1": {"netsuite.integration.status"},
}


def test_every_documented_topic_and_event_type_is_registered() -> None:
    registered = {topic.name: set(topic.event_types) for topic in TOPICS}

    assert registered == _DOCUMENTED_TOPICS


def test_only_the_integrations_and_status_topics_are_compacted() -> None:
    assert [topic.name for topic in TOPICS if topic.compacted] == [
        INTEGRATIONS_TOPIC,
        INTEGRATION_STATUS_TOPIC,
    ]
    assert {topic.partitions for topic in TOPICS} == {DEFAULT_PARTITIONS}
    assert get_topic(INTEGRATIONS_TOPIC).dead_letter_topic == "ordermentum.integrations.v1.dlq"


def test_each_event_class_knows_its_topic() -> None:
    assert topic_for_event(OrderPlaced).name == "ordermentum.orders.v1"
    assert topic_for_event(NetSuiteOrderSynced).name == "netsuite.sync-results.v1"
    assert event_type_of(OrderPlaced) == "order.placed"


def _models_reachable_from(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            current = stack.pop()
            if isinstance(current, type) and issubclass(current, BaseModel):
                _models_reachable_from(current, seen)
            stack.extend(typing.get_args(current))


def test_every_field_of_every_model_has_a_description() -> None:
    seen: set[type[BaseModel]] = set()
    for topic in TOPICS:
        for event in topic.events:
            _models_reachable_from(event, seen)
    _models_reachable_from(DeadLetterHeaders, seen)

    missing = [
        f"{model.__name__}.{name}"
        for model in seen
        for name, field in model.model_fields.items()
        if not field.description
    ]

    assert len(seen) > 40
    assert missing == []


def test_the_committed_json_schemas_are_not_stale() -> None:
    assert schemas.stale() == [], "run: .venv/bin/python -m om_contracts.schemas"


def test_the_schema_check_fails_and_lists_a_stale_file(tmp_path: Path) -> None:
    schemas.write(tmp_path)
    (tmp_path / "order.placed.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "old.event.json").write_text("{}\n", encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "om_contracts.schemas", "--check", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "order.placed.json (out of date)" in result.stderr
    assert "old.event.json (no longer generated)" in result.stderr


def test_schema_output_is_deterministic_and_covers_every_event() -> None:
    first, second = schemas.render(), schemas.render()

    assert first == second
    assert all(text.endswith("}\n") for text in first.values())
    documented = set().union(*_DOCUMENTED_TOPICS.values())
    assert {name.removesuffix(".json") for name in first} == documented | {
        "dead-letter-headers",
        "topics",
        # the same event type on a second topic, with its own payload, gets its own file
        "netsuite.invoice.voided@netsuite.invoices.v1",
    }


def test_inbound_money_schema_accepts_numbers_and_outbound_money_is_a_string() -> None:
    inbound = schemas.render()["order.placed.json"]
    outbound = schemas.render()["netsuite.stock.changed.json"]

    assert '"type": "number"' in inbound
    assert re.search(r'"quantity": \{[^}]*"type": "string"', outbound)
