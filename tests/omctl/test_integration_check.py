"""`omctl integration check` against the NetSuite simulator over HTTP, and its advice for errors
the simulator cannot produce (NetSuite permissions)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from om_contracts import IntegrationSettings, KeyRing
from om_devstack import sealed_m2m_credentials
from om_netsuite import AuthenticationFailed, ErrorDetail, PermanentError
from omctl.integration_check import advice_for
from support import integration

from .conftest import KEY, Cli

pytestmark = pytest.mark.integration


async def configure(mongo_url: str, db: str, supplier: str, account: str, creds: Any, **extra: Any) -> None:
    ring = KeyRing.from_string(KEY)
    await store(mongo_url, db, supplier, {**integration(account, ring, creds), **extra})


async def store(mongo_url: str, db: str, supplier: str, payload: dict[str, Any]) -> None:
    settings = IntegrationSettings.model_validate(payload)
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    try:
        await client[db]["integrations"].replace_one(
            {"_id": supplier},
            {"_id": supplier, "status": "configured", "settings": settings.model_dump(mode="json")},
            upsert=True,
        )
    finally:
        await client.close()


@pytest.fixture
def account(simulator, unique_name: str) -> tuple[str, Any, list[str]]:
    account_id = f"{int(unique_name, 16) % 10**7}_SB1"
    creds = simulator.sim.add_account(account_id)
    acct = simulator.sim.account(account_id)
    locations = [acct.add_location(f"Warehouse {n}") for n in range(2)]
    return account_id, creds, locations


async def test_a_healthy_integration_passes_every_step(
    cli: Cli, simulator, mongo_url, unique_name, account
) -> None:
    account_id, creds, locations = account
    await configure(
        mongo_url,
        f"order_{unique_name}",
        "sup_ok",
        account_id,
        creds,
        stock={"enabled": True, "field": "available", "location_ids": ",".join(locations)},
    )
    report = await cli.json(
        "integration", "check", "--supplier", "sup_ok", netsuite_base_url=simulator.base_url
    )
    assert report["ok"] is True, report
    assert [s["name"] for s in report["steps"]] == [
        "integration",
        "credentials",
        "suiteql",
        "locations",
        "record",
    ]


async def test_an_unknown_location_is_named(cli: Cli, simulator, mongo_url, unique_name, account) -> None:
    account_id, creds, locations = account
    await configure(
        mongo_url,
        f"order_{unique_name}",
        "sup_loc",
        account_id,
        creds,
        stock={"enabled": True, "field": "available", "location_ids": f"{locations[0]},99999"},
    )
    result = await cli(
        "integration", "check", "--supplier", "sup_loc", "--json", netsuite_base_url=simulator.base_url
    )
    assert result.exit_code == 1
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    assert steps["locations"]["ok"] is False
    assert steps["locations"]["detail"] == "unknown location(s): 99999"


async def test_a_bad_token_is_reported_with_what_to_check(
    cli: Cli, simulator, mongo_url, unique_name, account
) -> None:
    account_id, creds, _ = account
    wrong = dataclasses.replace(creds, token_secret="0" * 64)
    await configure(mongo_url, f"order_{unique_name}", "sup_tok", account_id, wrong)
    result = await cli("integration", "check", "--supplier", "sup_tok", netsuite_base_url=simulator.base_url)
    assert result.exit_code == 1
    assert "bad token or wrong realm" in result.stdout
    assert "Login Audit Trail" in result.stdout
    assert "0" * 64 not in result.output


async def test_a_wrong_realm_is_reported_like_netsuite_does(
    cli: Cli, simulator, mongo_url, unique_name, account
) -> None:
    _, creds, _ = account
    await configure(mongo_url, f"order_{unique_name}", "sup_realm", "7654321", creds)
    result = await cli(
        "integration", "check", "--supplier", "sup_realm", netsuite_base_url=simulator.base_url
    )
    assert result.exit_code == 1
    assert "bad token or wrong realm" in result.stdout
    assert "Account ID" in result.stdout


async def test_credentials_sealed_with_another_key_and_a_missing_integration_are_explained(
    cli: Cli, simulator, mongo_url, unique_name, account
) -> None:
    account_id, creds, _ = account
    await configure(mongo_url, f"order_{unique_name}", "sup_key", account_id, creds)
    other_key = KeyRing.generate_key()
    sealed_elsewhere = await cli(
        "integration",
        "check",
        "--supplier",
        "sup_key",
        netsuite_credentials_keys=other_key,
        netsuite_base_url=simulator.base_url,
    )
    assert sealed_elsewhere.exit_code == 1
    assert "sealed credentials do not open" in sealed_elsewhere.stdout
    missing = await cli(
        "integration", "check", "--supplier", "sup_none", netsuite_base_url=simulator.base_url
    )
    assert missing.exit_code == 1
    assert "has no configured integration" in missing.stdout


async def test_an_m2m_integration_shows_its_certificate_expiry_and_token_and_names_a_wrong_key(
    cli: Cli, simulator, mongo_url, unique_name, account
) -> None:
    account_id, _, _ = account
    ring = KeyRing.from_string(KEY)
    expires = datetime.now(UTC) + timedelta(days=200)
    good = sealed_m2m_credentials(
        ring, simulator.sim, account_id, client_id="omctl-m2m", certificate_id="cert-1", expires_at=expires
    )
    db = f"order_{unique_name}"
    await store(
        mongo_url, db, "sup_m2m", {"account_id": account_id, "credentials": good, "sync_type": "orders"}
    )

    report = await cli.json(
        "integration", "check", "--supplier", "sup_m2m", netsuite_base_url=simulator.base_url
    )

    assert report["ok"] is True, report
    steps = {s["name"]: s for s in report["steps"]}
    assert list(steps) == ["integration", "credentials", "certificate", "token", "suiteql"]
    assert expires.date().isoformat() in steps["certificate"]["detail"]
    assert steps["token"]["detail"].startswith("token endpoint issued a bearer token")

    other = sealed_m2m_credentials(
        ring, simulator.sim, account_id, client_id="omctl-x", certificate_id="cert-x"
    )
    wrong_key = {**good, "private_key": other["private_key"]}
    await store(
        mongo_url, db, "sup_m2m", {"account_id": account_id, "credentials": wrong_key, "sync_type": "orders"}
    )
    result = await cli("integration", "check", "--supplier", "sup_m2m", netsuite_base_url=simulator.base_url)

    assert result.exit_code == 1
    [line] = [row for row in result.stdout.splitlines() if "refused the OAuth 2.0 token" in row]
    assert "unknown or revoked certificate (or wrong key or client id)" in line
    assert "PRIVATE KEY" not in result.output


def test_missing_permission_and_unknown_records_get_their_own_advice() -> None:
    denied = AuthenticationFailed(
        "forbidden",
        status=403,
        details=(ErrorDetail("INSUFFICIENT_PERMISSION", "Permission Violation: Locations"),),
    )
    problem, fix = advice_for(denied, "location")
    assert problem.startswith("missing permission for location")
    assert "SuiteAnalytics Workbook" in fix
    missing = PermanentError(
        "not found", status=404, details=(ErrorDetail("NONEXISTENT_ID", "no such record"),)
    )
    problem, fix = advice_for(missing, "bank account")
    assert problem == "unknown bank account"
