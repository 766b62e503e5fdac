"""OAuth 2.0 client credentials (machine-to-machine) for SuiteTalk REST.

Help Center section_162755359851 / section_162790605110: the client POSTs a JWT assertion, signed
with the private key of a certificate uploaded to NetSuite (``kid`` = the certificate id), to
``/services/rest/auth/oauth2/v1/token`` and gets a 60-minute bearer token without a refresh token.
Allowed algorithms are PS256/384/512 and ES256/384/512; this module signs PS256 or ES256.

The token is cached and renewed ``renew_before`` seconds ahead of expiry; an ``asyncio.Lock``
makes sure concurrent requests trigger one exchange only (a thousand requests on a cold cache
mint one token). A refusal is remembered for ``refusal_hold`` seconds, so the requests queued
behind a refused exchange fail with it instead of each asking again.

NetSuite's token endpoint answers an OAuth error (RFC 6749 section 5.2: ``{"error":
"invalid_client"}`` / ``"invalid_grant"``); the specific reason is only in the account's Login
Audit Trail (Oracle help subsect_158324637123), so :class:`TokenRefused` names the likely
cause from what the client knows: the certificate's expiry date, the clock difference to the
``Date`` header of NetSuite's answer (RFC 9110 section 6.6.1), else an unknown or revoked
certificate. Whether NetSuite's body carries an ``error_description`` is unconfirmed; when it
does, it is kept in the message.

Tokens and assertions are secret: kept as ``SecretStr``, never logged, never put in an error.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx2
from cryptography import x509
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

__all__ = [
    "CLOCK_SKEW_LIMIT",
    "TOKEN_PATH",
    "OAuth2ClientCredentials",
    "TokenRefused",
    "algorithm_for_key",
    "certificate_expiry",
]

logger = logging.getLogger("om_netsuite.oauth2")

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a URL path, not a secret
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


CLOCK_SKEW_LIMIT = 300.0
"""Seconds between our clock and NetSuite's ``Date`` beyond which a refusal is blamed on clock skew
(the assertion's ``iat``/``exp`` window; NetSuite's own tolerance is unconfirmed)."""

TokenCause = Literal["expired_certificate", "clock_skew", "unknown_certificate"]

_CAUSE_TEXT: dict[str, str] = {
    "expired_certificate": "the certificate expired on {expiry}: upload a new one and save its id and key in Ordermentum",
    "clock_skew": "our clock is {skew:.0f} s off NetSuite's: the assertion's iat/exp fall outside its window",
    "unknown_certificate": (
        "unknown or revoked certificate (or wrong key or client id): check the certificate id and key "
        "on Setup > Integration > Manage Authentication > OAuth 2.0 Client Credentials (M2M) Setup"
    ),
}


class TokenRefused(AuthenticationFailed):
    """The token endpoint refused the client assertion: the credentials are wrong, not the request.

    ``cause`` is ``expired_certificate``, ``clock_skew`` or ``unknown_certificate`` (see the module
    docstring); ``oauth_error`` is NetSuite's ``error`` value (``invalid_client``...).
    """

    def __init__(
        self, message: str, *, status: int, oauth_error: str, cause: TokenCause, **kwargs: Any
    ) -> None:
        super().__init__(message, status=status, **kwargs)
        self.oauth_error = oauth_error
        self.cause: TokenCause = cause
        self.code = oauth_error
        self.detail = message


def algorithm_for_key(private_key_pem: str) -> Literal["PS256", "ES256"]:
    """PS256 for an RSA key, ES256 for an EC P-256 key; ValueError for anything else (or no PEM)."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("private_key is not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        return "PS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return "ES256"
    raise ValueError("private_key must be RSA (PS256) or EC P-256 (ES256), the algorithms NetSuite accepts")


def certificate_expiry(pem: str) -> float | None:
    """``notAfter`` (epoch seconds) of the first certificate in ``pem``, None when there is none.

    The sealed ``private_key`` may be the key followed by its certificate (the usual key+cert
    bundle); then the certificate tells when it expires without ``certificate_expires_at``.
    """
    if "-----BEGIN CERTIFICATE-----" not in pem:
        return None
    try:
        return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc.timestamp()
    except ValueError:
        return None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class OAuth2ClientCredentials:
    """:class:`~om_netsuite.Auth` implementation for OAuth 2.0 client credentials.

    ``private_key_pem`` is the PEM of an RSA key (PS256) or a P-256 EC key (ES256).
    """

    refreshable = True
    """A 401 may be cured by a new token (the client retries once; TBA has nothing to renew)."""

    def __init__(
        self,
        account_id: str,
        *,
        client_id: SecretStr | str,
        certificate_id: str,
        private_key_pem: SecretStr | str,
        algorithm: Literal["PS256", "ES256"] | None = None,
        scopes: Sequence[str] = ("rest_webservices",),
        renew_before: float = 300.0,
        refusal_hold: float = 30.0,
        certificate_expires_at: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.realm = normalize_account_id(account_id)
        self._client_id = client_id if isinstance(client_id, SecretStr) else SecretStr(client_id)
        self._certificate_id = certificate_id
        pem = private_key_pem if isinstance(private_key_pem, SecretStr) else SecretStr(private_key_pem)
        if algorithm is None:
            algorithm = algorithm_for_key(pem.get_secret_value())
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
        self._refusal_hold = refusal_hold
        self.certificate_expires_at = (
            certificate_expires_at
            if certificate_expires_at is not None
            else certificate_expiry(pem.get_secret_value())
        )
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self._issued_mono = 0.0
        self._refused: tuple[float, TokenRefused] | None = None
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

    def now(self) -> float:
        """The auth's clock (seconds since the epoch)."""
        return self._clock()

    @property
    def token_expires_at(self) -> float | None:
        """When the cached token expires (``clock`` seconds), None without one."""
        return self._expires_at if self._token is not None else None

    def _valid(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - self._renew_before

    async def prepare(self, http: httpx2.AsyncClient, base_url: str) -> None:
        """Fetch a bearer token unless a valid one is cached (one exchange at a time)."""
        if self._valid():
            return
        async with self._lock:
            if self._valid():
                return
            refused = self._refused
            if refused is not None and time.monotonic() < refused[0]:
                raise refused[1]  # the exchange just refused: waiters do not ask again
            try:
                await self._fetch(http, base_url.rstrip("/") + TOKEN_PATH)
            except TokenRefused as error:
                self._refused = (time.monotonic() + self._refusal_hold, error)
                raise
            self._refused = None

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
            if isinstance(error, NetSuiteHTTPError) and error.status < 500 and error.status not in (408, 429):
                # invalid_client / invalid_grant: the credentials, not the request, are wrong.
                raise self._refusal(response, info)
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
        self._issued_mono = time.monotonic()
        logger.info(
            "netsuite oauth2 token issued",
            extra={"account_id": self.realm, "expires_in": expires_in},
        )

    def authorization(self, _method: str, _url: str, /) -> str:
        """``Bearer <token>`` whatever the request (the token is not bound to it); :meth:`prepare`
        must have run."""
        if self._token is None:
            raise RuntimeError("OAuth2ClientCredentials.prepare() has not fetched a token")
        return f"Bearer {self._token.get_secret_value()}"

    def invalidate(self, signed_at: float | None = None, /) -> bool:
        """Forget the token so the next :meth:`prepare` exchanges a new one.

        ``signed_at`` (``time.monotonic()`` when the refused request took its header): a token
        obtained after it is already the new one and is kept, so a burst of 401s on an expired
        token costs one exchange, not one per request.
        """
        if signed_at is None or self._issued_mono <= signed_at:
            # Stale, not gone: a request that prepared before this still signs (and meets its own
            # 401 and retry) instead of finding no token at all.
            self._expires_at = 0.0
        return True

    def _refusal(self, response: httpx2.Response, info: RequestInfo) -> TokenRefused:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        oauth_error = str(body.get("error") or f"HTTP_{response.status_code}")
        description = body.get("error_description")
        now = self._clock()
        skew = _skew(response.headers.get("date"), now)
        cause: TokenCause
        if self.certificate_expires_at is not None and self.certificate_expires_at <= now:
            cause = "expired_certificate"
        elif skew is not None and abs(skew) > CLOCK_SKEW_LIMIT:
            cause = "clock_skew"
        else:
            cause = "unknown_certificate"
        expiry = (
            datetime.fromtimestamp(self.certificate_expires_at, UTC).date().isoformat()
            if self.certificate_expires_at is not None
            else "?"
        )
        text = _CAUSE_TEXT[cause].format(expiry=expiry, skew=skew or 0.0)
        said = (
            f" (NetSuite: {str(description)[:200]})" if isinstance(description, str) and description else ""
        )
        return TokenRefused(
            f"NetSuite refused the OAuth 2.0 token ({oauth_error}): {text}{said}",
            status=response.status_code,
            oauth_error=oauth_error,
            cause=cause,
            request=info,
        )


def _skew(date_header: str | None, now: float) -> float | None:
    """Seconds NetSuite's clock (its ``Date`` header) is ahead of ours; None without a usable Date."""
    if not date_header:
        return None
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    if theirs.tzinfo is None:
        return None
    return theirs.timestamp() - now
