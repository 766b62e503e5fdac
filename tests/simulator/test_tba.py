"""TBA verification: the published vectors verify, and each failure is a generic 401 with a reason."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from om_netsuite_sim import Account, TbaCredentials
from om_netsuite_sim._tba import TbaFailure, base_string, parse_authorization, verify

VECTORS = json.loads(Path("/work/shared/netsuite-tba-vectors.json").read_text())
SHARED_CREDS = TbaCredentials(
    consumer_key=VECTORS["credentials"]["client_id"],
    consumer_secret=VECTORS["credentials"]["client_secret"],
    token_id=VECTORS["credentials"]["token_id"],
    token_secret=VECTORS["credentials"]["token_secret"],
)
RECORD = "/services/rest/record/v1"


def _never_seen(nonce: str, timestamp: str, token: str) -> bool:
    return False


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['method']} {v['url'][-40:]}")
def test_every_shared_vector_verifies_and_rebuilds_the_same_base_string(vector: dict[str, Any]) -> None:
    params = parse_authorization(vector["authorization_header"])
    signed = {k: v for k, v in params.items() if k not in ("realm", "oauth_signature")}
    assert base_string(vector["method"], vector["url"], signed) == vector["signature_base_string"]
    now = float(vector["oauth_timestamp"])
    verify(vector["method"], vector["url"], params, SHARED_CREDS, now, _never_seen)


def test_oracles_published_vector_verifies() -> None:
    v = VECTORS["oracle_published_vector"]
    creds = TbaCredentials(
        v["credentials"]["client_id"], v["credentials"]["client_secret"],
        v["credentials"]["token_id"], v["credentials"]["token_secret"],
    )  # fmt: skip
    params = {
        "realm": v["realm"],
        "oauth_consumer_key": creds.consumer_key,
        "oauth_token": creds.token_id,
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_timestamp": v["oauth_timestamp"],
        "oauth_nonce": v["oauth_nonce"],
        "oauth_version": "1.0",
        "oauth_signature": v["oauth_signature"],
    }
    verify(v["method"], v["url"], params, creds, float(v["oauth_timestamp"]), _never_seen)


def test_a_vector_with_one_changed_query_parameter_fails_as_an_invalid_signature() -> None:
    vector = VECTORS["vectors"][2]
    params = parse_authorization(vector["authorization_header"])
    url = vector["url"].replace("offset=2000", "offset=3000")
    with pytest.raises(TbaFailure) as caught:
        verify("POST", url, params, SHARED_CREDS, float(vector["oauth_timestamp"]), _never_seen)
    assert caught.value.reason == "InvalidSignature"


def _assert_invalid_login(response: Any) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401
    assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert "Login Audit Trail" in body["o:errorDetails"][0]["detail"]


@pytest.mark.integration
async def test_a_correctly_signed_request_with_query_parameters_is_accepted(
    ns: Any, account: Account
) -> None:
    response = await ns.request(
        "GET", f"{RECORD}/customer?limit=5&offset=0&q=companyName%20START_WITH%20%22Caf%C3%A9%22"
    )
    assert response.status_code == 200, response.text
    assert account.auth_failures == []


@pytest.mark.integration
@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"tamper": True}, "InvalidSignature"),
        ({"timestamp_offset": -301}, "InvalidTimestamp"),
        ({"timestamp_offset": 400}, "InvalidTimestamp"),
        ({"nonce": "abc12"}, "nonce_rejected"),
        ({"signature_method": "HMAC-SHA1"}, "UnknownAlgorithm"),
        ({"version": "1.1"}, "VersionRejected"),
        ({"realm": "1234567_sb1"}, "InvalidRealm"),
    ],
)
async def test_a_bad_request_gets_the_generic_401_and_the_reason_is_recorded(
    ns: Any, account: Account, options: dict[str, Any], reason: str
) -> None:
    if "timestamp_offset" in options:  # relative to the moment of the request, not of collection
        options = {"timestamp": int(time.time()) + options["timestamp_offset"]}
    response = await ns.request("GET", f"{RECORD}/customer", **options)
    _assert_invalid_login(response)
    assert [f.reason for f in account.auth_failures] == [reason]


@pytest.mark.integration
async def test_a_reused_nonce_and_timestamp_is_rejected_the_second_time(ns: Any, account: Account) -> None:
    stamp = int(time.time())
    first = await ns.request("GET", f"{RECORD}/customer", nonce="same-nonce-1", timestamp=stamp)
    second = await ns.request("GET", f"{RECORD}/customer", nonce="same-nonce-1", timestamp=stamp)
    assert first.status_code == 200
    _assert_invalid_login(second)
    assert [f.reason for f in account.auth_failures] == ["NonceUsed"]


@pytest.mark.integration
async def test_unknown_consumer_key_and_token_are_told_apart_in_the_audit_trail(
    ns: Any, account: Account, creds: TbaCredentials
) -> None:
    ns.creds = TbaCredentials("nope", creds.consumer_secret, creds.token_id, creds.token_secret)
    _assert_invalid_login(await ns.request("GET", f"{RECORD}/customer"))
    ns.creds = TbaCredentials(creds.consumer_key, creds.consumer_secret, "nope", creds.token_secret)
    _assert_invalid_login(await ns.request("GET", f"{RECORD}/customer"))
    assert [f.reason for f in account.auth_failures] == ["consumer_key_unknown", "token_rejected"]


@pytest.mark.integration
async def test_a_signature_over_another_host_is_rejected(ns: Any, account: Account) -> None:
    # The client must sign the URL it actually sends (the base-URL override), not the real host.
    from ._signer import tba_header

    url = ns.base_url + f"{RECORD}/customer"
    header = tba_header(
        "GET", "https://1234567-sb1.suitetalk.api.netsuite.com" + f"{RECORD}/customer", ns.realm, ns.creds
    )
    response = await ns.http.get(url, headers={"Authorization": header})
    _assert_invalid_login(response)
    assert [f.reason for f in account.auth_failures] == ["InvalidSignature"]
