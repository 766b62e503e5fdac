"""Real Apache Kafka (KRaft) and MongoDB 7 in Docker via testcontainers (``OM_TEST_STACK=docker``).

testcontainers is an optional dependency (``om-devstack[docker]``); it and a Docker engine are
only needed when this mode is selected. testcontainers' Python ``KafkaContainer`` drives the
Confluent image's start scripts, so the ``apache/kafka`` image is configured here directly
through its documented ``KAFKA_*`` environment variables (single combined broker/controller).
Containers left by a killed test run are removed by testcontainers' reaper (Ryuk).
"""

from __future__ import annotations

import importlib
from typing import Any

from om_devstack._probes import free_port

__all__ = ["DockerContainers", "DockerUnavailableError"]

KAFKA_IMAGE = "apache/kafka:3.9.1"
MONGO_IMAGE = "mongo:7"


class DockerUnavailableError(RuntimeError):
    """OM_TEST_STACK=docker was asked for but testcontainers or a Docker engine is missing."""


def _require_docker() -> None:
    try:
        importlib.import_module("testcontainers.core.container")
        docker: Any = importlib.import_module("docker")
    except ImportError as exc:
        raise DockerUnavailableError(
            "OM_TEST_STACK=docker needs testcontainers: install om-devstack[docker] "
            "(or unset OM_TEST_STACK to use the embedded stack)"
        ) from exc
    try:
        docker.from_env().ping()
    except Exception as exc:
        raise DockerUnavailableError(
            f"OM_TEST_STACK=docker but no Docker engine answers ({exc}); "
            "start Docker or unset OM_TEST_STACK to use the embedded stack"
        ) from exc


def _with_direct_connection(url: str) -> str:
    scheme, _, rest = url.partition("://")
    hosts, _, path = rest.partition("/")
    sep = "&" if "?" in path else "?"
    return f"{scheme}://{hosts}/{path}{sep}directConnection=true"


class DockerContainers:
    """Starts each container on first request (blocking); :meth:`stop` removes them."""

    def __init__(self) -> None:
        _require_docker()
        self._kafka: Any = None
        self._mongo: Any = None

    def kafka_bootstrap(self) -> str:
        """Start Apache Kafka in KRaft mode; return its bootstrap address (may not answer yet)."""
        if self._kafka is None:
            from testcontainers.core.container import DockerContainer

            port = free_port()
            # The advertised address must be the host-side port: bind it explicitly.
            container = DockerContainer(KAFKA_IMAGE).with_bind_ports(9092, port)
            settings = {
                "KAFKA_NODE_ID": "1",
                "KAFKA_PROCESS_ROLES": "broker,controller",
                "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
                "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}",
                "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
                "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
                "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
            }
            for key, value in settings.items():
                container = container.with_env(key, value)
            container.start()
            self._kafka = (container, port)
        return f"127.0.0.1:{self._kafka[1]}"

    def mongo_url(self) -> str:
        """Start MongoDB 7; return a direct-connection URL."""
        if self._mongo is None:
            from testcontainers.mongodb import MongoDbContainer

            self._mongo = MongoDbContainer(MONGO_IMAGE)
            self._mongo.start()
        return _with_direct_connection(str(self._mongo.get_connection_url()))

    def stop(self) -> None:
        """Stop and remove the containers that were started."""
        if self._kafka is not None:
            self._kafka[0].stop()
        if self._mongo is not None:
            self._mongo.stop()
        self._kafka = self._mongo = None
