"""`netsuite.integration-status.v1`: the connection state event round-trips and refuses what it does not know."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from om_contracts import (
    INTEGRATION_STATUS_TOPIC,
    SETUP_GUIDE_PERMISSIONS,
    NetSuiteIntegrationStatus,
    get_topic,
    parse_event,
)

AT = "2026-11-24T09:15:00+11:00"


def _status(**data: object) -> NetSuiteIntegrationStatus:
    return NetSuiteIntegrationStatus.model_validate(
        {
            "event_id": "evt_status_1",
            "occurred_at": AT,
            "supplier_id": "sup_7c1e",
            "data": {"state": "auth_failed", "since": AT, "service": "order_sync", **data},
        }
    )


def test_a_permission_missing_status_names_the_permission_and_round_trips() -> None:
    event = _status(
        state="permission_missing",
        previous_state="connected",
        detail="Customer Deposit",
        record_type="customerDeposit",
        account_id="1234567_SB1",
        last_error={"code": "INSUFFICIENT_PERMISSION", "message": "403 Permission Violation"},
    )

    assert parse_event(INTEGRATION_STATUS_TOPIC, event.model_dump_json()) == event
    assert event.data.detail in SETUP_GUIDE_PERMISSIONS


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValidationError, match="state"):
        _status(state="flaky")


def test_the_status_topic_is_keyed_by_supplier_and_compacted() -> None:
    topic = get_topic(INTEGRATION_STATUS_TOPIC)

    assert topic.key == "supplier_id"
    assert topic.compacted
    assert topic.direction == "outbound"
