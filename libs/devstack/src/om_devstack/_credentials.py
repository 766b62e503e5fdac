"""Sealing a simulated account's TBA secrets the way the Ordermentum platform publishes them."""

from __future__ import annotations

from om_contracts import KeyRing
from om_netsuite_sim import TbaCredentials


def sealed_credentials(ring: KeyRing, credentials: TbaCredentials) -> dict[str, str]:
    """The integration's `credentials` object: each secret sealed with `ring` (CONTRACTS.md)."""
    plain = {
        "client_id": credentials.consumer_key,
        "client_secret": credentials.consumer_secret,
        "token_id": credentials.token_id,
        "token_secret": credentials.token_secret,
    }
    return {name: ring.seal(value).token for name, value in plain.items()}
