"""Choose, per component, between external servers, Docker containers and the embedded stack.

Resolution, per component: ``KAFKA_BOOTSTRAP_SERVERS`` / ``MONGODB_URL`` if set (nothing is
started); else ``OM_TEST_STACK=docker`` (testcontainers); else the embedded servers. Components
start lazily on first request, so a run that needs only Mongo never starts a broker.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

from om_devstack._docker import DockerContainers
from om_devstack._probes import kafka_answers, wait_until
from om_devstack._process import StartupError
from om_devstack.stack import EmbeddedStack

__all__ = ["StackSession"]

_TRUE = {"1", "true", "yes", "on"}


class StackSession:
    """Lazily provides ``kafka_bootstrap`` and ``mongo_url`` for one test session or CLI run."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._external_kafka = env.get("KAFKA_BOOTSTRAP_SERVERS") or None
        self._external_mongo = env.get("MONGODB_URL") or None
        self._idempotence_override = env.get("KAFKA_ENABLE_IDEMPOTENCE")
        self.mode = (env.get("OM_TEST_STACK") or "embedded").strip().lower()
        if self.mode not in {"embedded", "docker"}:
            raise ValueError(f"OM_TEST_STACK must be 'embedded' or 'docker', not {self.mode!r}")
        self.embedded = EmbeddedStack(kafka=False, mongo=False)
        self._docker: DockerContainers | None = None
        self._lock = asyncio.Lock()
        self._kafka: str | None = None
        self._mongo: str | None = None

    @property
    def kafka_is_embedded(self) -> bool:
        """True when the broker is (or would be) the embedded tansu."""
        return self._external_kafka is None and self.mode == "embedded"

    @property
    def idempotent_producers_supported(self) -> bool:
        """False for tansu, True for real Kafka; ``KAFKA_ENABLE_IDEMPOTENCE`` overrides it."""
        if self._idempotence_override is not None:
            return self._idempotence_override.strip().lower() in _TRUE
        return not self.kafka_is_embedded

    async def kafka_bootstrap(self) -> str:
        """Bootstrap servers of the broker, starting it on first use."""
        async with self._lock:
            if self._kafka is None:
                if self._external_kafka is not None:
                    self._kafka = self._external_kafka
                elif self.mode == "docker":
                    containers = await self._containers()
                    bootstrap = await asyncio.to_thread(containers.kafka_bootstrap)
                    reason = await wait_until(lambda: kafka_answers(bootstrap), 120)
                    if reason is not None:
                        raise StartupError(f"Kafka container at {bootstrap}: {reason}")
                    self._kafka = bootstrap
                else:
                    await self.embedded.start_kafka()
                    self._kafka = self.embedded.kafka_bootstrap
            return self._kafka

    async def mongo_url(self) -> str:
        """A pymongo URL for the Mongo server, starting it on first use."""
        async with self._lock:
            if self._mongo is None:
                if self._external_mongo is not None:
                    self._mongo = self._external_mongo
                elif self.mode == "docker":
                    containers = await self._containers()
                    self._mongo = await asyncio.to_thread(containers.mongo_url)
                else:
                    await self.embedded.start_mongo()
                    self._mongo = self.embedded.mongo_url
            return self._mongo

    async def _containers(self) -> DockerContainers:
        if self._docker is None:
            # Docker calls block; containers are not our children, so a thread is fine here.
            self._docker = await asyncio.to_thread(DockerContainers)
        return self._docker

    async def close(self) -> None:
        """Stop whatever this session started."""
        await self.embedded.astop()
        if self._docker is not None:
            self._docker.stop()
        self._kafka = self._mongo = None
