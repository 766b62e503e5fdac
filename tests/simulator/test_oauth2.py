"""OAuth 2.0 client credentials: JWT assertion (PS256/ES256) -> bearer token accepted everywhere."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from om_netsuite_sim import Simulator, SimulatorServer

pytestmark = pytest.mark.integration
REALM = "7654321_SB1"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assertion(key: Any, alg: str, kid: str, claims: dict[str, Any]) -> str:
    signing_input = (
        _b64(json.dumps({"typ": "JWT", "alg": alg, "kid": kid}).encode())
        + "."
        + _b64(json.dumps(claims).encode())
    )
    if alg == "PS256":
        signature = key.sign(
            signing_input.encode(),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    else:
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing_input + "." + _b64(signature)


def _pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


async def _token(http: httpx2.AsyncClient, base: str, assertion: str) -> httpx2.Response:
    return await http.post(
        base + TOKEN_PATH,
        data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
              "client_assertion": assertion},
    )  # fmt: skip


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
async def test_a_signed_assertion_gets_a_bearer_token_that_works_until_it_expires(
    alg: str, rsa_key: Any, ec_key: Any
) -> None:
    key = rsa_key if alg == "PS256" else ec_key
    clock = Clock()
    sim = Simulator(clock=clock)
    sim.add_account(REALM)
    sim.add_oauth2_client(REALM, client_id="client-1", certificate_id="cert-1", public_key_pem=_pem(key))
    async with SimulatorServer(sim) as server, httpx2.AsyncClient() as http:
        claims = {"iss": "client-1", "scope": ["rest_webservices"], "aud": server.base_url + TOKEN_PATH,
                  "iat": int(clock.now), "exp": int(clock.now) + 3600}  # fmt: skip
        claims["scope"] = "rest_webservices,restlets"
        response = await _token(http, server.base_url, _assertion(key, alg, "cert-1", claims))
        assert response.status_code == 200, response.text
        token = response.json()
        assert (token["expires_in"], token["token_type"]) == (3600, "Bearer")
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        listed = await http.get(server.base_url + "/services/rest/record/v1/customer", headers=bearer)
        assert listed.status_code == 200
        query = await http.post(
            server.base_url + "/services/rest/query/v1/suiteql?limit=5",
            headers={**bearer, "Prefer": "transient"}, json={"q": "SELECT id FROM customer"},
        )  # fmt: skip
        assert query.status_code == 200
        clock.now += 3601
        expired = await http.get(server.base_url + "/services/rest/record/v1/customer", headers=bearer)
        assert expired.status_code == 401
        assert 'error="invalid_token"' in expired.headers["www-authenticate"]


async def test_an_assertion_signed_with_another_key_is_refused(rsa_key: Any) -> None:
    sim = Simulator()
    sim.add_account(REALM)
    sim.add_oauth2_client(REALM, client_id="c", certificate_id="k", public_key_pem=_pem(rsa_key))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with SimulatorServer(sim) as server, httpx2.AsyncClient() as http:
        now = int(time.time())
        claims = {"iss": "c", "scope": "rest_webservices", "aud": server.base_url + TOKEN_PATH,
                  "iat": now, "exp": now + 3600}  # fmt: skip
        response = await _token(http, server.base_url, _assertion(other, "PS256", "k", claims))
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_client"}
        assert [f.reason for f in sim.account(REALM).auth_failures] == ["InvalidSignature"]
        unknown = await http.get(
            server.base_url + "/services/rest/record/v1/customer", headers={"Authorization": "Bearer nope"}
        )
        assert unknown.status_code == 401
        assert "www-authenticate" in unknown.headers


async def test_a_token_request_without_an_assertion_is_invalid(rsa_key: Any) -> None:
    sim = Simulator()
    async with SimulatorServer(sim) as server, httpx2.AsyncClient() as http:
        response = await http.post(server.base_url + TOKEN_PATH, data={"grant_type": "client_credentials"})
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_request"}
