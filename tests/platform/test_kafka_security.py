"""The one mapping from KAFKA_SECURITY_* / KAFKA_SSL_* / KAFKA_SASL_* settings to Kafka clients.

Every client (the services' FastStream broker, the dead-letter producer, omctl, the dev stack)
is built from `kafka_client_kwargs`; these tests pin what it produces for each protocol and
mechanism, that FastStream's security object maps back to exactly the same arguments, and that
settings which cannot work are refused with a message naming the setting.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from aiokafka.abc import AbstractTokenProvider
from faststream.kafka.security import parse_security
from pydantic import ValidationError

from om_devstack.tls import make_pki
from om_platform.adapters.kafka import security as kafka_security
from om_platform.adapters.kafka.security import (
    KafkaConnectionSettings,
    KafkaSecurityError,
    describe,
    faststream_security_kwargs,
    kafka_client_kwargs,
    msk_region,
)


class FixedToken(AbstractTokenProvider):
    async def token(self) -> str:
        return "token"


def fixed_token(_settings: KafkaConnectionSettings) -> AbstractTokenProvider:
    return FixedToken()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_pki(tmp_path_factory.mktemp("pki"))


def build(**values: Any) -> KafkaConnectionSettings:
    return KafkaConnectionSettings(kafka_bootstrap_servers="broker:9093", **values)


def test_plaintext_is_the_default_and_adds_nothing_but_the_protocol() -> None:
    assert kafka_client_kwargs(build()) == {
        "bootstrap_servers": "broker:9093",
        "security_protocol": "PLAINTEXT",
    }


def test_ssl_gives_a_verifying_context_with_the_ca_and_the_client_certificate(pki: Any) -> None:
    kwargs = kafka_client_kwargs(
        build(
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=pki.ca,
            kafka_ssl_certfile=pki.client_cert,
            kafka_ssl_keyfile=pki.client_key,
        )
    )
    context = kwargs["ssl_context"]
    assert kwargs["security_protocol"] == "SSL"
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert "sasl_mechanism" not in kwargs
    assert not kafka_client_kwargs(build(kafka_security_protocol="SSL", kafka_ssl_check_hostname=False))[
        "ssl_context"
    ].check_hostname


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
def test_sasl_with_a_password_maps_user_and_password(mechanism: str, protocol: str) -> None:
    kwargs = kafka_client_kwargs(
        build(
            kafka_security_protocol=protocol,
            kafka_sasl_mechanism=mechanism,
            kafka_sasl_username="svc",
            kafka_sasl_password="pw",
        )
    )
    assert kwargs["sasl_mechanism"] == mechanism
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("svc", "pw")
    assert ("ssl_context" in kwargs) == (protocol == "SASL_SSL")


def test_oauthbearer_calls_the_named_token_provider_factory() -> None:
    kwargs = kafka_client_kwargs(
        build(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="OAUTHBEARER",
            kafka_sasl_oauth_token_provider=f"{__name__}:fixed_token",
        )
    )
    assert isinstance(kwargs["sasl_oauth_token_provider"], FixedToken)
    assert "sasl_plain_password" not in kwargs


CASES: list[dict[str, Any]] = [
    {},
    {"kafka_security_protocol": "SSL"},
    {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "PLAIN", "kafka_sasl_username": "u", "kafka_sasl_password": "p"},
    {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "SCRAM-SHA-256", "kafka_sasl_username": "u", "kafka_sasl_password": "p"},
    {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "u", "kafka_sasl_password": "p"},
    {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER", "kafka_sasl_oauth_token_provider": f"{__name__}:fixed_token"},
]  # fmt: skip


def _normalised(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Arguments with objects (a fresh SSL context, a token provider) replaced by their type."""
    objects = {"ssl_context", "sasl_oauth_token_provider"}
    return {k: (type(v) if k in objects else v) for k, v in kwargs.items() if v is not None}


@pytest.mark.parametrize(
    "values",
    CASES,
    ids=lambda v: v.get("kafka_sasl_mechanism") or v.get("kafka_security_protocol", "PLAINTEXT"),
)
def test_the_faststream_broker_gets_exactly_the_arguments_of_every_other_client(values: dict[str, Any]) -> None:  # fmt: skip
    settings = build(**values)
    via_faststream = faststream_security_kwargs(settings)
    mapped = (
        {"security_protocol": "PLAINTEXT"}
        | parse_security(via_faststream["security"])
        | {  # aiokafka's default
            "bootstrap_servers": settings.kafka_bootstrap_servers,
            "sasl_oauth_token_provider": via_faststream["sasl_oauth_token_provider"],
        }
    )
    assert _normalised(mapped) == _normalised(kafka_client_kwargs(settings))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_MECHANISM"),
        ({"kafka_sasl_mechanism": "PLAIN"}, "KAFKA_SASL_MECHANISM=PLAIN needs KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "SCRAM-SHA-256"}, "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        ({"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": "OAUTHBEARER"}, "needs KAFKA_SASL_OAUTH_TOKEN_PROVIDER"),
        ({"kafka_ssl_cafile": "/nonexistent/ca.pem"}, "does not use TLS"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/nonexistent/ca.pem"}, "KAFKA_SSL_CAFILE=/nonexistent/ca.pem is not a readable file"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": __file__}, "KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE"),
    ],
)  # fmt: skip
def test_settings_that_cannot_work_are_refused_naming_the_setting(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        build(**values)


def test_a_file_that_is_not_a_certificate_is_refused_with_the_settings(tmp_path: Path, pki: Any) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ValidationError, match=r"KAFKA_SSL_CAFILE=.*not a PEM CA bundle"):
        build(kafka_security_protocol="SSL", kafka_ssl_cafile=garbage)
    with pytest.raises(ValidationError, match="cannot load the client certificate and key"):
        build(
            kafka_security_protocol="SSL",
            kafka_ssl_certfile=pki.client_cert,
            kafka_ssl_keyfile=pki.server_key,
        )


def test_the_loggable_description_names_everything_but_the_password() -> None:
    settings = build(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc",
        kafka_sasl_password="very-secret",
    )
    text = describe(settings)
    assert "SCRAM-SHA-512 as svc" in text
    assert "SASL_SSL" in text
    assert "very-secret" not in text + repr(settings) + str(settings.model_dump())


def test_an_unimportable_token_provider_is_a_clear_error() -> None:
    settings = build(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_sasl_oauth_token_provider="no_such_module:factory",
    )
    with pytest.raises(KafkaSecurityError, match="cannot import it"):
        kafka_client_kwargs(settings)


def test_the_msk_iam_provider_takes_its_region_from_the_bootstrap_address() -> None:
    assert msk_region("b-1.prod.abc123.c2.kafka.ap-southeast-2.amazonaws.com:9098,b-2...") == "ap-southeast-2"
    assert msk_region("boot-xyz.c1.kafka-serverless.eu-west-1.amazonaws.com:9098") == "eu-west-1"
    with pytest.raises(KafkaSecurityError, match="not an MSK address"):
        msk_region("kafka.internal:9093")


def test_the_msk_iam_provider_says_which_package_it_needs_when_it_is_missing() -> None:
    settings = build(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_sasl_oauth_token_provider="om_platform.kafka_security:aws_msk_iam",
    )
    try:
        import aws_msk_iam_sasl_signer  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        with pytest.raises(KafkaSecurityError, match="aws-msk-iam-sasl-signer-python"):
            kafka_security.aws_msk_iam(settings)
    else:  # pragma: no cover - only where the optional signer is installed
        pytest.fail("the signer is installed here; this test pins the message for images without it")


@pytest.mark.parametrize(
    "reference",
    ["om_platform.adapters.kafka.security:aws_msk_iam", "om_platform.kafka_security:aws_msk_iam"],
)
def test_the_msk_iam_provider_is_found_under_its_path_and_the_one_deployments_used_before(
    reference: str,
) -> None:
    """The module moved (issue 24); a configuration naming its earlier path still builds the provider."""
    settings = build(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="OAUTHBEARER",
        kafka_sasl_oauth_token_provider=reference,
    )
    # Without the optional signer package, reaching the factory is what raises this message.
    with pytest.raises(KafkaSecurityError, match="aws-msk-iam-sasl-signer-python"):
        kafka_security.token_provider(settings)
