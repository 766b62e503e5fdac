"""One structured log line per attempt, hooks for metrics, and no secrets anywhere."""

from __future__ import annotations

import logging

import httpx2
import pytest

from om_netsuite import NetSuiteClient, TbaAuth

from .conftest import ACCOUNT


async def test_each_request_logs_one_structured_line_without_secrets_or_bodies(
    tba: TbaAuth, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(204, headers={"Location": "https://x/services/rest/record/v1/customer/77"})

    caplog.set_level(logging.DEBUG, logger="om_netsuite")
    async with NetSuiteClient(transport=httpx2.MockTransport(handler)) as client:
        new_id = await client.session(ACCOUNT, tba).create("customer", {"companyName": "Secret Body Co"})
    assert new_id == "77"
    lines = [r for r in caplog.records if r.name == "om_netsuite" and r.getMessage() == "netsuite request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.account_id, line.method, line.operation, line.status, line.attempt) == (  # type: ignore[attr-defined]
        "1234567_SB1",
        "POST",
        "customer.create",
        204,
        1,
    )
    assert line.duration_ms >= 0  # type: ignore[attr-defined]
    everything = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in ("ck-value", "cs-value", "tk-value", "ts-value", "oauth_signature", "Secret Body Co"):
        assert secret not in everything


async def test_budget_wait_time_is_reported_per_attempt(tba: TbaAuth) -> None:
    waits: list[tuple[str, float]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={})

    async with NetSuiteClient(
        transport=httpx2.MockTransport(handler), on_budget_wait=lambda account, s: waits.append((account, s))
    ) as client:
        await client.session(ACCOUNT, tba).get("customer", 1)
    assert len(waits) == 1
    assert waits[0][0] == "1234567_SB1"
    assert waits[0][1] >= 0


async def test_errors_carry_the_request_without_credentials(tba: TbaAuth) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            404, json={"o:errorDetails": [{"o:errorCode": "NONEXISTENT_ID", "detail": "gone"}]}
        )

    async with NetSuiteClient(transport=httpx2.MockTransport(handler)) as client:
        with pytest.raises(Exception) as caught:
            await client.session(ACCOUNT, tba).get("customer", 1, fields=["email"])
    text = f"{caught.value!s} {caught.value!r}"
    assert "NONEXISTENT_ID" in text
    assert "/record/v1/customer/1?fields=email" in text
    assert "oauth" not in text.lower()
    assert "ts-value" not in text


def test_a_session_refuses_auth_for_another_account(tba: TbaAuth) -> None:
    client = NetSuiteClient()
    with pytest.raises(ValueError, match="auth is for account"):
        client.session("7654321", tba)


@pytest.mark.parametrize(
    ("record_type", "record_id"),
    [("customer/../x", 1), ("customer", "1/../2"), ("customer", "eid:a/b"), ("customer", "eid:a b"), ("", 1)],
)
async def test_path_pieces_are_validated_before_sending(
    tba: TbaAuth, record_type: str, record_id: str
) -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, json={})

    async with NetSuiteClient(transport=httpx2.MockTransport(handler)) as client:
        with pytest.raises(ValueError):
            await client.session(ACCOUNT, tba).get(record_type, record_id)
    assert sent == []


async def test_a_failing_metrics_hook_does_not_fail_the_request(
    tba: TbaAuth, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("metrics backend down")

    async with NetSuiteClient(
        transport=httpx2.MockTransport(lambda request: httpx2.Response(200, json={"id": "1"})),
        on_request=broken,
        on_budget_wait=broken,
    ) as client:
        assert await client.session(ACCOUNT, tba).get("customer", 1) == {"id": "1"}
    assert any(r.getMessage() == "netsuite observability hook failed" for r in caplog.records)
