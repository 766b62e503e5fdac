"""Secured Kafka for real: a service and omctl through a real TLS listener, a wrong CA, SASL.

The embedded broker (tansu 0.6) has no working TLS listener, so the stack puts Debian's stunnel4
(unpacked by `manage.py setup`) in front of it and makes tansu advertise the TLS address: every
connection after bootstrap is TLS too. The listener here requires a client certificate (mutual
TLS), so the client side of KAFKA_SSL_CERTFILE/KEYFILE is exercised as well.

SASL: tansu with `--authentication` offers SCRAM-SHA-256/512 but has no way to create a user
before a client authenticates (see om_devstack.stack), so the test goes as far as the broker
allows: the client runs the SCRAM exchange on the wire and the start-up check turns the broker's
`unknown-user` into one sentence; a mechanism the broker does not offer is named as such.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from om_contracts import KeyRing, dead_letter_topic
from om_devstack.stack import EmbeddedStack
from om_devstack.tls import make_pki
from om_platform.adapters.kafka.security import (
    KafkaConnectionSettings,
    KafkaSecurityError,
    check_connection,
    client_settings,
)
from om_platform.core.failures import PermanentFailure
from om_platform.core.records import Decoded, RecordContext
from om_platform.runtime import ServiceRuntime
from om_platform.settings import ServiceSettings

pytestmark = pytest.mark.integration

TOPIC = "tls.events.v1"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tls_stack() -> AsyncIterator[EmbeddedStack]:
    stack = EmbeddedStack(
        mongo=False, kafka_client_auth=True, topics=[(TOPIC, 2, False), (f"{TOPIC}.dlq", 1, False)]
    )
    await stack.astart()
    try:
        yield stack
    finally:
        await stack.astop()


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA that did not sign the broker's certificate."""
    return make_pki(tmp_path_factory.mktemp("other"), ca_name="some other CA").ca


class Seen:
    def __init__(self) -> None:
        self.values: list[int] = []
        self.changed = asyncio.Condition()

    async def handle(self, payload: dict[str, Any], ctx: RecordContext) -> None:
        if payload["n"] < 0:
            raise PermanentFailure("UNMAPPED_PRODUCT", "negative records are poison in this test")
        async with self.changed:
            self.values.append(payload["n"])
            self.changed.notify_all()


def decode(raw: bytes | None, ctx: RecordContext) -> Decoded[dict[str, Any]]:
    payload = json.loads(raw or b"{}")
    return Decoded(tenant="sup_tls", lane=str(payload["n"]), payload=payload)


async def test_a_service_consumes_publishes_and_dead_letters_through_the_tls_listener(
    tls_stack: EmbeddedStack, mongo_url: str, unique_name: str
) -> None:
    env = tls_stack.kafka_env()
    settings = ServiceSettings(
        **{k.lower(): v for k, v in env.items()},
        service_name="tls-test",
        kafka_consumer_group=f"om.tls-test-{unique_name}",
        kafka_session_timeout_ms=2000,
        kafka_heartbeat_interval_ms=500,
        kafka_commit_interval_ms=50,
        mongodb_url=mongo_url,
        mongodb_database=f"tls_{unique_name}",
        netsuite_credentials_keys=KeyRing.generate_key(),
    )
    assert settings.kafka_security_protocol == "SSL"
    assert settings.kafka_ssl_certfile is not None
    await check_connection(settings)  # the start-up check passes through TLS with the client certificate
    seen = Seen()
    runtime = ServiceRuntime(settings, title="tls test")
    runtime.consume(TOPIC, decode=decode, handle=seen.handle, group_suffix="")
    app = runtime.app()
    producer = AIOKafkaProducer(**tls_stack.kafka_client_config())
    await producer.start()
    await app.start()
    try:
        for n in (1, 2, -1, 3):
            await producer.send_and_wait(TOPIC, json.dumps({"n": n}).encode(), key=b"sup_tls")
        async with seen.changed:
            await asyncio.wait_for(seen.changed.wait_for(lambda: len(seen.values) >= 3), 60)
        assert sorted(seen.values) == [1, 2, 3]
        letters = AIOKafkaConsumer(
            dead_letter_topic(TOPIC), **tls_stack.kafka_client_config(), auto_offset_reset="earliest"
        )
        await letters.start()
        try:
            letter = await asyncio.wait_for(letters.getone(), 60)
        finally:
            await letters.stop()
        assert json.loads(letter.value or b"") == {"n": -1}
        assert dict(letter.headers)["x-error-code"] == b"UNMAPPED_PRODUCT"
    finally:
        await app.stop()
        await producer.stop()


def omctl(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omctl", *args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "120", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def test_omctl_reads_dead_letters_and_lag_through_the_tls_listener(
    tls_stack: EmbeddedStack, mongo_url: str
) -> None:
    producer = AIOKafkaProducer(**tls_stack.kafka_client_config())
    await producer.start()
    try:
        await producer.send_and_wait(
            f"{TOPIC}.dlq",
            b'{"n": -2}',
            key=b"sup_tls",
            headers=[("x-error-code", b"INVALID_EVENT"), ("x-original-topic", TOPIC.encode())],
        )
    finally:
        await producer.stop()
    env = tls_stack.kafka_env() | {"MONGODB_URL": mongo_url}
    listed = await asyncio.to_thread(omctl, env, "dlq", "list", "--topic", f"{TOPIC}.dlq", "--json")
    assert listed.returncode == 0, listed.stderr
    codes = {letter["code"] for letter in json.loads(listed.stdout)["dead_letters"]}
    assert "INVALID_EVENT" in codes


async def test_a_wrong_ca_stops_a_service_at_start_with_one_clear_line(
    tls_stack: EmbeddedStack, mongo_url: str, other_ca: Path
) -> None:
    env = {
        **tls_stack.kafka_env(),
        "KAFKA_SSL_CAFILE": str(other_ca),
        "MONGODB_URL": mongo_url,
        "NETSUITE_CREDENTIALS_KEYS": KeyRing.generate_key(),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
        "LOG_FORMAT": "text",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    began = time.monotonic()
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "order_sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if "cannot start" in line]
    assert len(errors) == 1, output
    assert "TLS certificate is not trusted" in errors[0]
    assert str(other_ca) in errors[0]
    assert time.monotonic() - began < 30


async def test_a_wrong_ca_is_one_line_from_omctl_too(tls_stack: EmbeddedStack, other_ca: Path) -> None:
    env = tls_stack.kafka_env() | {"KAFKA_SSL_CAFILE": str(other_ca)}
    result = await asyncio.to_thread(omctl, env, "dlq", "list", "--topic", f"{TOPIC}.dlq")
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "not trusted" in lines[0]


async def test_a_client_without_its_certificate_is_refused_by_the_mutual_tls_listener(
    tls_stack: EmbeddedStack,
) -> None:
    env = tls_stack.kafka_env()
    del env["KAFKA_SSL_CERTFILE"], env["KAFKA_SSL_KEYFILE"]
    with pytest.raises(KafkaSecurityError):
        await check_connection(client_settings(env), timeout_s=10)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sasl_stack() -> AsyncIterator[EmbeddedStack]:
    stack = EmbeddedStack(mongo=False, kafka_sasl=True)
    await stack.astart()
    try:
        yield stack
    finally:
        await stack.astop()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_scram_runs_on_the_wire_and_an_unknown_user_is_one_sentence(
    sasl_stack: EmbeddedStack, mechanism: str
) -> None:
    settings = KafkaConnectionSettings(
        kafka_bootstrap_servers=sasl_stack.kafka_bootstrap,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism=mechanism,  # type: ignore[arg-type]
        kafka_sasl_username="alice",
        kafka_sasl_password="not-a-user-here",  # type: ignore[arg-type]
    )
    with pytest.raises(KafkaSecurityError) as refused:
        await check_connection(settings, timeout_s=10)
    message = str(refused.value)
    assert f"refused {mechanism} authentication as 'alice'" in message
    assert "not-a-user-here" not in message


async def test_a_mechanism_the_broker_does_not_offer_is_named(sasl_stack: EmbeddedStack) -> None:
    settings = KafkaConnectionSettings(
        kafka_bootstrap_servers=sasl_stack.kafka_bootstrap,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="alice",
        kafka_sasl_password="pw",  # type: ignore[arg-type]
    )
    # tansu drops the connection instead of answering UNSUPPORTED_SASL_MECHANISM
    with pytest.raises(KafkaSecurityError, match="closed the connection during SASL PLAIN authentication"):
        await check_connection(settings, timeout_s=10)
