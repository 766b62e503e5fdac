"""OAuth 2.0 client credentials against the simulator over real sockets: one token for a cold
stampede, one refresh for a token expiring mid-run, refusals named by cause, a certificate rotation
without a failed request, an assertion an independent JWT library accepts, and no secret in logs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, RSAKey

from om_netsuite import NetSuiteClient, OAuth2ClientCredentials, RequestRetryPolicy, TokenRefused
from om_netsuite_sim import Simulator, SimulatorServer

pytestmark = pytest.mark.integration

ACCOUNT = "2345678_SB1"
CLIENT = "m2m-client"
FAST_RETRY = RequestRetryPolicy(max_attempts=2, base=0.01, cap=0.02)


class Clock:
    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


def _key(algorithm: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if algorithm == "PS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _private_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Env:
    sim: Simulator
    clock: Clock
    url: str
    customer: str

    def upload(self, certificate_id: str, algorithm: str = "PS256", expires_at: float | None = None) -> str:
        """Map a new certificate to the client; returns its private key PEM."""
        key = _key(algorithm)
        self.sim.add_oauth2_client(
            ACCOUNT,
            client_id=CLIENT,
            certificate_id=certificate_id,
            public_key_pem=_public_pem(key),
            expires_at=expires_at,
        )
        return _private_pem(key)

    def auth(self, certificate_id: str, pem: str, **kwargs: Any) -> OAuth2ClientCredentials:
        kwargs.setdefault("clock", self.clock)
        return OAuth2ClientCredentials(
            ACCOUNT, client_id=CLIENT, certificate_id=certificate_id, private_key_pem=pem, **kwargs
        )

    def client(self) -> NetSuiteClient:
        return NetSuiteClient(base_url_override=self.url, retry=FAST_RETRY)


@pytest_asyncio.fixture(loop_scope="session")
async def env() -> AsyncIterator[Env]:
    clock = Clock()
    sim = Simulator(clock=clock)
    sim.add_account(ACCOUNT, concurrency_limit=20)
    customer = sim.account(ACCOUNT).add_customer("Bearer Co")
    async with SimulatorServer(sim, host="127.0.0.1", port=0) as server:
        yield Env(sim, clock, server.base_url, customer)


async def test_a_thousand_requests_on_a_cold_token_mint_exactly_one(env: Env) -> None:
    auth = env.auth("cert-cold", env.upload("cert-cold"))
    issued = env.sim.tokens_issued
    async with env.client() as client:
        session = client.session(ACCOUNT, auth, 20)
        results = await asyncio.gather(*(session.get("customer", env.customer) for _ in range(1000)))
    assert {r["id"] for r in results} == {env.customer}
    assert auth.token_requests == 1
    assert env.sim.tokens_issued - issued == 1


async def test_a_token_expiring_mid_run_costs_one_refresh_and_no_failed_request(env: Env) -> None:
    auth = env.auth("cert-mid", env.upload("cert-mid"))
    async with env.client() as client:
        session = client.session(ACCOUNT, auth, 20)
        before = set(env.sim.bearer_tokens)
        await session.get("customer", env.customer)
        [token] = set(env.sim.bearer_tokens) - before
        # NetSuite expires the token while the client still trusts it (its clock, its margin): every
        # request of the burst meets a 401, and the burst must share one new token.
        env.sim.bearer_tokens[token] = (ACCOUNT, env.clock.now - 1)
        results = await asyncio.gather(*(session.get("customer", env.customer) for _ in range(200)))
    assert len(results) == 200
    assert auth.token_requests == 2  # the first token and one refresh


@pytest.mark.parametrize(
    ("case", "cause"),
    [("revoked", "unknown_certificate"), ("expired", "expired_certificate"), ("skewed", "clock_skew")],
)
async def test_a_refused_assertion_names_its_cause_and_is_asked_once(env: Env, case: str, cause: str) -> None:
    certificate = f"cert-{case}"
    now = env.clock.now
    pem = env.upload(certificate, expires_at=now - 60 if case == "expired" else None)
    kwargs: dict[str, Any] = {}
    if case == "revoked":
        env.sim.revoke_oauth2_certificate(ACCOUNT, client_id=CLIENT, certificate_id=certificate)
    if case == "expired":
        kwargs["certificate_expires_at"] = now - 60
    if case == "skewed":
        kwargs["clock"] = Clock(now + 3 * 3600)  # assertions from the future
    auth = env.auth(certificate, pem, **kwargs)
    async with env.client() as client:
        session = client.session(ACCOUNT, auth, 5)
        outcomes = await asyncio.gather(
            *(session.get("customer", env.customer) for _ in range(20)), return_exceptions=True
        )
    assert all(isinstance(o, TokenRefused) for o in outcomes)
    refused = outcomes[0]
    assert isinstance(refused, TokenRefused)
    assert (refused.cause, refused.oauth_error) == (cause, "invalid_client")
    assert auth.token_requests == 1  # the requests queued behind the refusal did not ask again


async def test_a_rotated_certificate_switches_without_a_failed_request(env: Env) -> None:
    old = env.auth("cert-old", env.upload("cert-old"))
    async with env.client() as client:
        first = client.session(ACCOUNT, old, 5)
        await first.get("customer", env.customer)
        new = env.auth("cert-new", env.upload("cert-new", algorithm="ES256"))  # second active certificate
        second = client.session(ACCOUNT, new, 5)
        both = await asyncio.gather(
            *(first.get("customer", env.customer) for _ in range(20)),
            *(second.get("customer", env.customer) for _ in range(20)),
        )
        env.sim.revoke_oauth2_certificate(ACCOUNT, client_id=CLIENT, certificate_id="cert-old")
        after = await second.get("customer", env.customer)
    assert len(both) == 40
    assert after["id"] == env.customer


@pytest.mark.parametrize("algorithm", ["PS256", "ES256"])
def test_the_assertion_verifies_with_an_independent_jwt_library(algorithm: str) -> None:
    key = _key(algorithm)
    auth = OAuth2ClientCredentials(
        ACCOUNT, client_id=CLIENT, certificate_id="cert-x", private_key_pem=_private_pem(key)
    )
    audience = "https://2345678-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
    public = (RSAKey if algorithm == "PS256" else ECKey).import_key(_public_pem(key))

    token = jwt.decode(auth.client_assertion(audience), public, algorithms=[algorithm])

    assert token.header == {"alg": algorithm, "typ": "JWT", "kid": "cert-x"}
    assert token.claims["iss"] == CLIENT
    assert token.claims["aud"] == audience
    assert token.claims["scope"] == "rest_webservices"
    assert 0 < token.claims["exp"] - token.claims["iat"] <= 3600
    other = (RSAKey if algorithm == "PS256" else ECKey).import_key(_public_pem(_key(algorithm)))
    with pytest.raises(BadSignatureError):
        jwt.decode(auth.client_assertion(audience), other, algorithms=[algorithm])


async def test_tokens_and_assertions_never_reach_the_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    pem = env.upload("cert-logs")
    auth = env.auth("cert-logs", pem)
    before = set(env.sim.bearer_tokens)
    with caplog.at_level(logging.DEBUG):
        async with env.client() as client:
            session = client.session(ACCOUNT, auth, 5)
            await session.get("customer", env.customer)
            await session.get("customer", env.customer)
    [token] = set(env.sim.bearer_tokens) - before
    assertion_head = auth.client_assertion("x").split(".")[0]  # the header part every assertion shares
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records  # the requests were logged
    assert token not in logged
    assert assertion_head not in logged
    assert "PRIVATE KEY" not in logged
    assert token not in repr(auth)
