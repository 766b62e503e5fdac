"""Sealing a simulated account's secrets (TBA, or OAuth 2.0 M2M) the way the Ordermentum platform
publishes them."""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from om_contracts import KeyRing
from om_netsuite_sim import Simulator, TbaCredentials


def sealed_credentials(ring: KeyRing, credentials: TbaCredentials) -> dict[str, str]:
    """The integration's `credentials` object: each secret sealed with `ring` (CONTRACTS.md)."""
    plain = {
        "client_id": credentials.consumer_key,
        "client_secret": credentials.consumer_secret,
        "token_id": credentials.token_id,
        "token_secret": credentials.token_secret,
    }
    return {name: ring.seal(value).token for name, value in plain.items()}


def sealed_m2m_credentials(
    ring: KeyRing,
    sim: Simulator,
    account_id: str,
    *,
    client_id: str,
    certificate_id: str,
    expires_at: datetime | None = None,
) -> dict[str, str]:
    """OAuth 2.0 M2M `credentials` of a new certificate: an EC P-256 key pair made here, its public
    part mapped to `client_id` in the simulated account (expiring at `expires_at`, for NetSuite and
    in `certificate_expires_at`), the client id, certificate id and private key sealed with `ring`."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sim.add_oauth2_client(
        account_id,
        client_id=client_id,
        certificate_id=certificate_id,
        public_key_pem=public.decode(),
        expires_at=expires_at.timestamp() if expires_at is not None else None,
    )
    credentials = {
        "kind": "oauth2_m2m",
        "client_id": ring.seal(client_id).token,
        "certificate_id": ring.seal(certificate_id).token,
        "private_key": ring.seal(private.decode()).token,
    }
    if expires_at is not None:
        credentials["certificate_expires_at"] = expires_at.isoformat()
    return credentials
