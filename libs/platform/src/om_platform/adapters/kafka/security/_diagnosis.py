"""Why a Kafka client cannot reach or authenticate to the cluster, in one sentence for an operator.

`check_connection` is the start-up check (a TLS handshake, then a metadata request);
`explain_kafka_error` words a failure of any client.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from om_platform.adapters.kafka.security._settings import (
    KafkaConnectionSettings,
    KafkaSecurityError,
    kafka_client_kwargs,
    ssl_context,
    ssl_reason,
)


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
        if "hostname" in ssl_reason(exc).lower() or "IP address mismatch" in ssl_reason(exc):
            raise KafkaSecurityError(
                f"Kafka at {host}:{port}: its TLS certificate is not for {host!r} ({ssl_reason(exc)}): connect "
                "by a name the certificate lists, or set KAFKA_SSL_CHECK_HOSTNAME=false"
            ) from None
        raise KafkaSecurityError(
            f"Kafka at {host}:{port}: its TLS certificate is not trusted ({ssl_reason(exc)}): "
            f"KAFKA_SSL_CAFILE={settings.kafka_ssl_cafile or '(system CAs)'} must hold the CA that signed it"
        ) from None
    except ssl.SSLError as exc:
        raise KafkaSecurityError(
            f"Kafka at {host}:{port}: TLS handshake failed ({ssl_reason(exc)}): is the listener TLS "
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
