"""A service's process: broker, consumers, publishers, MongoDB, health, metrics and lifecycle.

Each service builds one `ServiceRuntime` from its settings in its `main`, registers its consumers
and publishers, and runs `runtime.app()` (a FastStream ASGI app served by uvicorn). Clients are
created in the lifespan, never at import time.

Lifecycle (FastStream calls these around `broker.start()` / `broker.stop()`):
  on_startup      connect MongoDB, start the dead-letter producer and the NetSuite budget's
                  renewal loop, run the service's start hooks
  after_startup   start the offset committers (the subscribers are running now), the connection
                  monitor's loop (status polls, probes, status events) and the cold-start gate
  on_shutdown     drain: pause partitions, let in-flight records finish within the grace period,
                  commit what finished; then the service's stop hooks
  after_shutdown  close the NetSuite client and return the budget's shares, stop the producer,
                  close MongoDB
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from om_contracts import (
    INTEGRATION_STATUS_TOPIC,
    INTEGRATIONS_TOPIC,
    KeyRing,
    NetSuiteIntegrationStatus,
    get_topic,
)
from om_platform.adapters.budget import LeaseTiming
from om_platform.adapters.connections import ConnectionMonitor
from om_platform.adapters.kafka import (
    DeadLetterPublisher,
    EventPublisher,
    MongoDeadLetterMemory,
    TopicConsumer,
)
from om_platform.adapters.kafka.security import (
    KafkaSecurityError,
    check_connection,
    describe,
    faststream_security_kwargs,
    kafka_client_kwargs,
)
from om_platform.adapters.mongo.commands import CommandHandler, CommandQueue, serve_commands
from om_platform.adapters.mongo.connections import COLLECTION as CONNECTIONS
from om_platform.adapters.mongo.connections import ConnectionStore
from om_platform.adapters.mongo.integrations import IntegrationStore, integrations_decoder
from om_platform.adapters.mongo.mappings import MappingConsumer, MappingStore
from om_platform.adapters.netsuite_access import NetSuiteAccess
from om_platform.core.decoding import contract_decoder
from om_platform.core.freshness import FreshnessSource
from om_platform.core.freshness import totals as freshness_totals
from om_platform.core.mappings import TOPICS as MAPPING_TOPICS
from om_platform.core.mappings import Kind, OnMapping
from om_platform.core.records import Decoder, Handler
from om_platform.core.settings_changes import SettingsChange
from om_platform.logging import configure_logging
from om_platform.metrics import Metrics
from om_platform.runtime.asyncapi_page import render_html
from om_platform.settings import ServiceSettings
from om_platform.tracing import Tracing

log = logging.getLogger(__name__)

HEALTH_GAUGES_MAX_AGE_S = 15.0
"""How stale the connection and freshness gauges of /metrics may be (they are read from MongoDB)."""

PayloadT = TypeVar("PayloadT")
Hook = Callable[[], Awaitable[None]]


class ServiceRuntime:
    """Everything a service process owns, built once from its settings."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        title: str,
        version: str = "0.1.0",
        description: str = "",
    ) -> None:
        self.settings = settings
        self.title = title
        self.version = version
        self.description = description
        self.metrics = Metrics(service=settings.service_name, version=version)
        self.tracing = Tracing(
            settings.otel_service_name or settings.service_name, settings.otel_exporter_otlp_endpoint
        )
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            **faststream_security_kwargs(settings),  # the same mapping as every other Kafka client
            enable_idempotence=settings.kafka_enable_idempotence,
            acks="all",
            graceful_timeout=settings.shutdown_grace_s,
            client_id=settings.service_name,
            # FastStream's default logger has its own coloured handler; ours propagates to the root
            # JSON handler like every other log line of the service.
            logger=logging.getLogger("faststream.broker"),
        )
        self.dead_letters = DeadLetterPublisher()
        self.consumers: list[TopicConsumer[Any]] = []
        self.mongo_client: AsyncMongoClient[dict[str, Any]] | None = None
        self._netsuite: NetSuiteAccess | None = None
        self._producer: AIOKafkaProducer | None = None
        self._start_hooks: list[Hook] = []
        self._stop_hooks: list[Hook] = []
        self._background: list[asyncio.Task[None]] = []
        self.started_at = time.monotonic()
        self._asyncapi: dict[str, Any] | None = None
        self.integrations: IntegrationStore | None = None
        self._gate: asyncio.Task[None] | None = None
        self._freshness: dict[str, FreshnessSource] = {}
        self._health_read_at = -HEALTH_GAUGES_MAX_AGE_S
        self.integrations_ready = asyncio.Event()
        """The cold-start gate: set once the integrations projection reached the end offsets of its
        topic seen at start (or `INTEGRATIONS_CATCH_UP_S` passed); other consumers wait for it."""
        self.connections = ConnectionMonitor(settings.service_name, settings.connection_settings())
        self.connections.on_refused = self.metrics.netsuite_requests_refused.inc
        """Each supplier's NetSuite connection state and circuit breaker (om_platform.adapters.connections)."""
        self._status = self.publisher(
            INTEGRATION_STATUS_TOPIC,
            schema=NetSuiteIntegrationStatus,
            description="State of each supplier's NetSuite connection, published when it changes.",
        )

    # -- wiring ---------------------------------------------------------------------------------

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

    def freshness(self, flow: str, source: FreshnessSource) -> None:
        """Report `source`'s per-supplier freshness on /metrics, in aggregate (`om_platform.core.freshness`)."""
        self._freshness[flow] = source

    async def refresh_health_gauges(self) -> None:
        """Connection states and freshness, read at most every `HEALTH_GAUGES_MAX_AGE_S` (a scrape
        reads MongoDB, so bursts of scrapes do not); a failure leaves the previous values."""
        now = time.monotonic()
        if self.mongo_client is None or now - self._health_read_at < HEALTH_GAUGES_MAX_AGE_S:
            return
        self._health_read_at = now
        try:
            await asyncio.wait_for(self._read_health_gauges(), 10.0)
        except Exception:
            log.exception("reading connection and freshness gauges failed")

    async def _read_health_gauges(self) -> None:
        metrics = self.metrics
        broken = Counter(status.state for status in self.connections.statuses())
        configured = await self.db["integrations"].count_documents({"status": "configured"})
        for state in ("connected", "auth_failed", "permission_missing", "rate_limited", "unreachable"):
            count = max(0, configured - sum(broken.values())) if state == "connected" else broken[state]
            metrics.netsuite_connections.labels(state).set(count)
        wall = datetime.now(UTC)
        for flow, source in self._freshness.items():
            summary = freshness_totals((await source()).values(), wall)
            metrics.last_success_age.labels(flow).set(summary.stalest_success_s)
            metrics.oldest_failure_age.labels(flow).set(summary.oldest_failure_s)
            metrics.records_parked.labels(flow).set(summary.parked)
            metrics.suppliers_failing.labels(flow).set(summary.failing_suppliers)

    def on_start(self, hook: Hook) -> None:
        self._start_hooks.append(hook)

    def on_stop(self, hook: Hook) -> None:
        self._stop_hooks.append(hook)

    def supervise(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a background loop for the life of the process; if it dies, liveness fails."""

        async def start() -> None:
            self._background.append(asyncio.create_task(loop(), name=name))

        self._start_hooks.append(start)

    def consume_integrations(self) -> IntegrationStore:
        """Project the compacted integrations topic into this service's MongoDB (see integrations.py).

        Returns the store; it is usable once the runtime has started (MongoDB connects in the lifespan).
        """
        store = IntegrationStore(self)
        self.consume(
            INTEGRATIONS_TOPIC,
            decode=integrations_decoder(),
            handle=store.handle,
            description="NetSuite Integration settings per supplier (compacted; tombstone disconnects).",
        )
        self.on_start(store.warm)
        store.watch(self._on_settings_change)
        self.integrations = store
        return store

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
        store = MappingStore(self)
        consumer = MappingConsumer(store, on_mapping)
        texts = {**_MAPPING_DESCRIPTIONS, **(descriptions or {})}
        for kind in ("customer", "product"):
            if kind in kinds:
                topic = MAPPING_TOPICS[kind]
                self.consume(
                    topic,
                    decode=contract_decoder(topic, _entity_id),
                    handle=consumer.handle,
                    limit_for=lambda _supplier: lanes,
                    description=texts[kind],
                )
        self.on_start(store.ensure_indexes)
        return store

    async def _on_settings_change(self, supplier_id: str, change: SettingsChange) -> None:
        """New credentials (or a reconnection) may fix a refused login: probe it now."""
        if change.credentials or change.connected:
            await self.connections.credentials_changed(supplier_id)

    def serve_commands(self, handlers: Mapping[str, CommandHandler]) -> None:
        """Run operator commands (`omctl resync`, `omctl run ...`) addressed to this service."""

        async def loop() -> None:
            await serve_commands(
                CommandQueue(self.db),
                handlers,
                self.settings.command_poll_s,
                positions=self.processed_offset,
                catch_up_s=self.settings.command_catch_up_s,
            )

        self.supervise("operator-commands", loop)

    async def processed_offset(self, topic: str, partition: int) -> int | None:
        """The offset below which this service finished every record of a partition (its consumer
        group's committed offset, whichever replica did the work); None for a topic it does not
        consume. Operator commands wait on it to see the events published before them."""
        for consumer in self.consumers:
            if consumer.topic == topic:
                kafka = consumer.consumer
                if kafka is None:
                    return 0  # not polling yet: nothing processed
                committed: int | None = await kafka.committed(TopicPartition(topic, partition))
                return committed or 0
        return None

    @property
    def netsuite(self) -> NetSuiteAccess:
        """Per-supplier NetSuite sessions (built in the lifespan from NETSUITE_CREDENTIALS_KEYS)."""
        if self._netsuite is None:
            raise RuntimeError("NetSuite access is built in the lifespan; the runtime has not started")
        return self._netsuite

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        if self.mongo_client is None:
            raise RuntimeError("MongoDB is connected in the lifespan; the runtime has not started")
        return self.mongo_client[self.settings.mongodb_database]

    # -- lifecycle ------------------------------------------------------------------------------

    async def _on_startup(self) -> None:
        self.tracing.start()  # a no-op unless OTEL_EXPORTER_OTLP_ENDPOINT (or an exporter) is set
        self.mongo_client = AsyncMongoClient(
            self.settings.mongodb_url.get_secret_value(),
            tz_aware=True,
            serverSelectionTimeoutMS=10_000,
            event_listeners=self.tracing.mongo_listeners(),
        )
        self._producer = AIOKafkaProducer(
            **kafka_client_kwargs(self.settings),
            enable_idempotence=self.settings.kafka_enable_idempotence,
            acks="all",
            client_id=f"{self.settings.service_name}-dlq",
            # as large as a dead-letter topic accepts: a whole record of its source plus the context
            max_request_size=self.dead_letters.policy.max_request_bytes,
        )
        await self._producer.start()
        self.dead_letters.attach(self._producer, MongoDeadLetterMemory(self.db["dead_letters"]))
        self._netsuite = NetSuiteAccess(
            KeyRing.from_string(self.settings.netsuite_credentials_keys.get_secret_value()),
            self.metrics,
            base_url_override=self.settings.netsuite_base_url,
            timeout_s=self.settings.netsuite_timeout_s,
            budget_db=self.mongo_client[self.settings.netsuite_budget_database],
            budget_timing=LeaseTiming(
                renew_s=self.settings.netsuite_budget_renew_s,
                lease_s=self.settings.netsuite_budget_lease_s,
                margin_s=self.settings.netsuite_budget_margin_s,
                poll_s=self.settings.netsuite_budget_poll_s,
                max_wait_s=self.settings.netsuite_budget_max_wait_s,
                keep_idle_s=self.settings.netsuite_budget_keep_idle_s,
                attempt_deadline_s=self.settings.netsuite_attempt_deadline_s,
            ),
            holder_name=self.settings.service_name,
            tracer=self.tracing.tracer("om_netsuite"),
            connections=self.connections,
        )
        connections = ConnectionStore(self.mongo_client[self.settings.netsuite_budget_database][CONNECTIONS])
        await connections.ensure_indexes()
        netsuite = self._netsuite
        integrations = self.integrations
        self.connections.attach(
            connections,
            self._publish_status,
            None if integrations is None else functools.partial(integrations.get, fresh=True),
            lambda supplier_id, integration: netsuite.session(supplier_id, integration, probe=True),
        )
        # The budget's renewal loop is a supervised background loop: if it dies, liveness fails.
        self._background.append(self._netsuite.budget.start())
        for hook in self._start_hooks:
            await hook()

    async def _after_startup(self) -> None:
        for consumer in self.consumers:
            await consumer.start()
        # After the broker started: the loop may publish a status event left unpublished.
        self._background.append(asyncio.create_task(self.connections.run(), name="connections"))
        # Not a supervised loop: it ends once the gate is open.
        self._gate = asyncio.create_task(self._open_gate(), name="integrations-gate")
        log.info("%s started", self.settings.service_name)

    async def _open_gate(self) -> None:
        """Cold start without false failures: hold every other consumer's records until the
        integrations consumer group has committed (processed, whichever replica did it) up to the
        integrations topic's end offsets read now, at most `INTEGRATIONS_CATCH_UP_S`; then open the
        gate anyway and say so (records then may overtake their supplier's settings)."""
        began = time.monotonic()
        try:
            if self.integrations is not None:
                caught_up = await asyncio.wait_for(
                    self._integrations_caught_up(), self.settings.integrations_catch_up_s
                )
                log.info("integrations caught up in %.1fs (%s)", time.monotonic() - began, caught_up)
        except TimeoutError:
            log.warning(
                "integrations projection not caught up after %.0fs (INTEGRATIONS_CATCH_UP_S); handling "
                "events anyway: one overtaking its supplier's settings fails INTEGRATION_NOT_CONFIGURED "
                "and heals once they arrive",
                self.settings.integrations_catch_up_s,
            )
        except asyncio.CancelledError:
            raise  # shutting down: the records waiting are abandoned, uncommitted
        except Exception:
            log.exception("reading the integrations topic's positions failed; opening the gate")
        self.metrics.integrations_catch_up_seconds.set(time.monotonic() - began)
        self.integrations_ready.set()

    async def _integrations_caught_up(self) -> str:
        consumer = next(c for c in self.consumers if c.topic == INTEGRATIONS_TOPIC)
        while True:
            kafka = consumer.consumer
            numbers = kafka.partitions_for_topic(INTEGRATIONS_TOPIC) if kafka is not None else None
            if numbers:
                break
            await asyncio.sleep(0.05)  # the subscriber's metadata is on its way
        partitions = [TopicPartition(INTEGRATIONS_TOPIC, p) for p in sorted(numbers)]
        ends = await self._log_ends(partitions)
        behind = {tp: end for tp, end in ends.items() if end > 0}
        while behind:
            for tp in list(behind):
                committed = await kafka.committed(tp)
                if committed is not None and committed >= behind[tp]:
                    del behind[tp]
            if behind:
                await asyncio.sleep(0.1)  # commits land every KAFKA_COMMIT_INTERVAL_MS
        return f"{sum(ends.values())} record(s) on {len(partitions)} partition(s)"

    async def _log_ends(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The end offset of each partition now: the larger of ListOffsets' answer and the high
        watermark of a fetch. The embedded tansu broker answers ListOffsets with too low an offset
        once one produce request carried many records (measured: 1 per partition after 1,500
        records sent at once); its fetches report the high watermark right. Real Kafka agrees."""
        reader = AIOKafkaConsumer(
            **kafka_client_kwargs(self.settings),
            enable_auto_commit=False,
            client_id=f"{self.settings.service_name}-gate",
            max_partition_fetch_bytes=4096,
        )
        await reader.start()
        try:
            reader.assign(partitions)
            ends: dict[TopicPartition, int] = await reader.end_offsets(partitions)
            for tp in partitions:
                reader.seek(tp, max(0, ends[tp] - 1))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5.0
            marks: dict[TopicPartition, int] = {}
            while len(marks) < len(partitions) and loop.time() < deadline:
                await reader.getmany(timeout_ms=200, max_records=1)
                marks.update({tp: mark for tp in partitions if (mark := reader.highwater(tp)) is not None})
            return {tp: max(ends[tp], marks.get(tp, 0)) for tp in partitions}
        finally:
            await reader.stop()

    async def republish(self, topic: str, key: str, value: bytes) -> None:
        """Send a record back to one of the service's own input topics (a parked event, once its
        supplier's connection is back), with `x-redriven-from: parked`; returns once the broker has it."""
        if self._producer is None:
            raise RuntimeError("the producer is started in the lifespan; the runtime has not started")
        await self._producer.send_and_wait(
            topic, value, key=key.encode(), headers=[("x-redriven-from", b"parked")]
        )

    async def _publish_status(self, event: NetSuiteIntegrationStatus) -> None:
        await self._status.publish(event, key=event.supplier_id)

    async def _on_shutdown(self) -> None:
        grace = self.settings.shutdown_grace_s
        results = await asyncio.gather(*(c.drain(grace) for c in self.consumers))
        if not all(results):
            log.warning("shutdown abandoned in-flight records; they will be redelivered")
        tasks = [*self._background, *([self._gate] if self._gate is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.connections.stop()
        for hook in reversed(self._stop_hooks):
            await hook()

    async def _after_shutdown(self) -> None:
        if self._netsuite is not None:
            await self._netsuite.aclose()
        if self._producer is not None:
            await self._producer.stop()
        if self.mongo_client is not None:
            await self.mongo_client.close()
        # Flushing may wait on the collector: off the event loop.
        await asyncio.to_thread(self.tracing.shutdown)

    # -- health ---------------------------------------------------------------------------------

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """Alive unless a consumer or background loop died, or pending work makes no progress."""
        now = time.monotonic()
        problems: dict[str, Any] = {}
        for consumer in self.consumers:
            if consumer.crashed is not None:
                problems[consumer.topic] = f"job crashed: {consumer.crashed!r}"
            elif consumer.pending_work() and now - consumer.last_progress > self.settings.liveness_stall_s:
                problems[consumer.topic] = f"no progress for {now - consumer.last_progress:.0f}s"
            self.metrics.consumer_lag.labels(consumer.topic).set(consumer.lag())
            stalled = now - consumer.last_progress if consumer.pending_work() else 0.0
            self.metrics.consumer_stalled_seconds.labels(consumer.topic).set(stalled)
        for task in self._background:
            if task.done():
                problems[task.get_name()] = "background loop stopped"
        return not problems, problems

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        try:
            checks["kafka"] = bool(await self.broker.ping(timeout=3.0))
        except Exception as exc:  # readiness reports, never raises
            checks["kafka"] = repr(exc)
        try:
            await asyncio.wait_for(self.db.command("ping"), 3.0)
            checks["mongodb"] = True
        except Exception as exc:
            checks["mongodb"] = repr(exc)
        return all(v is True for v in checks.values()), checks

    # -- the app --------------------------------------------------------------------------------

    def app(self) -> AsgiFastStream:
        runtime = self

        @get(include_in_schema=False)
        async def live() -> AsgiResponse:
            ok, problems = runtime.liveness()
            return _json(200 if ok else 503, {"status": "ok" if ok else "stalled", "problems": problems})

        @get(include_in_schema=False)
        async def ready() -> AsgiResponse:
            ok, checks = await runtime.readiness()
            return _json(200 if ok else 503, {"status": "ok" if ok else "unavailable", "checks": checks})

        @get(include_in_schema=False)
        async def metrics() -> AsgiResponse:
            runtime.liveness()  # refresh lag gauges
            await runtime.refresh_health_gauges()
            return AsgiResponse(
                generate_latest(runtime.metrics.registry),
                200,
                {"content-type": CONTENT_TYPE_LATEST},
            )

        @get(include_in_schema=False)
        async def asyncapi_page() -> AsgiResponse:
            # rendered here, not FastStream's CDN-loaded page: it works without internet access
            html = render_html(runtime.cached_asyncapi())
            return AsgiResponse(html.encode(), 200, {"content-type": "text/html; charset=utf-8"})

        @get(include_in_schema=False)
        async def asyncapi_json() -> AsgiResponse:
            return _json(200, runtime.cached_asyncapi())

        return AsgiFastStream(
            self.broker,
            asgi_routes=[
                ("/health/live", live),
                ("/health/ready", ready),
                ("/metrics", metrics),
                ("/docs/asyncapi", asyncapi_page),
                ("/docs/asyncapi.json", asyncapi_json),
            ],
            specification=self.specification(),
            logger=logging.getLogger("faststream.app"),
            on_startup=[self._on_startup],
            after_startup=[self._after_startup],
            on_shutdown=[self._on_shutdown],
            after_shutdown=[self._after_shutdown],
        )

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI document, with each consumed topic's payload schema from om_contracts.

        Subscribers take the raw record (so an invalid payload can be dead-lettered instead of
        failing inside FastStream), which leaves FastStream without a payload type to document;
        the contract's discriminated union of the topic's events is filled in here.
        """
        spec: dict[str, Any] = self.app().schema.to_specification().to_jsonable()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        messages = spec["components"].get("messages", {})
        for channel in spec.get("channels", {}).values():
            try:
                topic = get_topic(channel["address"])
            except KeyError:
                continue
            schema = topic.adapter.json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            name = f"{topic.family.title()}Event"
            schemas[name] = schema
            for ref in channel.get("messages", {}).values():
                message = messages.get(ref["$ref"].rsplit("/", 1)[-1])
                if message is not None and message["payload"].get("$ref", "").endswith("/EmptyPayload"):
                    message["payload"] = {"$ref": f"#/components/schemas/{name}"}
        if not any(m["payload"].get("$ref", "").endswith("/EmptyPayload") for m in messages.values()):
            schemas.pop("EmptyPayload", None)
        return spec

    def cached_asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI document, built on first request (it does not change while running)."""
        if self._asyncapi is None:
            self._asyncapi = self.asyncapi()
        return self._asyncapi

    def specification(self) -> AsyncAPI:
        return AsyncAPI(title=self.title, version=self.version, description=self.description)

    def serve(self) -> None:
        """Run the service until SIGTERM/SIGINT (uvicorn handles the signals, then the lifespan drains)."""
        configure_logging(self.settings.log_level, self.settings.log_format)
        try:
            asyncio.run(check_connection(self.settings))
        except KafkaSecurityError as exc:
            # One line for the operator (a wrong CA, an unknown user, no broker), not a traceback.
            log.error("cannot start: %s", exc, extra={"kafka": describe(self.settings)})  # noqa: TRY400
            raise SystemExit(2) from None
        log.info("kafka: %s", describe(self.settings))
        config = uvicorn.Config(
            self.app(),
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(self.settings.shutdown_grace_s) + 5,
        )
        uvicorn.Server(config).run()


_MAPPING_DESCRIPTIONS: dict[Kind, str | None] = {
    "customer": "Customers: their netsuite_id property maps them to NetSuite customers.",
    "product": "Products: their netsuite_id property maps them to NetSuite items.",
}


def _entity_id(event: Any) -> str:
    """The lane of a customer/product event: events of one entity apply in order."""
    return str(event.data.id)


def _json(status: int, body: dict[str, Any]) -> AsgiResponse:
    return AsgiResponse(json.dumps(body).encode(), status, {"content-type": "application/json"})


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def main(settings_type: type[SettingsT], build: Callable[[SettingsT], ServiceRuntime]) -> None:
    """`python -m <service>`: read the settings, build the service, serve until SIGTERM.

    Invalid settings end the process with exit code 2 and one line per problem on stderr, naming
    the variable and why (never its value: it may be a secret), instead of a traceback.
    """
    try:
        settings = settings_type()
    except ValidationError as exc:
        for problem in exc.errors(include_url=False, include_input=False):
            variable = ".".join(str(part) for part in problem["loc"]).upper() or "settings"
            print(f"invalid setting {variable}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    build(settings).serve()
