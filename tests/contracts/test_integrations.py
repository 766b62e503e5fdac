"""The ``integration`` settings enforce every rule in CONTRACTS.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from om_contracts import (
    MAX_CONCURRENCY_LIMIT,
    Customer,
    IntegrationSettings,
    KeyRing,
    M2MCredentials,
    Product,
    SyncType,
)


@pytest.fixture
def settings_dict(integration_text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(integration_text)
    return loaded


def _problems(payload: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        IntegrationSettings.model_validate(payload)
    return [(".".join(str(part) for part in error["loc"]), error["msg"]) for error in caught.value.errors()]


@pytest.mark.parametrize("bad", ["123.evil.com", "1234567_SB1/../x", "abc", ""])
def test_a_bad_account_id_is_refused_naming_the_field(settings_dict: dict[str, Any], bad: str) -> None:
    settings_dict["account_id"] = bad

    [(path, reason)] = _problems(settings_dict)

    assert path == "account_id"
    assert "digits, optionally followed by _SB<n> or _RP<n>" in reason


def test_a_lower_case_sandbox_account_id_is_upper_cased(settings_dict: dict[str, Any]) -> None:
    settings_dict["account_id"] = "1234567_sb1"

    assert IntegrationSettings.model_validate(settings_dict).account_id == "1234567_SB1"


def test_an_unknown_sync_type_is_refused(settings_dict: dict[str, Any]) -> None:
    settings_dict["sync_type"] = "both"

    [(path, reason)] = _problems(settings_dict)

    assert path == "sync_type"
    assert "'orders' or 'invoices'" in reason


def test_finalised_invoices_with_invoice_sync_are_refused_with_the_reason(
    settings_dict: dict[str, Any],
) -> None:
    settings_dict["sync_type"] = "invoices"

    [(path, reason)] = _problems(settings_dict)

    assert path == "finalised_invoice_sync"
    assert "requires sync_type 'orders'" in reason


def test_invoice_sync_without_finalised_invoices_is_fine(settings_dict: dict[str, Any]) -> None:
    settings_dict["sync_type"] = "INVOICES".lower()
    settings_dict["finalised_invoice_sync"] = False

    assert IntegrationSettings.model_validate(settings_dict).sync_type is SyncType.INVOICES


@pytest.mark.parametrize("locations", ["3,x,2", "3;1", '[3, "a"]', "[3, 1.5]", "-1"])
def test_non_numeric_locations_are_refused(settings_dict: dict[str, Any], locations: str) -> None:
    settings_dict["stock"]["location_ids"] = locations

    problems = _problems(settings_dict)

    assert problems
    assert all(path.startswith("stock.location_ids") for path, _ in problems)


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("3,1,2", ("3", "1", "2")),
        (" 3 , 1 ,2, ", ("3", "1", "2")),
        ("[3, 1, 2]", ("3", "1", "2")),
        ([3, "1", 2], ("3", "1", "2")),
        ("12", ("12",)),
    ],
)
def test_locations_are_read_from_text_or_a_list_in_order(
    settings_dict: dict[str, Any], typed: Any, parsed: tuple[str, ...]
) -> None:
    settings_dict["stock"]["location_ids"] = typed

    stock = IntegrationSettings.model_validate(settings_dict).stock

    assert stock.location_ids == parsed
    assert stock.default_location_id == parsed[0]


def test_stock_sync_needs_a_location(settings_dict: dict[str, Any]) -> None:
    settings_dict["stock"]["location_ids"] = ""

    assert _problems(settings_dict) == [
        ("stock.location_ids", "at least one location is required when stock sync is enabled")
    ]


def test_stock_field_and_interval_are_checked(settings_dict: dict[str, Any]) -> None:
    settings_dict["stock"]["field"] = "committed"
    settings_dict["stock"]["interval_minutes"] = 0

    paths = {path for path, _ in _problems(settings_dict)}

    assert paths == {"stock.field", "stock.interval_minutes"}


@pytest.mark.parametrize("limit", [0, -1, MAX_CONCURRENCY_LIMIT + 1])
def test_concurrency_limit_must_be_sensible(settings_dict: dict[str, Any], limit: int) -> None:
    settings_dict["concurrency_limit"] = limit

    [(path, _)] = _problems(settings_dict)

    assert path == "concurrency_limit"


def test_minimal_settings_take_the_documented_defaults(integration_text: str) -> None:
    full = json.loads(integration_text)
    minimal = {key: full[key] for key in ("account_id", "credentials", "sync_type")}

    settings = IntegrationSettings.model_validate(minimal)

    assert settings.concurrency_limit == 5
    assert settings.stock.enabled is False
    assert settings.auto_reconciliation.enabled is False
    assert settings.finalised_invoice_sync is False
    assert settings.product_mappings == {}


def test_mappings_must_point_at_netsuite_internal_ids(settings_dict: dict[str, Any]) -> None:
    settings_dict["product_mappings"] = {"prd_55": "COF-1KG"}
    settings_dict["customer_mappings"] = {"cus_19ab": "812"}
    settings_dict["surcharge_item_id"] = "surcharge"

    paths = {path for path, _ in _problems(settings_dict)}

    assert paths == {"product_mappings.prd_55", "surcharge_item_id"}


def test_auto_reconciliation_needs_a_bank_account(settings_dict: dict[str, Any]) -> None:
    del settings_dict["auto_reconciliation"]["bank_account_id"]

    [(path, reason)] = _problems(settings_dict)

    assert path == "auto_reconciliation.bank_account_id"
    assert "required" in reason


def test_a_plain_credential_is_refused_without_echoing_it(settings_dict: dict[str, Any]) -> None:
    settings_dict["credentials"]["token_secret"] = "plain-token-secret-value"

    with pytest.raises(ValidationError) as caught:
        IntegrationSettings.model_validate(settings_dict)

    assert "credentials.tba.token_secret" in str(caught.value).replace("\n  ", ".")
    assert "plain-token-secret-value" not in str(caught.value)


def test_unknown_fields_from_a_newer_platform_are_ignored(settings_dict: dict[str, Any]) -> None:
    settings_dict["brand_new_option"] = {"x": 1}

    assert not hasattr(IntegrationSettings.model_validate(settings_dict), "brand_new_option")


def test_settings_are_frozen(settings_dict: dict[str, Any]) -> None:
    settings = IntegrationSettings.model_validate(settings_dict)

    with pytest.raises(ValidationError, match="frozen"):
        settings.sync_type = SyncType.INVOICES  # type: ignore[misc]  # assigning is the test


def test_sealed_credentials_stay_sealed_when_serialised_again(
    settings_dict: dict[str, Any], key_ring: KeyRing
) -> None:
    settings = IntegrationSettings.model_validate(settings_dict)

    again = json.loads(settings.model_dump_json())

    assert again["credentials"] == {"kind": "tba", **settings_dict["credentials"]}
    for plain in ("ck-plain", "cs-plain", "tk-plain", "ts-plain"):
        assert plain not in settings.model_dump_json()
        assert plain not in repr(settings)
        assert plain not in str(settings.model_dump())
    assert "gAAAA" not in repr(settings)
    assert key_ring.open(settings.credentials.client_id).get_secret_value() == "ck-plain"


def test_all_four_credentials_open_with_the_key_ring(
    settings_dict: dict[str, Any], key_ring: KeyRing
) -> None:
    opened = IntegrationSettings.model_validate(settings_dict).credentials.open(key_ring)

    assert opened.client_id.get_secret_value() == "ck-plain"
    assert opened.token_secret.get_secret_value() == "ts-plain"
    assert "ts-plain" not in repr(opened)


def test_the_mapping_tab_wins_over_the_netsuite_id_property(
    settings_dict: dict[str, Any],
) -> None:
    settings = IntegrationSettings.model_validate(settings_dict)
    mapped = Customer(id="cus_19ab", name="Café Luna", properties={"netsuite_id": "999"})
    unmapped = Customer(id="cus_other", name="B", properties={"netsuite_id": "777"})
    unknown = Product(id="prd_99", name="P")

    assert settings.netsuite_customer_id(mapped) == "812"
    assert settings.netsuite_customer_id(unmapped) == "777"
    assert settings.netsuite_item_id(Product(id="prd_55", name="House Blend")) == "2044"
    assert settings.netsuite_item_id(unknown) is None


def _m2m(key_ring: KeyRing, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "oauth2_m2m",
        "client_id": key_ring.seal("client-1").token,
        "certificate_id": key_ring.seal("cert-1").token,
        "private_key": key_ring.seal("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n").token,
        **extra,
    }


def test_oauth2_m2m_credentials_are_read_with_their_optional_expiry(
    settings_dict: dict[str, Any], key_ring: KeyRing
) -> None:
    payload = {**settings_dict, "credentials": _m2m(key_ring, certificate_expires_at="2028-03-01T00:00:00Z")}

    credentials = IntegrationSettings.model_validate(payload).credentials

    assert isinstance(credentials, M2MCredentials)
    assert credentials.certificate_expires_at == datetime(2028, 3, 1, tzinfo=UTC)
    assert key_ring.open(credentials.certificate_id).get_secret_value() == "cert-1"
    assert "cert-1" not in repr(credentials)
    assert IntegrationSettings.model_validate(settings_dict).credentials.kind == "tba"  # kind absent


@pytest.mark.parametrize(
    ("credentials", "where", "reason"),
    [
        (
            {"token_id": "x"},
            "credentials.oauth2_m2m",
            "credentials of kind 'oauth2_m2m' cannot carry token_id: oauth2_m2m takes client_id, "
            "certificate_id, private_key and certificate_expires_at",
        ),
        ({"kind": "oauth1"}, "credentials", "kind must be 'tba' (or absent) or 'oauth2_m2m'"),
        ({"certificate_expires_at": "2028-03-01"}, "credentials.oauth2_m2m.certificate_expires_at", None),
        ({"private_key": "-----BEGIN PRIVATE KEY-----"}, "credentials.oauth2_m2m.private_key", None),
    ],
)
def test_a_mix_of_kinds_or_a_plain_value_is_refused_with_the_reason(
    settings_dict: dict[str, Any],
    key_ring: KeyRing,
    credentials: dict[str, Any],
    where: str,
    reason: str | None,
) -> None:
    problems = _problems({**settings_dict, "credentials": _m2m(key_ring, **credentials)})

    assert [loc for loc, _ in problems] == [where]
    if reason is not None:
        assert problems[0][1] == reason
    assert "BEGIN PRIVATE KEY" not in str(problems)


def test_tba_credentials_with_an_m2m_field_are_refused_naming_it(
    settings_dict: dict[str, Any], key_ring: KeyRing
) -> None:
    tba = {**settings_dict["credentials"], "certificate_id": key_ring.seal("c").token}

    problems = _problems({**settings_dict, "credentials": tba})

    assert problems == [
        (
            "credentials.tba",
            "credentials of kind 'tba' cannot carry certificate_id: TBA takes client_id, client_secret, "
            "token_id and token_secret",
        )
    ]
