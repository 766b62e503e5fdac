"""A role missing a permission, and an access token revoked and replaced (through the admin API)."""

from __future__ import annotations

import dataclasses

import httpx2
import pytest

from om_netsuite_sim import Account, SimulatorServer

from .conftest import REALM, NetSuiteSession

pytestmark = pytest.mark.integration


async def test_a_role_without_customer_deposit_is_refused_with_netsuites_permission_violation(
    ns: NetSuiteSession, server: SimulatorServer, account: Account
) -> None:
    customer = account.add_customer("Cafe")
    async with httpx2.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post(f"/_sim/accounts/{REALM}/role", json={"denied": ["Customer Deposit"]})
    assert answer.json() == {"denied": ["customer deposit"]}

    refused = await ns.request(
        "POST",
        "/services/rest/record/v1/customerDeposit",
        json={"customer": {"id": customer}, "payment": 10},
    )
    allowed = await ns.request("GET", f"/services/rest/record/v1/customer/{customer}")

    assert refused.status_code == 403
    detail = refused.json()["o:errorDetails"][0]
    assert detail["o:errorCode"] == "INSUFFICIENT_PERMISSION"
    assert "'Transactions -> Customer Deposit' permission" in detail["detail"]
    assert allowed.status_code == 200


async def test_suiteql_on_a_table_the_role_may_not_read_says_the_record_was_not_found(
    ns: NetSuiteSession, account: Account
) -> None:
    account.set_role(["Find Transaction"])

    refused = await ns.suiteql("SELECT t.id FROM transaction t JOIN customer c ON c.id = t.entity")
    allowed = await ns.suiteql("SELECT id FROM customer")
    account.set_role(["SuiteAnalytics Workbook"])
    no_workbook = await ns.suiteql("SELECT id FROM customer")

    assert refused.status_code == 400
    assert refused.json()["o:errorDetails"][0]["detail"] == "Record 'transaction' was not found."
    assert allowed.status_code == 200
    assert no_workbook.status_code == 403


async def test_a_rotated_token_refuses_the_old_one_and_accepts_the_new_one(
    ns: NetSuiteSession, server: SimulatorServer, account: Account
) -> None:
    async with httpx2.AsyncClient(base_url=server.base_url) as http:
        rotated = (await http.post(f"/_sim/accounts/{REALM}/token", json={})).json()["credentials"]

    old = await ns.request("GET", "/services/rest/record/v1/currency/1")
    new = NetSuiteSession(ns.http, ns.base_url, REALM, dataclasses.replace(ns.creds, **rotated))
    fresh = await new.request("GET", "/services/rest/record/v1/currency/1")

    assert old.status_code == 401
    assert old.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert account.auth_failures[-1].reason == "token_rejected"
    assert fresh.status_code == 200
    assert rotated["consumer_key"] == ns.creds.consumer_key
