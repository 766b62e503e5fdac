"""This round's finance additions: tax codes, the fees account, totals on outcomes, invoice changes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from om_contracts import (
    NETSUITE_INVOICES_TOPIC,
    SYNC_RESULTS_TOPIC,
    ErrorCode,
    IntegrationSettings,
    NetSuiteFinalisedInvoiceVoided,
    NetSuiteInvoiceUpdated,
    NetSuiteInvoiceVoided,
    NetSuiteOrderSynced,
    WarningCode,
    parse_event,
)


@pytest.fixture
def settings_dict(integration_text: str) -> dict[str, Any]:
    """The CONTRACTS.md integration example, to change one field at a time."""
    return dict(json.loads(integration_text))


def _reasons(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, message) of every problem `IntegrationSettings` finds in `payload`."""
    try:
        IntegrationSettings.model_validate(payload)
    except ValidationError as exc:
        return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
    raise AssertionError("the settings were accepted")


def test_tax_codes_are_optional_and_absent_means_netsuite_defaults(settings_dict: dict[str, Any]) -> None:
    settings = IntegrationSettings.model_validate(settings_dict)

    assert settings.tax_codes is None
    assert settings.tax_code_for(Decimal("0.10")) is None


def test_tax_codes_match_rates_by_value_and_a_missing_rate_counts_as_zero(
    settings_dict: dict[str, Any],
) -> None:
    settings_dict["tax_codes"] = {"0.10": "7", "0": "8"}
    settings = IntegrationSettings.model_validate(settings_dict)

    assert settings.tax_code_for(Decimal("0.1")) == "7"
    assert settings.tax_code_for(Decimal("0.100")) == "7"
    assert settings.tax_code_for(Decimal("0.00")) == "8"
    assert settings.tax_code_for(None) == "8"
    assert settings.tax_code_for(Decimal("0.15")) is None


@pytest.mark.parametrize("rate", ["10%", "1.5", "-0.1", " 0.1", "1e-1", "", "abc"])
def test_a_tax_rate_that_is_not_a_fraction_is_refused_naming_it(
    settings_dict: dict[str, Any], rate: str
) -> None:
    settings_dict["tax_codes"] = {rate: "7"}

    [(path, reason)] = _reasons(settings_dict)

    assert path == "tax_codes"
    assert repr(rate) in reason
    assert "between 0 and 1" in reason


def test_two_spellings_of_one_rate_are_refused(settings_dict: dict[str, Any]) -> None:
    settings_dict["tax_codes"] = {"0.1": "7", "0.10": "9"}

    [(path, reason)] = _reasons(settings_dict)

    assert path == "tax_codes"
    assert "same rate" in reason


def test_a_tax_code_must_be_a_netsuite_internal_id(settings_dict: dict[str, Any]) -> None:
    settings_dict["tax_codes"] = {"0.10": "GST"}

    [(path, _reason)] = _reasons(settings_dict)

    assert path == "tax_codes.0.10"


def test_the_fees_account_is_optional_and_a_netsuite_id(settings_dict: dict[str, Any]) -> None:
    assert IntegrationSettings.model_validate(settings_dict).auto_reconciliation.fees_account_id is None
    settings_dict["auto_reconciliation"]["fees_account_id"] = "640"
    assert IntegrationSettings.model_validate(settings_dict).auto_reconciliation.fees_account_id == "640"
    settings_dict["auto_reconciliation"]["fees_account_id"] = "fees"
    [(path, _reason)] = _reasons(settings_dict)
    assert path == "auto_reconciliation.fees_account_id"


def _synced(data: dict[str, Any]) -> bytes:
    envelope = {
        "event_id": "evt_1",
        "event_type": "netsuite.order.synced",
        "occurred_at": "2026-11-24T09:15:00+11:00",
        "supplier_id": "sup_7c1e",
        "data": {
            "source_event_id": "evt_0",
            "kind": "order",
            "ordermentum_id": "ord_1",
            "number": "100231",
            "attempts": 1,
            "netsuite": {
                "record_type": "salesOrder",
                "internal_id": "1001",
                "external_id": "OM-ORDER-ord_1",
                "tran_id": "SO1",
            },
            **data,
        },
    }
    return json.dumps(envelope).encode()


def test_a_synced_outcome_carries_both_totals_and_a_totals_mismatch_warning() -> None:
    totals = {
        "ordermentum": {"subtotal": "144.85", "tax": "14.25", "total": "159.10", "lines": 3},
        "netsuite": {"subtotal": "144.85", "tax": "15.74", "total": "160.59", "lines": 3},
    }
    warning = {"code": "TOTALS_MISMATCH", "message": "tax 14.25 in Ordermentum, 15.74 in NetSuite"}

    event = parse_event(SYNC_RESULTS_TOPIC, _synced({"totals": totals, "warnings": [warning]}))

    assert isinstance(event, NetSuiteOrderSynced)
    assert event.data.totals is not None
    assert event.data.totals.netsuite.tax == Decimal("15.74")
    assert event.data.warnings[0].code == WarningCode.TOTALS_MISMATCH
    assert json.loads(event.model_dump_json())["data"]["totals"]["ordermentum"]["total"] == "159.10"


def test_an_older_synced_outcome_without_totals_still_parses() -> None:
    event = parse_event(SYNC_RESULTS_TOPIC, _synced({}))

    assert isinstance(event, NetSuiteOrderSynced)
    assert event.data.totals is None
    assert event.data.warnings == ()


def test_unmapped_tax_rate_is_a_stable_error_code() -> None:
    assert ErrorCode("UNMAPPED_TAX_RATE") is ErrorCode.UNMAPPED_TAX_RATE


def test_the_invoices_topic_carries_updated_and_voided_with_their_own_payloads() -> None:
    base = {"occurred_at": "2026-11-24T09:15:00+11:00", "supplier_id": "sup_7c1e"}
    updated = {
        **base,
        "event_id": "evt_u",
        "event_type": "netsuite.invoice.updated",
        "data": {
            "order_id": "ord_1",
            "netsuite_invoice_id": "1002",
            "tran_id": "INV1",
            "issued_at": "2026-11-24T09:15:00+11:00",
            "due_date": "2026-12-24",
            "currency": "AUD",
            "lines": [],
            "totals": {"subtotal": "10.00", "tax": "1.00", "total": "11.00"},
            "amount_due": "11.00",
        },
    }
    voided = {
        **base,
        "event_id": "evt_v",
        "event_type": "netsuite.invoice.voided",
        "data": {
            "order_id": "ord_1",
            "netsuite_invoice_id": "1002",
            "voided_at": "2026-11-24T10:00:00+11:00",
            "reason": "deleted",
        },
    }

    assert isinstance(parse_event(NETSUITE_INVOICES_TOPIC, json.dumps(updated)), NetSuiteInvoiceUpdated)
    parsed = parse_event(NETSUITE_INVOICES_TOPIC, json.dumps(voided))
    assert isinstance(parsed, NetSuiteFinalisedInvoiceVoided)
    assert parsed.data.reason == "deleted"
    assert NetSuiteFinalisedInvoiceVoided is not NetSuiteInvoiceVoided
