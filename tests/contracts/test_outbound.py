"""Outbound events: built by the services, strict about extra fields, money as strings."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from pydantic import ValidationError

from om_contracts import (
    CATALOG_TOPIC,
    RECONCILIATION_TOPIC,
    STOCK_LEVELS_TOPIC,
    SYNC_RESULTS_TOPIC,
    ErrorCode,
    NetSuiteItemChanged,
    NetSuiteOrderFailed,
    NetSuiteOrderSynced,
    NetSuitePaymentReconciled,
    NetSuiteStockChanged,
    new_event_id,
    parse_event,
)

AT = dt.datetime(2026, 11, 24, 9, 15, tzinfo=dt.timezone(dt.timedelta(hours=11)))
ORDER_RESULT = {
    "source_event_id": "evt_01JDZ3K4X8",
    "kind": "order",
    "ordermentum_id": "ord_8f3a2c",
    "number": "100231",
}
"""What every order outcome below says about the order it reports on."""


def _synced() -> NetSuiteOrderSynced:
    return NetSuiteOrderSynced.model_validate(
        {
            "event_id": "evt_1",
            "occurred_at": AT,
            "supplier_id": "sup_7c1e",
            "data": {
                **ORDER_RESULT,
                "netsuite": {
                    "record_type": "salesOrder",
                    "internal_id": "9001",
                    "external_id": "OM-ORDER-ord_8f3a2c",
                    "tran_id": "SO-77",
                },
                "attempts": 1,
            },
        }
    )


def test_a_synced_result_gets_its_event_type_and_round_trips() -> None:
    event = _synced()

    parsed = parse_event(SYNC_RESULTS_TOPIC, event.model_dump_json())

    assert event.event_type == "netsuite.order.synced"
    assert parsed == event


def test_a_failure_lists_every_problem_with_a_stable_code() -> None:
    event = NetSuiteOrderFailed.model_validate(
        {
            "event_id": new_event_id(),
            "occurred_at": AT,
            "supplier_id": "sup_7c1e",
            "data": {
                **ORDER_RESULT,
                "attempts": 1,
                "error": {
                    "code": "UNMAPPED_PRODUCT",
                    "message": "2 products have no NetSuite item",
                    "retryable": False,
                    "details": [
                        {"reason": "no NetSuite item", "ordermentum_id": "prd_55"},
                        {"reason": "no NetSuite item", "ordermentum_id": "prd_56"},
                    ],
                },
            },
        }
    )

    body = json.loads(event.model_dump_json())

    assert body["data"]["error"]["code"] == "UNMAPPED_PRODUCT"
    assert [d["ordermentum_id"] for d in body["data"]["error"]["details"]] == ["prd_55", "prd_56"]
    assert event.data.error.code is ErrorCode.UNMAPPED_PRODUCT
    assert event.event_id.startswith("evt_")


def test_a_synced_result_requires_the_netsuite_record() -> None:
    body = _synced().model_dump()
    del body["data"]["netsuite"]

    with pytest.raises(ValidationError, match=r"data\.netsuite"):
        NetSuiteOrderSynced.model_validate(body)


def test_outbound_payloads_refuse_unknown_fields() -> None:
    body = _synced().model_dump()
    body["data"]["surprise"] = 1

    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        NetSuiteOrderSynced.model_validate(body)


def test_the_error_codes_are_the_documented_stable_strings() -> None:
    documented = {
        "UNMAPPED_CUSTOMER",
        "UNMAPPED_PRODUCT",
        "MISSING_FREIGHT_ITEM",
        "MISSING_SURCHARGE_ITEM",
        "INTEGRATION_NOT_CONFIGURED",
        "NETSUITE_REJECTED",
        "NETSUITE_AUTH_FAILED",
        "NETSUITE_UNAVAILABLE",
        "INVALID_EVENT",
    }

    assert documented <= {code.value for code in ErrorCode}
    assert all(code.value == code.name for code in ErrorCode)


def test_a_stock_change_writes_quantities_as_strings() -> None:
    event = NetSuiteStockChanged.model_validate(
        {
            "event_id": "evt_2",
            "occurred_at": AT,
            "supplier_id": "sup_7c1e",
            "data": {
                "product_id": "prd_55",
                "netsuite_item_id": "2044",
                "field": "available",
                "quantity": Decimal("12.5"),
                "default_location_id": "3",
                "locations": [
                    {"location_id": "3", "quantity": "12.5"},
                    {"location_id": "1", "quantity": 0},
                ],
                "as_of": AT,
            },
        }
    )

    body = json.loads(event.model_dump_json())

    assert body["data"]["quantity"] == "12.5"
    assert body["data"]["locations"][1] == {"location_id": "1", "quantity": "0"}
    assert parse_event(STOCK_LEVELS_TOPIC, event.model_dump_json()) == event


def test_an_unmatched_payment_has_no_netsuite_payment() -> None:
    event = NetSuitePaymentReconciled.model_validate(
        {
            "event_id": "evt_3",
            "occurred_at": AT,
            "supplier_id": "sup_7c1e",
            "data": {"payment_id": "pay_31c0", "outcome": "unmatched", "reason": "no customer"},
        }
    )

    assert parse_event(RECONCILIATION_TOPIC, event.model_dump_json()) == event
    with pytest.raises(ValidationError, match="outcome"):
        NetSuitePaymentReconciled.model_validate(
            {**event.model_dump(), "data": {"payment_id": "p", "outcome": "lost"}}
        )


def test_a_catalog_item_carries_its_mapping_when_known() -> None:
    event = NetSuiteItemChanged.model_validate(
        {
            "event_id": "evt_4",
            "occurred_at": AT,
            "supplier_id": "sup_7c1e",
            "data": {
                "netsuite_id": "2044",
                "name": "House Blend 1kg",
                "sku": "COF-1KG",
                "is_inactive": False,
                "ordermentum_id": "prd_55",
            },
        }
    )

    assert parse_event(CATALOG_TOPIC, event.model_dump_json()) == event


def test_a_sync_result_kind_must_agree_with_its_event_type() -> None:
    body = _synced().model_dump()
    body["data"]["kind"] = "invoice"

    with pytest.raises(
        ValidationError, match=re.escape("data.kind must be 'order' for netsuite.order.synced")
    ):
        NetSuiteOrderSynced.model_validate(body)


def test_the_kafka_key_is_the_supplier_id() -> None:
    assert _synced().kafka_key() == b"sup_7c1e"
