"""What a service process starts and stops, in order (FastStream calls these around the broker).

  on_startup      connect MongoDB, start the dead-letter producer and the NetSuite budget's
                  renewal loop, run the service's start hooks
  after_startup   start the offset committers (the subscribers are running now), the connection
                  monitor's loop (status polls, probes, status events) and the start-up gate
  on_shutdown     drain: pause partitions, let in-flight records finish within the grace period,
                  commit what finished; then the service's stop hooks
  after_shutdown  close the NetSuite client and return the budget's shares, stop the producer,
                  close MongoDB

Clients are created here, never at import time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from om_contracts import KeyRing
from om_platform.adapters.budget import LeaseTiming
from om_platform.adapters.kafka import MongoDeadLetterMemory
from om_platform.adapters.kafka.security import kafka_client_kwargs
from om_platform.adapters.mongo.connections import COLLECTION as CONNECTIONS
from om_platform.adapters.mongo.connections import ConnectionStore
from om_platform.adapters.netsuite_access import NetSuiteAccess
from om_platform.core.tasks import cancel_and_wait
from om_platform.settings import ServiceSettings

if TYPE_CHECKING:
    from om_platform.runtime.service import ServiceRuntime

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


def netsuite_access(runtime: ServiceRuntime, client: AsyncMongoClient[dict[str, Any]]) -> NetSuiteAccess:
    """Per-supplier NetSuite sessions: credentials keys, the shared budget, the connection monitor."""
    settings = runtime.settings
    return NetSuiteAccess(
        KeyRing.from_string(settings.netsuite_credentials_keys.get_secret_value()),
        runtime.metrics,
        base_url_override=settings.netsuite_base_url,
        timeout_s=settings.netsuite_timeout_s,
        budget_db=client[settings.netsuite_budget_database],
        budget_timing=_budget_timing(settings),
        holder_name=settings.service_name,
        tracer=runtime.tracing.tracer("om_netsuite"),
        connections=runtime.connections,
    )


def _budget_timing(settings: ServiceSettings) -> LeaseTiming:
    return LeaseTiming(
        renew_s=settings.netsuite_budget_renew_s,
        lease_s=settings.netsuite_budget_lease_s,
        margin_s=settings.netsuite_budget_margin_s,
        poll_s=settings.netsuite_budget_poll_s,
        max_wait_s=settings.netsuite_budget_max_wait_s,
        keep_idle_s=settings.netsuite_budget_keep_idle_s,
        attempt_deadline_s=settings.netsuite_attempt_deadline_s,
    )


class Lifecycle:
    """The runtime's clients, hooks and background loops, started and stopped in order."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self._runtime = runtime
        self.producer: AIOKafkaProducer | None = None
        self.netsuite: NetSuiteAccess | None = None
        self.start_hooks: list[Hook] = []
        self.stop_hooks: list[Hook] = []
        self.background: list[asyncio.Task[None]] = []
        """Supervised loops: if one ends, liveness fails."""
        self._gate: asyncio.Task[None] | None = None

    def supervise(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start `loop` with the start hooks and keep it for the life of the process (liveness)."""

        async def start() -> None:
            self.background.append(asyncio.create_task(loop(), name=name))

        self.start_hooks.append(start)

    async def on_startup(self) -> None:
        runtime = self._runtime
        settings = runtime.settings
        runtime.tracing.start()  # a no-op unless OTEL_EXPORTER_OTLP_ENDPOINT (or an exporter) is set
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongodb_url.get_secret_value(),
            tz_aware=True,
            serverSelectionTimeoutMS=10_000,
            event_listeners=runtime.tracing.mongo_listeners(),
        )
        runtime.mongo_client = client
        self.producer = AIOKafkaProducer(
            **kafka_client_kwargs(settings),
            enable_idempotence=settings.kafka_enable_idempotence,
            acks="all",
            client_id=f"{settings.service_name}-dlq",
            # as large as a dead-letter topic accepts: a whole record of its source plus the context
            max_request_size=runtime.dead_letters.policy.max_request_bytes,
        )
        await self.producer.start()
        runtime.dead_letters.attach(self.producer, MongoDeadLetterMemory(runtime.db["dead_letters"]))
        netsuite = self.netsuite = netsuite_access(runtime, client)
        await self._attach_connections(client, netsuite)
        # The budget's renewal loop is a supervised background loop: if it dies, liveness fails.
        self.background.append(netsuite.budget.start())
        for hook in self.start_hooks:
            await hook()

    async def _attach_connections(
        self, client: AsyncMongoClient[dict[str, Any]], netsuite: NetSuiteAccess
    ) -> None:
        runtime = self._runtime
        store = ConnectionStore(client[runtime.settings.netsuite_budget_database][CONNECTIONS])
        await store.ensure_indexes()
        integrations = runtime.integrations
        runtime.connections.attach(
            store,
            runtime.publish_status,
            None if integrations is None else functools.partial(integrations.get, fresh=True),
            lambda supplier_id, integration: netsuite.session(supplier_id, integration, probe=True),
        )

    async def after_startup(self) -> None:
        runtime = self._runtime
        for consumer in runtime.consumers:
            await consumer.start()
        # After the broker started: the loop may publish a status event left unpublished.
        self.background.append(asyncio.create_task(runtime.connections.run(), name="connections"))
        # Not a supervised loop: it ends once the gate is open.
        opening = runtime.gate.open(wait_for_integrations=runtime.integrations is not None)
        self._gate = asyncio.create_task(opening, name="integrations-gate")
        log.info("%s started", runtime.settings.service_name)

    async def on_shutdown(self) -> None:
        runtime = self._runtime
        grace = runtime.settings.shutdown_grace_s
        results = await asyncio.gather(*(c.drain(grace) for c in runtime.consumers))
        if not all(results):
            log.warning("shutdown abandoned in-flight records; they will be redelivered")
        await cancel_and_wait([*self.background, *([self._gate] if self._gate is not None else [])])
        await runtime.connections.stop()
        for hook in reversed(self.stop_hooks):
            await hook()

    async def after_shutdown(self) -> None:
        runtime = self._runtime
        if self.netsuite is not None:
            await self.netsuite.aclose()
        if self.producer is not None:
            await self.producer.stop()
        if runtime.mongo_client is not None:
            await runtime.mongo_client.close()
        # Flushing may wait on the collector: off the event loop.
        await asyncio.to_thread(runtime.tracing.shutdown)
