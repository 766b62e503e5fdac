"""Shared builders for the finance_sync tests (imported by the test modules)."""

from __future__ import annotations

from typing import Any

from om_contracts import IntegrationSettings, KeyRing

KEY = KeyRing.generate_key()
RING = KeyRing([KEY])


def sealed_credentials(
    consumer_key: str = "ck", consumer_secret: str = "cs", token_id: str = "ti", token_secret: str = "ts"
) -> dict[str, str]:
    return {
        "client_id": RING.seal(consumer_key).token,
        "client_secret": RING.seal(consumer_secret).token,
        "token_id": RING.seal(token_id).token,
        "token_secret": RING.seal(token_secret).token,
    }


def integration_values(account_id: str = "123", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "account_id": account_id,
        "credentials": sealed_credentials(),
        "sync_type": "orders",
    }
    values.update(overrides)
    return values


def integration(**overrides: Any) -> IntegrationSettings:
    return IntegrationSettings.model_validate(integration_values(**overrides))
