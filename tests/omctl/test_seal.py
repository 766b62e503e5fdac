"""`omctl seal`: values come from stdin, never argv, and open with the key ring."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from om_contracts import IntegrationSettings, KeyRing, M2MCredentials

from .conftest import KEY, Cli


async def test_seal_reads_stdin_and_the_output_opens_with_the_key_ring(cli: Cli) -> None:
    result = await cli("seal", input="s3cret-token\n")
    assert result.exit_code == 0, result.output
    sealed = result.stdout.strip()
    assert "s3cret-token" not in result.output
    assert KeyRing.from_string(KEY).open(sealed).get_secret_value() == "s3cret-token"


async def test_seal_credentials_prints_an_integration_credentials_object(cli: Cli) -> None:
    result = await cli("seal", "--credentials", input="ck\ncs\ntid\ntsec\n")
    assert result.exit_code == 0, result.output
    sealed = json.loads(result.stdout)
    ring = KeyRing.from_string(KEY)
    opened = {name: ring.open(token).get_secret_value() for name, token in sealed.items()}
    assert opened == {"client_id": "ck", "client_secret": "cs", "token_id": "tid", "token_secret": "tsec"}


async def test_seal_refuses_without_a_key_ring_and_never_takes_the_value_as_an_argument(cli: Cli) -> None:
    missing = await cli("seal", input="x\n", netsuite_credentials_keys="")
    assert missing.exit_code == 1
    assert "NETSUITE_CREDENTIALS_KEYS" in missing.output
    as_argument = await cli("seal", "s3cret")
    assert as_argument.exit_code == 2  # no positional value is accepted


async def test_seal_m2m_prints_oauth2_credentials_with_the_certificates_expiry(cli: Cli) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ordermentum-netsuite")])
    not_after = datetime(2028, 3, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2026, 3, 1, tzinfo=UTC))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    pem = (
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    ).decode()

    result = await cli("seal", "--m2m", input=f"client-1\ncert-9\n{pem}")

    assert result.exit_code == 0, result.output
    assert "PRIVATE KEY" not in result.output
    sealed = json.loads(result.stdout)
    settings = IntegrationSettings.model_validate(
        {"account_id": "1234567_SB1", "credentials": sealed, "sync_type": "orders"}
    )
    credentials = settings.credentials
    assert isinstance(credentials, M2MCredentials)
    assert credentials.certificate_expires_at == not_after
    ring = KeyRing.from_string(KEY)
    assert ring.open(credentials.certificate_id).get_secret_value() == "cert-9"
    assert "BEGIN PRIVATE KEY" in ring.open(credentials.private_key).get_secret_value()
    not_a_key = await cli("seal", "--m2m", input="client-1\ncert-9\nhello\n")
    assert not_a_key.exit_code == 1
    assert "not an unencrypted PEM private key" in not_a_key.output
