"""OAuth 2.0 client credentials (Help section_162755359851, section_162790605110).

The token endpoint accepts a JWT client assertion signed PS256 or ES256 with the key of a
registered certificate mapping (``kid`` = certificate id, ``iss`` = client id) and issues an
opaque bearer token valid for ``Simulator.oauth2_token_lifetime`` seconds (3600, as NetSuite's
"valid for 60 minutes"). There is no refresh token. A revoked or expired certificate no longer
works (section_162686838198).

Every refused assertion answers ``401 {"error": "invalid_client"}``: RFC 7523 section 3.2 makes
``invalid_client`` the error for an invalid client JWT and RFC 6749 section 5.2 allows 401 for it;
which status NetSuite uses, and whether it adds an ``error_description``, is unconfirmed. The
specific reason is recorded in ``account.auth_failures``, as NetSuite shows it only in the Login
Audit Trail (subsect_158324637123: InvalidSignature, InvalidScope...).
"""

from __future__ import annotations

import base64
import json
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.requests import Request
from starlette.responses import Response

from ._responses import json_response
from ._simulator import Account, AuthFailure, OAuth2Certificate, OAuth2Client, Simulator

__all__ = ["TOKEN_LIFETIME", "token_endpoint", "verify_assertion"]

TOKEN_LIFETIME = 3600
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AssertionError_(Exception):
    """The client assertion was rejected; ``reason`` is recorded, the client sees invalid_*."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _check_signature(
    certificate: OAuth2Certificate, alg: str, signing_input: bytes, signature: bytes
) -> None:
    key = serialization.load_pem_public_key(certificate.public_key_pem.encode())
    try:
        if alg == "PS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(
                signature,
                signing_input,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        elif alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) != 64:
                raise AssertionError_("InvalidSignature")
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        else:
            raise AssertionError_("UnknownAlgorithm")
    except InvalidSignature:
        raise AssertionError_("InvalidSignature") from None


def _certificate(client: OAuth2Client, header: dict[str, Any], now: float) -> OAuth2Certificate:
    certificate = client.certificates.get(str(header.get("kid", "")))
    if certificate is None:
        raise AssertionError_("UnknownCertificate")
    if certificate.revoked:
        raise AssertionError_("CertificateRevoked")
    if certificate.expires_at is not None and certificate.expires_at <= now:
        raise AssertionError_("CertificateExpired")
    return certificate


def _check_claims(payload: dict[str, Any], now: float) -> None:
    iat, exp = float(payload.get("iat", 0)), float(payload.get("exp", 0))
    if exp <= now or exp - iat > TOKEN_LIFETIME or iat > now + 300:
        raise AssertionError_("InvalidTimestamp")
    if not str(payload.get("aud", "")).endswith("/services/rest/auth/oauth2/v1/token"):
        raise AssertionError_("InvalidAudience")
    scopes = str(payload.get("scope", "")).replace(" ", ",").split(",")
    if "rest_webservices" not in scopes:
        raise AssertionError_("InvalidScope")


def verify_assertion(sim: Simulator, assertion: str) -> Account:
    """Check a client assertion JWT; return the account of its client or raise."""
    try:
        header_b64, payload_b64, signature_b64 = assertion.split(".")
        header: dict[str, Any] = json.loads(_b64(header_b64))
        payload: dict[str, Any] = json.loads(_b64(payload_b64))
        signature = _b64(signature_b64)
    except ValueError:
        raise AssertionError_("MalformedAssertion") from None
    client_id = str(payload.get("iss", ""))
    account = next((a for a in sim.accounts.values() if client_id in a.oauth2_clients), None)
    if account is None:
        raise AssertionError_("UnknownClient")
    client = account.oauth2_clients[client_id]
    try:
        certificate = _certificate(client, header, sim.clock())
        _check_claims(payload, sim.clock())
        alg = str(header.get("alg", ""))
        _check_signature(certificate, alg, f"{header_b64}.{payload_b64}".encode(), signature)
    except AssertionError_ as failure:
        account.auth_failures.append(AuthFailure(failure.reason, sim.clock(), "POST", "token"))
        raise
    return account


async def token_endpoint(sim: Simulator, request: Request) -> Response:
    """``POST /services/rest/auth/oauth2/v1/token`` for the client-credentials grant."""
    form = parse_qs((await request.body()).decode())
    grant = form.get("grant_type", [""])[0]
    if (
        request.method != "POST"
        or grant != "client_credentials"
        or form.get("client_assertion_type", [""])[0] != _ASSERTION_TYPE
        or not form.get("client_assertion")
    ):
        return json_response({"error": "invalid_request"}, 400, "application/json", _date(sim))
    try:
        account = verify_assertion(sim, form["client_assertion"][0])
    except AssertionError_:
        return json_response({"error": "invalid_client"}, 401, "application/json", _date(sim))
    lifetime = sim.oauth2_token_lifetime
    token = sim.issue_bearer(account.account_id, lifetime)
    return json_response(
        {"access_token": token, "expires_in": int(lifetime), "token_type": "Bearer"},
        200,
        "application/json",
        _date(sim),
    )


def _date(sim: Simulator) -> dict[str, str]:
    """``Date`` of the simulated clock (RFC 9110 section 6.6.1): how a client tells clock skew."""
    return {"Date": formatdate(sim.clock(), usegmt=True)}
