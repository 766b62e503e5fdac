"""A tiny stdlib TBA signer for the simulator tests (reference/netsuite.md section 2.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import urllib.parse as up

from om_netsuite_sim import TbaCredentials


def pct(value: str) -> str:
    return up.quote(str(value), safe="-._~")


def tba_header(
    method: str,
    url: str,
    realm: str,
    creds: TbaCredentials,
    *,
    nonce: str | None = None,
    timestamp: int | None = None,
    signature_method: str = "HMAC-SHA256",
    version: str = "1.0",
    tamper: bool = False,
) -> str:
    parts = up.urlsplit(url)
    base_url = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    oauth = {
        "oauth_consumer_key": creds.consumer_key,
        "oauth_token": creds.token_id,
        "oauth_signature_method": signature_method,
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "oauth_nonce": nonce or secrets.token_hex(10),
        "oauth_version": version,
    }
    params = up.parse_qsl(parts.query, keep_blank_values=True) + list(oauth.items())
    norm = "&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in params))
    base = "&".join([method.upper(), pct(base_url), pct(norm)])
    key = f"{pct(creds.consumer_secret)}&{pct(creds.token_secret)}".encode()
    sig = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
    if tamper:
        sig = ("A" if sig[0] != "A" else "B") + sig[1:]
    fields = {**oauth, "oauth_signature": sig}
    return f'OAuth realm="{realm}", ' + ", ".join(f'{k}="{pct(v)}"' for k, v in fields.items())
