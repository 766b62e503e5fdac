"""A service's process: `ServiceRuntime`, the composition of the runtime's parts.

Each service builds one `ServiceRuntime` from its settings in its `main`, registers its consumers,
publishers, projections, loops and commands (the wiring methods below), and runs `runtime.app()`
(a FastStream ASGI app served by uvicorn). The parts, each a module of this package:

  broker and consumers   `broker`, and here (`consume`, `publisher`) over `om_platform.adapters.kafka`
  projections            `projections`: integration settings and id mappings
  commands               `commands`: operator commands, run once the events before them are
  start-up gate          `gate`: no record before the integrations projection caught up
  lifecycle              `lifecycle`: clients and loops started and stopped in order
  health and routes      `health` (liveness, readiness, gauges) and `routes` (the ASGI app, AsyncAPI)
  serve                  `serve`: `python -m <service>` (`main`), uvicorn
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Coroutine, Mapping
from typing import Any, TypeVar

from faststream.asgi import AsgiFastStream
from faststream.specification import AsyncAPI
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from om_contracts import INTEGRATION_STATUS_TOPIC, INTEGRATIONS_TOPIC, NetSuiteIntegrationStatus
from om_platform.adapters.connections import ConnectionMonitor
from om_platform.adapters.kafka import DeadLetterPublisher, EventPublisher, TopicConsumer
from om_platform.adapters.mongo.commands import CommandHandler
from om_platform.adapters.mongo.integrations import IntegrationStore
from om_platform.adapters.mongo.mappings import MappingStore
from om_platform.adapters.netsuite_access import NetSuiteAccess
from om_platform.core.freshness import FreshnessSource
from om_platform.core.mappings import Kind, OnMapping
from om_platform.core.records import Decoder, Handler
from om_platform.metrics import Metrics
from om_platform.runtime import broker, commands, health, projections, routes, serve
from om_platform.runtime.gate import StartupGate
from om_platform.runtime.gc_freeze import GcFreezer
from om_platform.runtime.lifecycle import Hook, Lifecycle
from om_platform.settings import ServiceSettings
from om_platform.tracing import Tracing

PayloadT = TypeVar("PayloadT")


class ServiceRuntime:
    """Everything a service process owns, built once from its settings."""

    def __init__(
        self, settings: ServiceSettings, *, title: str, version: str = "0.1.0", description: str = ""
    ) -> None:
        self.settings = settings
        self.title = title
        self.version = version
        self.description = description
        self.metrics = Metrics(service=settings.service_name, version=version)
        self.tracing = Tracing(
            settings.otel_service_name or settings.service_name, settings.otel_exporter_otlp_endpoint
        )
        self.broker = broker.kafka_broker(settings)
        self.dead_letters = DeadLetterPublisher()
        self.consumers: list[TopicConsumer[Any]] = []
        self.mongo_client: AsyncMongoClient[dict[str, Any]] | None = None
        self.lifecycle = Lifecycle(self)
        self.started_at = time.monotonic()
        self._asyncapi: dict[str, Any] | None = None
        self.integrations: IntegrationStore | None = None
        self.gate = StartupGate(settings, self.metrics, self.consumers)
        self.integrations_ready = self.gate.ready
        """The cold-start gate: set once the integrations projection reached the end offsets of its
        topic seen at start (or `INTEGRATIONS_CATCH_UP_S` passed); other consumers wait for it."""
        self.connections = ConnectionMonitor(settings.service_name, settings.connection_settings())
        self.connections.on_refused = self.metrics.netsuite_requests_refused.inc
        """Each supplier's NetSuite connection state and circuit breaker (om_platform.adapters.connections)."""
        self.health_gauges = health.HealthGauges(self.metrics, self.connections)
        self.gc_freezer: GcFreezer | None = None
        if settings.gc_freeze_pause_ms > 0:
            self.gc_freezer = GcFreezer(
                settings.gc_freeze_pause_ms / 1000,
                observe=self.metrics.gc_full_collection_seconds.observe,
                counted=self.metrics.gc_freezes.inc,
            )
            self.supervise("gc-freeze", self.gc_freezer.run)
        self._status = self.publisher(
            INTEGRATION_STATUS_TOPIC,
            schema=NetSuiteIntegrationStatus,
            description="State of each supplier's NetSuite connection, published when it changes.",
        )

    # -- wiring: broker and consumers -------------------------------------------------------------

    def consume(
        self,
        topic: str,
        *,
        decode: Decoder[PayloadT],
        handle: Handler[PayloadT],
        limit_for: Callable[[str], int] = lambda _tenant: 1,
        group_suffix: str | None = None,
        description: str | None = None,
    ) -> TopicConsumer[PayloadT]:
        """Consume `topic`; its records wait for the cold-start gate unless it is the integrations topic."""
        consumer: TopicConsumer[PayloadT] = TopicConsumer(
            self.broker,
            topic,
            decode=decode,
            handle=handle,
            # One consumer group per topic (`om.order_sync.ordermentum.orders.v1`): a slow join or a
            # rebalance on one topic never stalls another, and lag, KEDA and replay address one group.
            options=self.settings.consumer_options(f".{topic}" if group_suffix is None else group_suffix),
            dead_letters=self.dead_letters,
            metrics=self.metrics,
            limit_for=limit_for,
            description=description,
            tracing=self.tracing,
            ready=None if topic == INTEGRATIONS_TOPIC else self.integrations_ready,
        )
        self.consumers.append(consumer)
        return consumer

    def publisher(
        self, topic: str, *, schema: type[BaseModel] | Any, description: str | None = None
    ) -> EventPublisher:
        raw = self.broker.publisher(topic, title=f"{topic}:publish", schema=schema, description=description)
        return EventPublisher(raw, topic, self.metrics, self.tracing)

    async def processed_offset(self, topic: str, partition: int) -> int | None:
        """The offset below which this service finished every record of a partition (its consumer
        group's committed offset, whichever replica did the work); None for a topic it does not
        consume. Operator commands wait on it to see the events published before them."""
        return await broker.committed_offset(self.consumers, topic, partition)

    async def republish(self, topic: str, key: str, value: bytes) -> None:
        """Send a record back to one of the service's own input topics (a parked event, once its
        supplier's connection is back), with `x-redriven-from: parked`; returns once the broker has it."""
        producer = self.lifecycle.producer
        if producer is None:
            raise RuntimeError("the producer is started in the lifespan; the runtime has not started")
        await producer.send_and_wait(topic, value, key=key.encode(), headers=[("x-redriven-from", b"parked")])

    async def publish_status(self, event: NetSuiteIntegrationStatus) -> None:
        await self._status.publish(event, key=event.supplier_id)

    # -- wiring: projections, loops, commands -----------------------------------------------------

    def consume_integrations(self) -> IntegrationStore:
        """Project the compacted integrations topic into this service's MongoDB (`projections`).

        Returns the store; it is usable once the runtime has started (MongoDB connects in the lifespan).
        """
        return projections.consume_integrations(self)

    def consume_mappings(
        self,
        kinds: Collection[Kind] = ("customer", "product"),
        *,
        on_mapping: OnMapping | None = None,
        lanes: int = 8,
        descriptions: Mapping[Kind, str | None] | None = None,
    ) -> MappingStore:
        """Keep this service's id mappings (om_platform.adapters.mongo.mappings) from the topics of `kinds`.

        Consumes `ordermentum.customers.v1` and/or `ordermentum.products.v1` with one
        `MappingConsumer`, creates the store's indexes at start and returns the store (usable once
        the runtime has started). `on_mapping(supplier_id, kind, entity)` runs after an upsert was
        stored (order_sync heals what it unblocks). `lanes`: records of one supplier handled at once
        (MongoDB only, no NetSuite budget). `descriptions` per kind documents the subscriptions in
        AsyncAPI (the defaults say what the mappings are for).
        """
        return projections.consume_mappings(
            self, kinds, on_mapping=on_mapping, lanes=lanes, descriptions=descriptions
        )

    def freshness(self, flow: str, source: FreshnessSource) -> None:
        """Report `source`'s per-supplier freshness on /metrics, in aggregate (`om_platform.core.freshness`)."""
        self.health_gauges.sources[flow] = source

    def on_start(self, hook: Hook) -> None:
        self.lifecycle.start_hooks.append(hook)

    def on_stop(self, hook: Hook) -> None:
        self.lifecycle.stop_hooks.append(hook)

    def supervise(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a background loop for the life of the process; if it dies, liveness fails."""
        self.lifecycle.supervise(name, loop)

    def serve_commands(self, handlers: Mapping[str, CommandHandler]) -> None:
        """Run operator commands (`omctl resync`, `omctl run ...`) addressed to this service."""
        commands.serve_operator_commands(self, handlers)

    # -- what the lifespan built ------------------------------------------------------------------

    @property
    def netsuite(self) -> NetSuiteAccess:
        """Per-supplier NetSuite sessions (built in the lifespan from NETSUITE_CREDENTIALS_KEYS)."""
        if self.lifecycle.netsuite is None:
            raise RuntimeError("NetSuite access is built in the lifespan; the runtime has not started")
        return self.lifecycle.netsuite

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        if self.mongo_client is None:
            raise RuntimeError("MongoDB is connected in the lifespan; the runtime has not started")
        return self.mongo_client[self.settings.mongodb_database]

    # -- health and routes ------------------------------------------------------------------------

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """Alive unless a consumer or background loop died, or pending work makes no progress."""
        return health.liveness(
            self.consumers, self.lifecycle.background, self.metrics, self.settings.liveness_stall_s
        )

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        return await health.readiness(self.broker, self.db)

    async def refresh_health_gauges(self) -> None:
        """Connection states and freshness on /metrics (read at most every `HEALTH_GAUGES_MAX_AGE_S`)."""
        await self.health_gauges.refresh(None if self.mongo_client is None else self.db)

    def app(self) -> AsgiFastStream:
        return routes.asgi_app(self)

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI document, with each consumed topic's payload schema from om_contracts."""
        return routes.asyncapi_document(self.app())

    def cached_asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI document, built on first request (it does not change while running)."""
        if self._asyncapi is None:
            self._asyncapi = self.asyncapi()
        return self._asyncapi

    def specification(self) -> AsyncAPI:
        return AsyncAPI(title=self.title, version=self.version, description=self.description)

    def serve(self) -> None:
        """Run the service until SIGTERM/SIGINT (uvicorn handles the signals, then the lifespan drains)."""
        serve.serve(self)
