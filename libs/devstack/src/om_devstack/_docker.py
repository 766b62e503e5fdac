"""Real Apache Kafka (KRaft) and MongoDB 7 in Docker via testcontainers (``OM_TEST_STACK=docker``).

testcontainers is an optional dependency (``om-devstack[docker]``); it and the Docker engine are
only needed when this mode is selected.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DockerContainers", "DockerUnavailableError"]

KAFKA_IMAGE = "apache/kafka:3.9.1"
MONGO_IMAGE = "mongo:7"


class DockerUnavailableError(RuntimeError):
    """OM_TEST_STACK=docker was asked for but testcontainers or a Docker engine is missing."""


def _require_docker() -> None:
    try:
        docker: Any = importlib.import_module("docker")
    except ImportError as exc:
        raise DockerUnavailableError(
            "OM_TEST_STACK=docker needs testcontainers: install om-devstack[docker]"
        ) from exc
    try:
        docker.from_env().ping()
    except Exception as exc:
        raise DockerUnavailableError(
            f"OM_TEST_STACK=docker but no Docker engine answers ({exc}); "
            "start Docker or unset OM_TEST_STACK to use the embedded stack"
        ) from exc


class DockerContainers:
    """Starts each container on first request; :meth:`stop` removes them."""

    def __init__(self) -> None:
        _require_docker()
        self._kafka: Any = None
        self._mongo: Any = None

    def kafka_bootstrap(self) -> str:
        """Start Apache Kafka in KRaft mode; return its bootstrap address."""
        if self._kafka is None:
            from testcontainers.kafka import KafkaContainer

            self._kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
            self._kafka.start()
        return str(self._kafka.get_bootstrap_server())

    def mongo_url(self) -> str:
        """Start MongoDB 7; return a direct-connection URL."""
        if self._mongo is None:
            from testcontainers.mongodb import MongoDbContainer

            self._mongo = MongoDbContainer(MONGO_IMAGE)
            self._mongo.start()
        url = str(self._mongo.get_connection_url())
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}directConnection=true"

    def stop(self) -> None:
        """Stop and remove the containers that were started."""
        for container in (self._kafka, self._mongo):
            if container is not None:
                container.stop()
        self._kafka = self._mongo = None
