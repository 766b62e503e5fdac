"""OAuth 2.0 client credentials (machine-to-machine) for SuiteTalk REST.

Help Center section_162755359851 / section_162790605110: the client POSTs a JWT assertion, signed
with the private key of a certificate uploaded to NetSuite (``kid`` = the certificate id), to
``/services/rest/auth/oauth2/v1/token`` and gets a 60-minute bearer token without a refresh token.
Allowed algorithms are PS256/384/512 and ES256/384/512; this module signs PS256 or ES256.

The token is cached and renewed ``renew_before`` seconds ahead of expiry; an ``asyncio.Lock``
makes sure concurrent requests trigger one exchange only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Literal

import httpx2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pydantic import SecretStr

from ._accounts import normalize_account_id
from ._exceptions import (
    AuthenticationFailed,
    NetSuiteHTTPError,
    NetSuiteNetworkError,
    NetSuiteTimeout,
    RequestInfo,
    error_from_response,
)

__all__ = ["TOKEN_PATH", "OAuth2ClientCredentials"]

logger = logging.getLogger("om_netsuite.oauth2")

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a URL path, not a secret
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class OAuth2ClientCredentials:
    """:class:`~om_netsuite.Auth` implementation for OAuth 2.0 client credentials.

    ``private_key_pem`` is the PEM of an RSA key (PS256) or a P-256 EC key (ES256).
    """

    def __init__(
        self,
        account_id: str,
        *,
        client_id: SecretStr | str,
        certificate_id: str,
        private_key_pem: SecretStr | str,
        algorithm: Literal["PS256", "ES256"] = "PS256",
        scopes: Sequence[str] = ("rest_webservices",),
        renew_before: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.realm = normalize_account_id(account_id)
        self._client_id = client_id if isinstance(client_id, SecretStr) else SecretStr(client_id)
        self._certificate_id = certificate_id
        pem = private_key_pem if isinstance(private_key_pem, SecretStr) else SecretStr(private_key_pem)
        key = serialization.load_pem_private_key(pem.get_secret_value().encode(), password=None)
        if algorithm == "PS256" and not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("PS256 needs an RSA private key")
        if algorithm == "ES256" and not (
            isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
        ):
            raise ValueError("ES256 needs a P-256 EC private key")
        self._key = key
        self._algorithm = algorithm
        self._scopes = ",".join(scopes)
        self._renew_before = renew_before
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        #: Number of token exchanges performed (for tests and metrics).
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(realm={self.realm!r}, algorithm={self._algorithm!r})"

    def client_assertion(self, audience: str) -> str:
        """A freshly signed JWT assertion for ``audience`` (the token URL)."""
        now = int(self._clock())
        header = {"alg": self._algorithm, "typ": "JWT", "kid": self._certificate_id}
        payload = {
            "iss": self._client_id.get_secret_value(),
            "scope": self._scopes,
            "aud": audience,
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
        }
        signing_input = (
            f"{_b64url(json.dumps(header, separators=(',', ':')).encode())}."
            f"{_b64url(json.dumps(payload, separators=(',', ':')).encode())}"
        ).encode("ascii")
        key = self._key
        if isinstance(key, rsa.RSAPrivateKey):
            signature = key.sign(
                signing_input,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        else:
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input.decode('ascii')}.{_b64url(signature)}"

    def _valid(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - self._renew_before

    async def prepare(self, http: httpx2.AsyncClient, base_url: str) -> None:
        """Fetch a bearer token unless a valid one is cached (one exchange at a time)."""
        if self._valid():
            return
        async with self._lock:
            if self._valid():
                return
            await self._fetch(http, base_url.rstrip("/") + TOKEN_PATH)

    async def _fetch(self, http: httpx2.AsyncClient, token_url: str) -> None:
        info = RequestInfo("POST", token_url, "oauth2.token")
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": _ASSERTION_TYPE,
            "client_assertion": self.client_assertion(token_url),
        }
        self.token_requests += 1
        try:
            response = await http.post(token_url, data=form)
        except httpx2.TimeoutException as exc:
            raise NetSuiteTimeout(f"{info}: {type(exc).__name__}", request=info) from exc
        except httpx2.TransportError as exc:
            raise NetSuiteNetworkError(f"{info}: {type(exc).__name__}", request=info) from exc
        if response.status_code != 200:
            error = error_from_response(response.status_code, response.content, response.headers, info)
            if isinstance(error, NetSuiteHTTPError) and error.status < 500:
                # invalid_client / invalid_grant: the credentials, not the request, are wrong.
                raise AuthenticationFailed(
                    f"{info}: token request refused ({response.status_code})",
                    status=response.status_code,
                    details=error.details,
                    request=info,
                )
            raise error
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationFailed(
                f"{info}: token response without access_token", status=200, request=info
            )
        expires_in = float(body.get("expires_in", 3600))
        self._token = SecretStr(token)
        self._expires_at = self._clock() + expires_in
        logger.info(
            "netsuite oauth2 token issued",
            extra={"account_id": self.realm, "expires_in": expires_in},
        )

    def authorization(self, method: str, url: str) -> str:
        """``Bearer <token>``; :meth:`prepare` must have run."""
        if self._token is None:
            raise RuntimeError("OAuth2ClientCredentials.prepare() has not fetched a token")
        return f"Bearer {self._token.get_secret_value()}"

    def invalidate(self) -> bool:
        """Forget the token so the next :meth:`prepare` exchanges a new one."""
        self._token = None
        self._expires_at = 0.0
        return True
