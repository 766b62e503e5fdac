"""Governance (per-account concurrency) and every injected fault kind, over real sockets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
import pytest

from om_netsuite_sim import Account

from ._signer import tba_header

pytestmark = pytest.mark.integration
CUSTOMERS = "/services/rest/record/v1/customer"


async def test_requests_over_the_account_limit_get_429_at_once_and_the_peak_is_recorded(
    ns: Any, account: Account
) -> None:
    account.faults.latency = 0.3  # hold every admitted request so that all eight overlap
    started = time.perf_counter()
    responses = await asyncio.gather(*(ns.request("GET", CUSTOMERS) for _ in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * 3
    rejected = next(r for r in responses if r.status_code == 429)
    assert rejected.json() == {
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
        "title": "Bad Request",
        "status": 429,
        "o:errorCode": "USER_ERROR",
        "o:errorDetails": [
            {
                "detail": "Concurrent request limit exceeded. Request blocked.",
                "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED",
            }
        ],
    }
    assert account.peak_in_flight == 5
    assert account.in_flight == 0
    assert time.perf_counter() - started < 1.0
    account.reset_peak()
    assert account.peak_in_flight == 0


async def test_governance_limits_reports_the_account_limit(ns: Any) -> None:
    response = await ns.request("GET", "/services/rest/system/v1/governanceLimits")
    assert response.json()["accountConcurrencyLimit"] == 5


async def test_a_429_fault_fires_the_given_number_of_times(ns: Any, account: Account) -> None:
    account.faults.add("429", count=1)
    first, second = await ns.request("GET", CUSTOMERS), await ns.request("GET", CUSTOMERS)
    assert (first.status_code, second.status_code) == (429, 200)
    assert first.json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"


async def test_a_5xx_fault_carries_its_error_id(ns: Any, account: Account) -> None:
    account.faults.add("5xx", status=503, error_id="jrgbpyylphhishmmlxyt", count=1)
    response = await ns.request("GET", CUSTOMERS)
    assert response.status_code == 503
    detail = response.json()["o:errorDetails"][0]
    assert detail["o:errorCode"] == "UNEXPECTED_ERROR"
    assert detail["detail"].endswith("Error ID: jrgbpyylphhishmmlxyt")


async def test_a_timeout_fault_hangs_past_the_clients_timeout(ns: Any, account: Account) -> None:
    account.faults.add("timeout", delay=30, count=1)
    with pytest.raises(httpx2.ReadTimeout):
        await ns.http.request(
            "GET", ns.base_url + CUSTOMERS, timeout=0.3,
            headers={"Authorization": tba_header(
                "GET", ns.base_url + CUSTOMERS, ns.realm, ns.creds)},
        )  # fmt: skip
    assert (await ns.request("GET", CUSTOMERS)).status_code == 200


async def test_a_drop_fault_closes_the_connection_without_a_response(ns: Any, account: Account) -> None:
    account.faults.add("drop", count=1)
    with pytest.raises(httpx2.TransportError):
        await ns.request("GET", CUSTOMERS)
    assert (await ns.request("GET", CUSTOMERS)).status_code == 200


async def test_a_slow_401_fault_answers_invalid_login_late(ns: Any, account: Account) -> None:
    account.faults.add("slow_401", delay=0.2, count=1)
    started = time.perf_counter()
    response = await ns.request("GET", CUSTOMERS)
    assert response.status_code == 401
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert time.perf_counter() - started >= 0.2


async def test_commit_then_drop_applies_the_write_and_loses_the_answer(ns: Any, account: Account) -> None:
    account.faults.add("commit_then_drop", method="POST", count=1)
    with pytest.raises(httpx2.TransportError):
        await ns.request("POST", CUSTOMERS, json={"companyName": "Lost answer", "externalId": "LA"})
    assert [r["companyName"] for r in account.records("customer")] == ["Lost answer"]


async def test_commit_then_500_applies_the_write_and_answers_an_error(ns: Any, account: Account) -> None:
    account.faults.add("commit_then_500", method="PUT", count=1)
    response = await ns.request("PUT", f"{CUSTOMERS}/eid:X1", json={"companyName": "Saved"})
    assert response.status_code == 500
    assert [r["externalId"] for r in account.records("customer")] == ["X1"]


async def test_faults_can_be_scoped_by_method_and_path_and_cleared(ns: Any, account: Account) -> None:
    account.faults.add("5xx", method="POST", path_contains="/salesOrder")
    assert (await ns.request("GET", CUSTOMERS)).status_code == 200
    assert (await ns.request("POST", CUSTOMERS, json={"companyName": "ok"})).status_code == 204
    blocked = await ns.request("POST", "/services/rest/record/v1/salesOrder", json={})
    assert blocked.status_code == 500
    account.faults.clear()
    assert account.faults.rules == []


async def test_a_fault_with_zero_probability_never_fires(ns: Any, account: Account) -> None:
    account.faults.add("5xx", probability=0.0)
    assert all(r.status_code == 200 for r in [await ns.request("GET", CUSTOMERS) for _ in range(5)])


async def test_latency_is_added_without_blocking_other_accounts(ns: Any, account: Account) -> None:
    account.faults.latency = (0.1, 0.15)
    started = time.perf_counter()
    await asyncio.gather(*(ns.request("GET", CUSTOMERS) for _ in range(5)))
    elapsed = time.perf_counter() - started
    assert 0.1 <= elapsed < 0.5  # five concurrent sleeps overlap instead of adding up


async def test_the_request_log_and_counters_record_each_call(ns: Any, account: Account) -> None:
    await ns.request("GET", CUSTOMERS)
    await ns.request("GET", f"{CUSTOMERS}/1")
    assert list(account.request_log) == [("GET", CUSTOMERS, 200), ("GET", f"{CUSTOMERS}/1", 404)]
    assert account.counters["list customer"] == 1
    assert account.counters["GET customer"] == 1
