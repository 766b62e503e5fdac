"""Shared test support (not port fakes: those are in fakes.py): the payloads every service's tests send."""

from __future__ import annotations

from typing import Any

from om_contracts import KeyRing
from om_netsuite_sim import TbaCredentials


def integration(account_id: str, ring: KeyRing, creds: TbaCredentials, **settings: Any) -> dict[str, Any]:
    """An `integration.netsuite.configured` payload as Ordermentum sends it: the account, its TBA
    credentials each sealed with `ring`, orders sync unless `settings` say otherwise."""
    return {
        "account_id": account_id,
        "credentials": {
            "client_id": ring.seal(creds.consumer_key).token,
            "client_secret": ring.seal(creds.consumer_secret).token,
            "token_id": ring.seal(creds.token_id).token,
            "token_secret": ring.seal(creds.token_secret).token,
        },
        "sync_type": "orders",
        **settings,
    }
