"""TBA signing reproduces NetSuite's vectors and signs exactly what is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from om_netsuite import NetSuiteClient, TbaAuth, signature_base_string, tba_authorization_header

from .conftest import ACCOUNT, tba_credentials

VECTORS = json.loads(Path("/work/shared/netsuite-tba-vectors.json").read_text())


def _cases() -> list[Any]:
    creds = VECTORS["credentials"]
    cases = [pytest.param(v, creds, id=f"{v['method']}-{v['account_id']}") for v in VECTORS["vectors"]]
    oracle = VECTORS["oracle_published_vector"]
    cases.append(pytest.param(oracle, oracle["credentials"], id="oracle-published"))
    return cases


@pytest.mark.parametrize(("vector", "creds"), _cases())
def test_signature_matches_every_published_vector(vector: dict[str, Any], creds: dict[str, str]) -> None:
    header = tba_authorization_header(
        method=vector["method"],
        url=vector["url"],
        realm=vector["realm"],
        consumer_key=creds["client_id"],
        consumer_secret=creds["client_secret"],
        token_id=creds["token_id"],
        token_secret=creds["token_secret"],
        nonce=vector["oauth_nonce"],
        timestamp=vector["oauth_timestamp"],
    )
    oauth = {
        "oauth_consumer_key": creds["client_id"],
        "oauth_token": creds["token_id"],
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": vector["oauth_timestamp"],
        "oauth_nonce": vector["oauth_nonce"],
        "oauth_version": "1.0",
    }
    assert signature_base_string(vector["method"], vector["url"], oauth) == vector["signature_base_string"]
    if "authorization_header" in vector:
        assert header == vector["authorization_header"]
    else:
        signature = httpx2.URL("http://x/?s=" + header.split('oauth_signature="')[1].rstrip('"'))
        assert signature.params["s"] == vector["oauth_signature"]


def test_the_realm_is_the_upper_case_account_id() -> None:
    auth = TbaAuth("1234567_sb1", tba_credentials())
    assert auth.authorization("GET", "https://x/").startswith('OAuth realm="1234567_SB1", ')


def test_credentials_never_appear_in_reprs() -> None:
    creds = tba_credentials()
    auth = TbaAuth(ACCOUNT, creds)
    for text in (repr(creds), str(creds), repr(auth)):
        for secret in ("ck-value", "cs-value", "tk-value", "ts-value"):
            assert secret not in text


async def test_query_parameters_are_signed_but_never_copied_into_the_header(tba: TbaAuth) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"items": [], "hasMore": False})

    async with NetSuiteClient(transport=httpx2.MockTransport(handler)) as client:
        ns = client.session(ACCOUNT, tba)
        _ = [row async for row in ns.suiteql("SELECT id FROM customer WHERE x = ?", ["a b"])]
        await ns.get("customer", 7, fields=["entityId", "email"], expand_sub_resources=True)
    for request in seen:
        header = request.headers["authorization"]
        for name in ("limit", "offset", "fields", "expandSubResources", "q="):
            assert name not in header
        # The header verifies against the exact URL that went on the wire.
        params = dict(p.split("=", 1) for p in header.removeprefix("OAuth ").split(", "))
        unquoted = {k: httpx2.URL("http://x/?v=" + v.strip('"')).params["v"] for k, v in params.items()}
        expected = tba_authorization_header(
            method=request.method,
            url=str(request.url),
            realm="1234567_SB1",
            consumer_key="ck-value",
            consumer_secret="cs-value",
            token_id="tk-value",
            token_secret="ts-value",
            nonce=unquoted["oauth_nonce"],
            timestamp=unquoted["oauth_timestamp"],
        )
        assert header == expected


async def test_json_bodies_are_not_part_of_the_signature(nonces: Any) -> None:
    headers: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        headers.append(request.headers["authorization"])
        return httpx2.Response(204, headers={"Location": "https://x/record/v1/customer/5"})

    fixed = TbaAuth(ACCOUNT, tba_credentials(), nonce_factory=lambda: "samenonce", clock=lambda: 1.0)
    async with NetSuiteClient(transport=httpx2.MockTransport(handler)) as client:
        ns = client.session(ACCOUNT, fixed)
        await ns.update("customer", 5, {"companyName": "A"})
        await ns.update("customer", 5, {"companyName": "B", "email": "b@example.com"})
    assert headers[0] == headers[1]
