"""Token-Based Authentication (OAuth 1.0a, HMAC-SHA256) for SuiteTalk REST.

Implements Help Center section_1534941088 / section_1534939551 with the standard library only:

* base string = METHOD & pct(scheme://host/path) & pct(sorted, encoded parameters), where the
  parameters are the ``oauth_*`` values (without ``realm`` and ``oauth_signature``) plus every
  query-string parameter of the exact URL sent;
* JSON bodies are never signed, and query parameters never go into the header;
* key = pct(consumer secret) & pct(token secret); every call gets a fresh nonce and timestamp
  (a reused pair fails with ``nonce_used``, subsect_156935170194).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlsplit

import httpx2
from pydantic import BaseModel, ConfigDict, SecretStr

from ._accounts import normalize_account_id

__all__ = ["TbaAuth", "TbaCredentials", "signature_base_string", "tba_authorization_header"]


def _pct(value: str) -> str:
    """RFC 5849 §3.6 percent-encoding: only ``A-Za-z0-9-._~`` stay, hex upper-case, space=%20."""
    return quote(value, safe="-._~")


def signature_base_string(method: str, url: str, oauth_params: dict[str, str] | list[tuple[str, str]]) -> str:
    """The OAuth 1.0a signature base string for ``url`` (query included) and ``oauth_params``."""
    parts = urlsplit(url)
    base_url = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    items = oauth_params.items() if isinstance(oauth_params, dict) else oauth_params
    params = [*parse_qsl(parts.query, keep_blank_values=True), *items]
    normalized = "&".join(f"{k}={v}" for k, v in sorted((_pct(k), _pct(v)) for k, v in params))
    return "&".join((method.upper(), _pct(base_url), _pct(normalized)))


def tba_authorization_header(
    *,
    method: str,
    url: str,
    realm: str,
    consumer_key: str,
    consumer_secret: str,
    token_id: str,
    token_secret: str,
    nonce: str,
    timestamp: str,
) -> str:
    """The ``Authorization`` header value for one request (deterministic given nonce/timestamp)."""
    oauth = {
        "oauth_nonce": nonce,
        "oauth_timestamp": timestamp,
        "oauth_version": "1.0",
        "oauth_signature_method": "HMAC-SHA256",
        "oauth_consumer_key": consumer_key,
        "oauth_token": token_id,
    }
    base = signature_base_string(method, url, oauth)
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}".encode()
    digest = hmac.new(key, base.encode(), hashlib.sha256).digest()
    oauth["oauth_signature"] = base64.b64encode(digest).decode("ascii")
    fields = ", ".join(f'{k}="{_pct(v)}"' for k, v in oauth.items())
    return f'OAuth realm="{realm}", {fields}'


class TbaCredentials(BaseModel):
    """The four TBA secrets (integration record + access token), held as ``SecretStr``."""

    model_config = ConfigDict(frozen=True)

    consumer_key: SecretStr
    consumer_secret: SecretStr
    token_id: SecretStr
    token_secret: SecretStr


def _new_nonce() -> str:
    # 20 characters (80 random bits) as Oracle recommends; at least 6 are required.
    return secrets.token_hex(10)


class TbaAuth:
    """:class:`~om_netsuite.Auth` implementation for Token-Based Authentication.

    ``nonce_factory`` and ``clock`` exist for tests; production uses a CSPRNG and ``time.time``.
    """

    def __init__(
        self,
        account_id: str,
        credentials: TbaCredentials,
        *,
        nonce_factory: Callable[[], str] = _new_nonce,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.realm = normalize_account_id(account_id)
        self._credentials = credentials
        self._nonce_factory = nonce_factory
        self._clock = clock

    def __repr__(self) -> str:
        return f"TbaAuth(realm={self.realm!r})"

    async def prepare(self, http: httpx2.AsyncClient, base_url: str) -> None:
        """TBA needs no token exchange."""

    def invalidate(self, _signed_at: float | None = None, /) -> bool:
        """Nothing cached to drop; a 401 under TBA is not cured by re-signing alone."""
        return False

    def authorization(self, method: str, url: str, /) -> str:
        """Sign ``method url`` afresh (new nonce and timestamp on every call)."""
        creds = self._credentials
        return tba_authorization_header(
            method=method,
            url=url,
            realm=self.realm,
            consumer_key=creds.consumer_key.get_secret_value(),
            consumer_secret=creds.consumer_secret.get_secret_value(),
            token_id=creds.token_id.get_secret_value(),
            token_secret=creds.token_secret.get_secret_value(),
            nonce=self._nonce_factory(),
            timestamp=str(int(self._clock())),
        )
