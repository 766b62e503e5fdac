"""OAuth 2.0 client credentials: JWT assertions, token caching, one refresh at a time."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from om_netsuite import AuthenticationFailed, NetSuiteClient, OAuth2ClientCredentials, RequestRetryPolicy

ACCOUNT = "1234567_SB1"
TOKEN_URL = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _decode(jwt: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    header, payload, signature = jwt.split(".")
    return (
        json.loads(_b64d(header)),
        json.loads(_b64d(payload)),
        f"{header}.{payload}".encode(),
        _b64d(signature),
    )


def test_a_ps256_assertion_verifies_with_the_certificate_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    auth = OAuth2ClientCredentials(
        ACCOUNT,
        client_id="client-1",
        certificate_id="cert-9",
        private_key_pem=_pem(key),
        clock=lambda: 1_000_000,
    )
    header, payload, signed, signature = _decode(auth.client_assertion(TOKEN_URL))
    assert header == {"alg": "PS256", "typ": "JWT", "kid": "cert-9"}
    assert payload["iss"] == "client-1"
    assert payload["aud"] == TOKEN_URL
    assert payload["scope"] == "rest_webservices"
    assert payload["exp"] - payload["iat"] <= 3600
    key.public_key().verify(
        signature, signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    )


def test_an_es256_assertion_carries_a_raw_64_byte_signature() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    auth = OAuth2ClientCredentials(
        ACCOUNT, client_id="c", certificate_id="k", private_key_pem=_pem(key), algorithm="ES256"
    )
    header, _, signed, signature = _decode(auth.client_assertion(TOKEN_URL))
    assert header["alg"] == "ES256"
    assert len(signature) == 64
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key.public_key().verify(der, signed, ec.ECDSA(hashes.SHA256()))


def test_a_key_that_does_not_fit_the_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="ES256"):
        OAuth2ClientCredentials(
            ACCOUNT,
            client_id="c",
            certificate_id="k",
            private_key_pem=_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            algorithm="ES256",
        )


class TokenServer:
    def __init__(self) -> None:
        self.token_calls = 0
        self.api_tokens: list[str] = []
        self.revoked: set[str] = set()

    async def handler(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/token"):
            self.token_calls += 1
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["client_credentials"]
            assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
            await asyncio.sleep(0.01)  # let concurrent callers pile up on the lock
            return httpx2.Response(
                200,
                json={"access_token": f"tok{self.token_calls}", "expires_in": 3600, "token_type": "Bearer"},
            )
        token = request.headers["authorization"].removeprefix("Bearer ")
        self.api_tokens.append(token)
        if token in self.revoked:
            return httpx2.Response(
                401, json={"status": 401, "o:errorDetails": [{"o:errorCode": "INVALID_LOGIN", "detail": "x"}]}
            )
        return httpx2.Response(200, json={"id": "1"})


@pytest.fixture
def rsa_pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


async def test_concurrent_requests_share_one_token_exchange(rsa_pem: str) -> None:
    server = TokenServer()
    auth = OAuth2ClientCredentials(ACCOUNT, client_id="c", certificate_id="k", private_key_pem=rsa_pem)
    async with NetSuiteClient(transport=httpx2.MockTransport(server.handler)) as client:
        ns = client.session(ACCOUNT, auth)
        await asyncio.gather(*(ns.get("customer", 1) for _ in range(20)))
    assert server.token_calls == 1
    assert set(server.api_tokens) == {"tok1"}


async def test_the_token_is_renewed_before_it_expires(rsa_pem: str) -> None:
    now = [1000.0]
    server = TokenServer()
    auth = OAuth2ClientCredentials(
        ACCOUNT,
        client_id="c",
        certificate_id="k",
        private_key_pem=rsa_pem,
        renew_before=300,
        clock=lambda: now[0],
    )
    async with NetSuiteClient(transport=httpx2.MockTransport(server.handler)) as client:
        ns = client.session(ACCOUNT, auth)
        await ns.get("customer", 1)
        now[0] += 3000  # 10 minutes left: still fine
        await ns.get("customer", 1)
        now[0] += 400  # inside the renewal window
        await ns.get("customer", 1)
    assert server.api_tokens == ["tok1", "tok1", "tok2"]


async def test_a_rejected_token_is_replaced_once(rsa_pem: str) -> None:
    server = TokenServer()
    server.revoked.add("tok1")
    auth = OAuth2ClientCredentials(ACCOUNT, client_id="c", certificate_id="k", private_key_pem=rsa_pem)
    async with NetSuiteClient(transport=httpx2.MockTransport(server.handler)) as client:
        assert await client.session(ACCOUNT, auth).get("customer", 1) == {"id": "1"}
        server.revoked.update({"tok2", "tok3"})
        with pytest.raises(AuthenticationFailed):
            await client.session(ACCOUNT, auth).get("customer", 1)
    assert server.api_tokens == ["tok1", "tok2", "tok2", "tok3"]


async def test_a_refused_token_request_is_an_authentication_failure(rsa_pem: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(400, json={"error": "invalid_client"})

    auth = OAuth2ClientCredentials(ACCOUNT, client_id="c", certificate_id="k", private_key_pem=rsa_pem)
    async with NetSuiteClient(transport=httpx2.MockTransport(handler)) as client:
        with pytest.raises(AuthenticationFailed):
            await client.session(ACCOUNT, auth).get("customer", 1)


def test_secrets_stay_out_of_the_repr(rsa_pem: str) -> None:
    auth = OAuth2ClientCredentials(
        ACCOUNT, client_id="client-secret-id", certificate_id="k", private_key_pem=rsa_pem
    )
    assert "client-secret-id" not in repr(auth)
    assert "PRIVATE" not in repr(auth)


async def test_a_token_endpoint_outage_is_retried_like_a_request(rsa_pem: str) -> None:
    server = TokenServer()
    outages = [httpx2.Response(503), httpx2.Response(502)]

    async def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/token") and outages:
            return outages.pop(0)
        return await server.handler(request)

    auth = OAuth2ClientCredentials(ACCOUNT, client_id="c", certificate_id="k", private_key_pem=rsa_pem)
    policy = RequestRetryPolicy(max_attempts=4, base=0.001, cap=0.002)
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=policy) as client:
        assert await client.session(ACCOUNT, auth).get("customer", 1) == {"id": "1"}
    assert auth.token_requests == 3
