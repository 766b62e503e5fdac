"""How every Kafka client of the project reaches the cluster: one mapping from settings to clients.

Managed Kafka is secured: TLS (`SSL`), SASL over TLS (`SASL_SSL`) or, inside a trusted network,
SASL without TLS (`SASL_PLAINTEXT`). The same environment variables configure every client the
project has, so a ConfigMap/Secret that works for the services works for `omctl`, the dev-stack
tools and the KEDA trigger authentication rendered by `omctl deploy`:

  KAFKA_SECURITY_PROTOCOL      PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
  KAFKA_SSL_CAFILE             CA bundle (PEM) that signed the brokers' certificates (default: the system's)
  KAFKA_SSL_CERTFILE / _KEYFILE  client certificate and key (PEM) for mutual TLS
  KAFKA_SSL_KEY_PASSWORD       password of an encrypted client key (secret)
  KAFKA_SSL_CHECK_HOSTNAME     verify that the broker's certificate names the host dialled
  KAFKA_SASL_MECHANISM         PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER
  KAFKA_SASL_USERNAME / _PASSWORD  for PLAIN and SCRAM (the password is a secret)
  KAFKA_SASL_OAUTH_TOKEN_PROVIDER  `module:factory` returning an aiokafka token provider (OAUTHBEARER)

`kafka_client_kwargs()` turns them into aiokafka's keyword arguments (`security_protocol`,
`ssl_context`, `sasl_mechanism`, `sasl_plain_username`, `sasl_plain_password`,
`sasl_oauth_token_provider`); `faststream_security_kwargs()` derives FastStream's `security`
object from that same dictionary, so the services' broker and their raw producers can never
disagree. `check_connection()` is the start-up check that turns a wrong CA, an unknown user or an
unreachable broker into one sentence for the operator. Secrets are `SecretStr` and never logged:
`describe()` is the loggable view.

AWS MSK with IAM: `KAFKA_SECURITY_PROTOCOL=SASL_SSL`, `KAFKA_SASL_MECHANISM=OAUTHBEARER`,
`KAFKA_SASL_OAUTH_TOKEN_PROVIDER=om_platform.adapters.kafka.security:aws_msk_iam` (needs AWS's
`aws-msk-iam-sasl-signer-python` in the image; credentials come from the pod's IAM role).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import re
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from aiokafka.abc import AbstractTokenProvider

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
TokenProviderFactory = Callable[["KafkaConnectionSettings"], "AbstractTokenProvider"]

__all__ = [
    "KafkaConnectionSettings",
    "KafkaSecurityError",
    "check_connection",
    "describe",
    "explain_kafka_error",
    "faststream_security_kwargs",
    "kafka_client_kwargs",
]


class KafkaSecurityError(RuntimeError):
    """The Kafka connection settings cannot work; the message says which setting and why (one line)."""


class KafkaConnectionSettings(BaseSettings):
    """Where the cluster is and how to authenticate to it (shared by the services and omctl)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Comma-separated Kafka bootstrap servers."
    )
    kafka_security_protocol: SecurityProtocol = Field(
        "PLAINTEXT",
        description="PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over TLS): as the cluster's listener.",
    )
    kafka_ssl_cafile: Path | None = Field(
        None,
        description="PEM bundle of the CA(s) that signed the brokers' certificates; unset = the system's.",
    )
    kafka_ssl_certfile: Path | None = Field(
        None, description="Client certificate (PEM) for mutual TLS; unset = no client certificate."
    )
    kafka_ssl_keyfile: Path | None = Field(
        None, description="Private key (PEM) of KAFKA_SSL_CERTFILE, if not inside that file."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        None, description="Password of an encrypted KAFKA_SSL_KEYFILE (secret)."
    )
    kafka_ssl_check_hostname: bool = Field(
        True, description="Check that the broker's certificate names the host connected to."
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        None, description="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER; required for SASL_*."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user (PLAIN and SCRAM).")
    kafka_sasl_password: SecretStr | None = Field(
        None, description="SASL password (PLAIN and SCRAM; secret)."
    )
    kafka_sasl_oauth_token_provider: str | None = Field(
        None,
        description="`module:factory` building an aiokafka token provider from these settings (OAUTHBEARER), "
        "e.g. `om_platform.adapters.kafka.security:aws_msk_iam`.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> KafkaConnectionSettings:
        problems = _problems(self)
        if not problems and self.uses_tls:
            try:  # a CA or key that is not PEM is a setting problem, found before any connection
                ssl_context(self)
            except KafkaSecurityError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def uses_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.kafka_security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def _problems(s: KafkaConnectionSettings) -> list[str]:
    problems: list[str] = []
    protocol = s.kafka_security_protocol
    files = {
        "KAFKA_SSL_CAFILE": s.kafka_ssl_cafile,
        "KAFKA_SSL_CERTFILE": s.kafka_ssl_certfile,
        "KAFKA_SSL_KEYFILE": s.kafka_ssl_keyfile,
    }
    if not s.uses_tls:
        given = [name for name, path in files.items() if path is not None]
        if given:
            problems.append(f"{', '.join(given)} set but KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS")
    for name, path in files.items():
        if path is not None and not path.is_file():
            problems.append(f"{name}={path} is not a readable file")
    if s.kafka_ssl_keyfile is not None and s.kafka_ssl_certfile is None:
        problems.append("KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE")
    mechanism = s.kafka_sasl_mechanism
    if s.uses_sasl and mechanism is None:
        problems.append(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_MECHANISM")
    if not s.uses_sasl and mechanism is not None:
        problems.append(
            f"KAFKA_SASL_MECHANISM={mechanism} needs KAFKA_SECURITY_PROTOCOL=SASL_SSL or SASL_PLAINTEXT"
        )
    password_mechanism = mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
    if s.uses_sasl and password_mechanism and (not s.kafka_sasl_username or s.kafka_sasl_password is None):
        problems.append(f"KAFKA_SASL_MECHANISM={mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
    if s.uses_sasl and mechanism == "OAUTHBEARER" and not s.kafka_sasl_oauth_token_provider:
        problems.append(
            "KAFKA_SASL_MECHANISM=OAUTHBEARER needs KAFKA_SASL_OAUTH_TOKEN_PROVIDER (module:factory)"
        )
    return problems


def ssl_context(settings: KafkaConnectionSettings) -> ssl.SSLContext:
    """The TLS context of every client: the CA bundle, an optional client certificate, hostname checks."""
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH,
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
        )
    except (ssl.SSLError, OSError) as exc:
        raise KafkaSecurityError(
            f"KAFKA_SSL_CAFILE={settings.kafka_ssl_cafile}: not a PEM CA bundle ({_reason(exc)})"
        ) from None
    context.check_hostname = settings.kafka_ssl_check_hostname
    if settings.kafka_ssl_certfile is not None:
        password = settings.kafka_ssl_key_password
        try:
            context.load_cert_chain(
                str(settings.kafka_ssl_certfile),
                str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
                password.get_secret_value() if password is not None else None,
            )
        except (ssl.SSLError, OSError) as exc:
            raise KafkaSecurityError(
                f"KAFKA_SSL_CERTFILE/KAFKA_SSL_KEYFILE: cannot load the client certificate and key "
                f"({_reason(exc)}); is the key encrypted (KAFKA_SSL_KEY_PASSWORD) or for another certificate?"
            ) from None
    return context


MOVED_PROVIDERS = {
    "om_platform.kafka_security:aws_msk_iam": "om_platform.adapters.kafka.security:aws_msk_iam"
}
"""KAFKA_SASL_OAUTH_TOKEN_PROVIDER values of earlier releases (the module moved in issue 24): a
deployed configuration keeps working unchanged."""


def token_provider(settings: KafkaConnectionSettings) -> AbstractTokenProvider:
    """Build the OAUTHBEARER token provider named by KAFKA_SASL_OAUTH_TOKEN_PROVIDER."""
    given = settings.kafka_sasl_oauth_token_provider or ""
    reference = MOVED_PROVIDERS.get(given, given)
    module_name, _, attribute = reference.partition(":")
    try:
        factory: TokenProviderFactory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise KafkaSecurityError(
            f"KAFKA_SASL_OAUTH_TOKEN_PROVIDER={reference!r}: cannot import it ({exc}); expected module:factory"
        ) from None
    return factory(settings)


def kafka_client_kwargs(settings: KafkaConnectionSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for any client (producer, consumer, admin), bootstrap servers included."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.uses_tls:
        kwargs["ssl_context"] = ssl_context(settings)
    if settings.uses_sasl:
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        if settings.kafka_sasl_mechanism == "OAUTHBEARER":
            kwargs["sasl_oauth_token_provider"] = token_provider(settings)
        else:
            password = settings.kafka_sasl_password
            kwargs["sasl_plain_username"] = settings.kafka_sasl_username
            kwargs["sasl_plain_password"] = password.get_secret_value() if password is not None else None
    return kwargs


def faststream_security_kwargs(settings: KafkaConnectionSettings) -> dict[str, Any]:
    """`KafkaBroker(**...)` arguments: FastStream's security object, derived from `kafka_client_kwargs`.

    FastStream turns its security object back into exactly these aiokafka arguments (and documents
    the server as `kafka-secure` in AsyncAPI); the OAUTHBEARER token provider is a broker argument
    of its own.
    """
    from faststream.security import (
        BaseSecurity,
        SASLOAuthBearer,
        SASLPlaintext,
        SASLScram256,
        SASLScram512,
    )

    kwargs = kafka_client_kwargs(settings)
    if not (settings.uses_tls or settings.uses_sasl):
        return {"security": None, "sasl_oauth_token_provider": None}  # aiokafka's default: PLAINTEXT
    context: ssl.SSLContext | None = kwargs.get("ssl_context")
    use_ssl = settings.uses_tls
    security: BaseSecurity
    mechanism = kwargs.get("sasl_mechanism")
    if mechanism is None:  # SSL
        security = BaseSecurity(ssl_context=context, use_ssl=use_ssl)
    elif mechanism == "OAUTHBEARER":
        security = SASLOAuthBearer(ssl_context=context, use_ssl=use_ssl)
    else:
        sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[
            mechanism
        ]
        security = sasl(
            kwargs["sasl_plain_username"], kwargs["sasl_plain_password"], ssl_context=context, use_ssl=use_ssl
        )
    return {"security": security, "sasl_oauth_token_provider": kwargs.get("sasl_oauth_token_provider")}


def describe(settings: KafkaConnectionSettings) -> str:
    """The connection settings as one loggable line (no secret)."""
    parts = [f"{settings.kafka_bootstrap_servers} {settings.kafka_security_protocol}"]
    if settings.uses_tls:
        parts.append(f"CA {settings.kafka_ssl_cafile or 'system'}")
        if settings.kafka_ssl_certfile:
            parts.append(f"client certificate {settings.kafka_ssl_certfile}")
        if not settings.kafka_ssl_check_hostname:
            parts.append("hostname not checked")
    if settings.uses_sasl:
        who = settings.kafka_sasl_username or settings.kafka_sasl_oauth_token_provider
        parts.append(f"{settings.kafka_sasl_mechanism} as {who}")
    return ", ".join(parts)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return str(exc.verify_message or exc.reason or exc)
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    return str(exc) or type(exc).__name__


def _first_server(bootstrap: str) -> tuple[str, int]:
    first = bootstrap.split(",", maxsplit=1)[0].strip()
    host, _, port = first.rpartition(":")
    return (host.strip("[]") or first), int(port or 9092)


def explain_kafka_error(exc: BaseException, settings: KafkaConnectionSettings) -> str:
    """One sentence for an operator about a failure to reach or authenticate to the cluster."""
    from aiokafka import errors

    where = settings.kafka_bootstrap_servers
    name = type(exc).__name__
    if isinstance(exc, KafkaSecurityError):
        return str(exc)
    if isinstance(exc, errors.UnsupportedSaslMechanismError) or "NoSharedMechanism" in str(exc):
        return (
            f"Kafka at {where} does not offer SASL mechanism {settings.kafka_sasl_mechanism}: "
            "check KAFKA_SASL_MECHANISM against the listener's configuration"
        )
    # aiokafka's SCRAM client fails with KeyError('v') when the server's final message is an error
    # (`e=unknown-user`, `e=invalid-proof`) instead of its signature.
    if isinstance(exc, errors.SaslAuthenticationFailed | KeyError) or "Authentication" in name:
        return (
            f"Kafka at {where} refused {settings.kafka_sasl_mechanism} authentication as "
            f"{settings.kafka_sasl_username!r}: check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    if isinstance(exc, errors.KafkaConnectionError | OSError | TimeoutError | errors.KafkaTimeoutError):
        hint = (
            " (TLS: is KAFKA_SECURITY_PROTOCOL right for this listener?)"
            if settings.uses_tls or settings.uses_sasl
            else ""
        )
        return (
            f"cannot reach Kafka at {where}{hint}: check KAFKA_BOOTSTRAP_SERVERS and that the brokers "
            "are up and reachable from here"
        )
    return f"Kafka at {where}: {name}: {exc}"


async def _tls_handshake(settings: KafkaConnectionSettings, timeout_s: float) -> None:
    """Dial the first bootstrap server over TLS so certificate problems get their own precise message
    (aiokafka only logs them and then reports "unable to bootstrap")."""
    host, port = _first_server(settings.kafka_bootstrap_servers)
    context = ssl_context(settings)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host), timeout_s
        )
    except ssl.SSLCertVerificationError as exc:
        if "hostname" in _reason(exc).lower() or "IP address mismatch" in _reason(exc):
            raise KafkaSecurityError(
                f"Kafka at {host}:{port}: its TLS certificate is not for {host!r} ({_reason(exc)}): connect "
                "by a name the certificate lists, or set KAFKA_SSL_CHECK_HOSTNAME=false"
            ) from None
        raise KafkaSecurityError(
            f"Kafka at {host}:{port}: its TLS certificate is not trusted ({_reason(exc)}): "
            f"KAFKA_SSL_CAFILE={settings.kafka_ssl_cafile or '(system CAs)'} must hold the CA that signed it"
        ) from None
    except ssl.SSLError as exc:
        raise KafkaSecurityError(
            f"Kafka at {host}:{port}: TLS handshake failed ({_reason(exc)}): is the listener TLS "
            "(KAFKA_SECURITY_PROTOCOL), and does it require a client certificate (KAFKA_SSL_CERTFILE)?"
        ) from None
    except (OSError, TimeoutError):
        return  # unreachable: the client below reports it in its own words
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


async def check_connection(settings: KafkaConnectionSettings, timeout_s: float = 10.0) -> None:
    """Connect and authenticate once; raise KafkaSecurityError with one sentence if that fails.

    Three steps, each with its own diagnosis: the TLS handshake (certificate problems), one
    authenticated connection to the first bootstrap server (aiokafka's connection raises the SASL
    failure itself, where a client only logs it), then a client bootstrap (metadata, advertised
    listeners).
    """
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.conn import create_conn

    if settings.uses_tls:
        await _tls_handshake(settings, timeout_s)
    kwargs = kafka_client_kwargs(settings)
    host, port = _first_server(settings.kafka_bootstrap_servers)
    if settings.uses_sasl:
        connection_kwargs = {k: v for k, v in kwargs.items() if k != "bootstrap_servers"}
        try:
            connection = await asyncio.wait_for(
                create_conn(host, port, request_timeout_ms=int(timeout_s * 1000), **connection_kwargs),
                timeout_s,
            )
        except (OSError, TimeoutError):
            pass  # unreachable: reported by the bootstrap below
        except Exception as exc:
            raise KafkaSecurityError(_explain_sasl(exc, settings)) from exc
        else:
            connection.close()
    admin = AIOKafkaAdminClient(**kwargs, request_timeout_ms=int(timeout_s * 1000), client_id="om-preflight")
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
    except Exception as exc:  # every failure becomes one sentence
        raise KafkaSecurityError(explain_kafka_error(exc, settings)) from exc
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def _explain_sasl(exc: BaseException, settings: KafkaConnectionSettings) -> str:
    from aiokafka import errors

    mechanism = settings.kafka_sasl_mechanism
    if isinstance(exc, errors.KafkaConnectionError) and "closed" in str(exc):
        return (
            f"Kafka at {settings.kafka_bootstrap_servers} closed the connection during SASL {mechanism} "
            f"authentication: check that the listener offers KAFKA_SASL_MECHANISM={mechanism} and expects "
            f"KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol}"
        )
    return explain_kafka_error(exc, settings)


def client_settings(environ: Mapping[str, str]) -> KafkaConnectionSettings:
    """Settings from an explicit mapping (tools that hold a stack's variables rather than the process's)."""
    names = set(KafkaConnectionSettings.model_fields)
    return KafkaConnectionSettings.model_validate(
        {key.lower(): value for key, value in environ.items() if key.lower() in names}
    )


# -- AWS MSK IAM (OAUTHBEARER) -----------------------------------------------------------------------

_MSK_REGION = re.compile(r"\.kafka(?:-serverless)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?$")


def msk_region(bootstrap_servers: str) -> str:
    """The AWS region of an MSK bootstrap address (`b-1.x.y.c2.kafka.eu-west-1.amazonaws.com:9098`)."""
    host = bootstrap_servers.split(",", maxsplit=1)[0].strip()
    found = _MSK_REGION.search(host)
    if found is None:
        raise KafkaSecurityError(
            f"KAFKA_BOOTSTRAP_SERVERS={host!r} is not an MSK address (...kafka.<region>.amazonaws.com); "
            "the aws_msk_iam token provider takes the region from it"
        )
    return found.group(1)


def aws_msk_iam(settings: KafkaConnectionSettings) -> AbstractTokenProvider:
    """OAUTHBEARER tokens for AWS MSK IAM from AWS's signer (`aws-msk-iam-sasl-signer-python`).

    The signer reads credentials from the default AWS chain (the pod's IAM role via IRSA, or
    environment); tokens are signed URLs valid for 15 minutes, so a fresh one is made per connection.
    """
    from aiokafka.abc import AbstractTokenProvider

    try:
        signer = importlib.import_module("aws_msk_iam_sasl_signer")
    except ImportError:
        raise KafkaSecurityError(
            "KAFKA_SASL_OAUTH_TOKEN_PROVIDER=om_platform.adapters.kafka.security:aws_msk_iam needs the package "
            "aws-msk-iam-sasl-signer-python in the image"
        ) from None
    region = msk_region(settings.kafka_bootstrap_servers)

    class MskIamTokenProvider(AbstractTokenProvider):  # type: ignore[misc]  # aiokafka ships no types
        async def token(self) -> str:
            token, _expiry_ms = await asyncio.to_thread(
                signer.MSKAuthTokenProvider.generate_auth_token, region
            )
            return str(token)

    return MskIamTokenProvider()
