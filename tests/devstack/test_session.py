"""Which servers a session uses is decided by the environment (pure logic, nothing started)."""

from __future__ import annotations

import pytest

from om_devstack import DockerUnavailableError, StackSession


def test_with_no_settings_the_embedded_broker_is_used_without_idempotence() -> None:
    session = StackSession(environ={})
    assert session.kafka_is_embedded
    assert session.idempotent_producers_supported is False


def test_an_external_broker_is_assumed_to_be_real_kafka_with_idempotence() -> None:
    session = StackSession(environ={"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"})
    assert not session.kafka_is_embedded
    assert session.idempotent_producers_supported is True


def test_kafka_enable_idempotence_overrides_the_guess() -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "tansu:9092", "KAFKA_ENABLE_IDEMPOTENCE": "false"}
    assert StackSession(environ=env).idempotent_producers_supported is False


async def test_external_addresses_are_returned_as_given_without_starting_anything() -> None:
    session = StackSession(
        environ={"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "MONGODB_URL": "mongodb://m:27017"}
    )
    assert await session.kafka_bootstrap() == "kafka:9092"
    assert await session.mongo_url() == "mongodb://m:27017"
    assert session.embedded.pids() == {}


def test_an_unknown_stack_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="OM_TEST_STACK"):
        StackSession(environ={"OM_TEST_STACK": "podman"})


async def test_docker_mode_without_a_docker_engine_fails_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    session = StackSession(environ={"OM_TEST_STACK": "docker"})
    with pytest.raises(DockerUnavailableError, match="OM_TEST_STACK=docker"):
        await session.kafka_bootstrap()
