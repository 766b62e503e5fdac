"""Token-Based Authentication (OAuth 1.0a, HMAC-SHA256) verification as NetSuite performs it.

Implements NetSuite Help "The Signature for Web Services and RESTlets" (section_1534941088) and
"Troubleshooting Token-based Authentication" (subsect_156935170194): the base string is rebuilt
from the request the client actually sent, every failure is answered with the same generic
401 INVALID_LOGIN, and only the login audit trail (here: ``Account.auth_failures``) names the
reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

__all__ = [
    "TbaCredentials",
    "TbaFailure",
    "base_string",
    "parse_authorization",
    "sign",
]

#: How far (seconds) a timestamp may be from the server clock (NetSuite: five minutes).
TIMESTAMP_WINDOW = 300
MIN_NONCE_LENGTH = 6
_PARAM_RE = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"\s*')


@dataclass(frozen=True)
class TbaCredentials:
    """The four TBA secrets of one integration + access token, as plain strings."""

    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str


class TbaFailure(Exception):
    """A verification failure; ``reason`` is the login-audit-trail reason name."""

    def __init__(self, reason: str, realm: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.realm = realm


def pct(value: str) -> str:
    """RFC 5849 section 3.6 percent-encoding (unreserved characters kept, upper-case hex)."""
    return quote(value, safe="-._~")


def parse_authorization(header: str) -> dict[str, str]:
    """Parse an ``Authorization: OAuth k="v", ...`` header into decoded parameters.

    Raises ``TbaFailure("parameter_rejected")`` on a duplicated or malformed parameter.
    """
    if not header[:6].lower() == "oauth ":
        raise TbaFailure("MissingTokenPassportRequiredFields")
    params: dict[str, str] = {}
    for part in header[6:].split(","):
        if not part.strip():
            continue
        match = _PARAM_RE.fullmatch(part)
        if match is None:
            raise TbaFailure("parameter_rejected")
        name, value = match.group(1), unquote(match.group(2))
        if name in params:
            raise TbaFailure("parameter_rejected")
        params[name] = value
    return params


def base_string(method: str, url: str, oauth_params: dict[str, str]) -> str:
    """Build the signature base string from the URL as sent and the oauth parameters.

    ``oauth_params`` must already exclude ``realm`` and ``oauth_signature``.
    """
    parts = urlsplit(url)
    base_url = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    pairs = parse_qsl(parts.query, keep_blank_values=True) + list(oauth_params.items())
    normalized = "&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in pairs))
    return "&".join([method.upper(), pct(base_url), pct(normalized)])


def sign(base: str, consumer_secret: str, token_secret: str) -> str:
    """HMAC-SHA256 of the base string keyed with both secrets, base64-encoded."""
    key = f"{pct(consumer_secret)}&{pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()


_REQUIRED = (
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_version",
    "oauth_signature",
)


def verify(
    method: str,
    url: str,
    params: dict[str, str],
    credentials: TbaCredentials,
    now: float,
    nonce_seen: Callable[[str, str, str], bool],
) -> None:
    """Check one already-routed request; raise ``TbaFailure`` with the audit reason.

    ``nonce_seen(nonce, timestamp, token)`` must record the triple and say whether it was used.
    The order of checks follows what the audit trail reports first on NetSuite: the identity of
    the key and token, then the protocol parameters, then the signature, then replay.
    """
    realm = params.get("realm")
    if any(not params.get(name) for name in _REQUIRED):
        raise TbaFailure("MissingTokenPassportRequiredFields", realm)
    if params["oauth_consumer_key"] != credentials.consumer_key:
        raise TbaFailure("consumer_key_unknown", realm)
    if params["oauth_token"] != credentials.token_id:
        raise TbaFailure("token_rejected", realm)
    if params["oauth_signature_method"] != "HMAC-SHA256":
        raise TbaFailure("UnknownAlgorithm", realm)
    if params["oauth_version"] != "1.0":
        raise TbaFailure("VersionRejected", realm)
    if len(params["oauth_nonce"]) < MIN_NONCE_LENGTH:
        raise TbaFailure("nonce_rejected", realm)
    try:
        timestamp = int(params["oauth_timestamp"])
    except ValueError:
        raise TbaFailure("InvalidTimestamp", realm) from None
    if abs(now - timestamp) > TIMESTAMP_WINDOW:
        raise TbaFailure("InvalidTimestamp", realm)
    signed = {k: v for k, v in params.items() if k not in ("realm", "oauth_signature")}
    expected = sign(base_string(method, url, signed), credentials.consumer_secret, credentials.token_secret)
    if not hmac.compare_digest(expected.encode(), params["oauth_signature"].encode()):
        raise TbaFailure("InvalidSignature", realm)
    if nonce_seen(params["oauth_nonce"], params["oauth_timestamp"], params["oauth_token"]):
        raise TbaFailure("NonceUsed", realm)
