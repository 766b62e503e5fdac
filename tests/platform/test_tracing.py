"""OpenTelemetry tracing through a real runtime: broker, Mongo-protocol server and NetSuite simulator.

One record carrying a W3C ``traceparent`` goes through a handler that reads a customer from
NetSuite, writes to MongoDB and publishes an event. The trace must link the producer upstream,
the consume span, the NetSuite call, the Mongo write and the publish, and the published record
must carry the trace on. With tracing unconfigured, nothing is installed and the incoming
context still passes through.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import json
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel
from pymongo import monitoring

from om_contracts import IntegrationSettings, KeyRing, dead_letter_topic
from om_devstack.stack import create_topics
from om_netsuite_sim import SimulatorServer
from om_platform.core.failures import TransientFailure
from om_platform.core.records import Decoded, RecordContext, Skip
from om_platform.runtime import ServiceRuntime
from om_platform.settings import ServiceSettings
from om_platform.tracing import Tracing
from support import integration as integration_payload

pytestmark = pytest.mark.integration

KEY = KeyRing.generate_key()
RING = KeyRing.from_string(KEY)


class Synced(BaseModel):
    supplier_id: str
    customer_name: str


@dataclass
class Flow:
    """A runtime whose handler calls NetSuite, writes to Mongo and publishes, as a service does."""

    runtime: ServiceRuntime
    integration: IntegrationSettings
    customer_id: str
    publisher: Any = None
    failures_left: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, payload: dict[str, Any], ctx: RecordContext) -> None:
        supplier_id = payload["supplier_id"]
        if self.failures_left:
            self.failures_left -= 1
            raise TransientFailure("dependency down")
        session = self.runtime.netsuite.session(supplier_id, self.integration)
        customer = await session.get("customer", self.customer_id)
        await self.runtime.db["trace_probe"].insert_one({"event_id": payload["event_id"]})
        await self.publisher.publish(
            Synced(supplier_id=supplier_id, customer_name=customer["companyName"]), key=supplier_id
        )
        self.done.set()


def decode(raw: bytes | None, ctx: RecordContext) -> Decoded[dict[str, Any]] | Skip:
    payload = json.loads(raw or b"")
    return Decoded(
        tenant=payload["supplier_id"], lane=payload["event_id"], payload=payload, event_id=payload["event_id"]
    )


@pytest.fixture
async def topics(make_topics: Any, kafka_bootstrap: str) -> tuple[str, str]:
    in_topic, out_topic = await make_topics("trace-in", "trace-out")
    await create_topics(kafka_bootstrap, [(dead_letter_topic(in_topic), 1, False)])
    return in_topic, out_topic


StartFlow = Callable[..., Awaitable[tuple[Flow, Any]]]


@pytest.fixture
def start(
    simulator: SimulatorServer,
    kafka_bootstrap: str,
    mongo_url: str,
    kafka_idempotence: bool,
    unique_name: str,
    topics: tuple[str, str],
) -> StartFlow:
    """Starts the traced flow on this test's stack and topics: consume, call NetSuite, store, produce."""

    async def start_flow(*, exporter: InMemorySpanExporter | None, failures: int = 0) -> tuple[Flow, Any]:
        account_id = f"{int(hashlib.sha256(unique_name.encode()).hexdigest(), 16) % 10**9}_SB1"
        creds = simulator.sim.add_account(account_id)
        customer_id = simulator.sim.account(account_id).add_customer("Café Luna")
        integration = IntegrationSettings.model_validate(
            integration_payload(account_id, RING, creds, concurrency_limit=2)
        )
        settings = ServiceSettings(
            service_name="trace-test",
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_enable_idempotence=kafka_idempotence,
            kafka_consumer_group=f"g-{unique_name}",
            kafka_session_timeout_ms=2000,
            kafka_heartbeat_interval_ms=500,
            kafka_commit_interval_ms=50,
            mongodb_url=mongo_url,
            mongodb_database=f"trace_{unique_name}",
            netsuite_budget_database=f"trace_budget_{unique_name}",
            netsuite_credentials_keys=KEY,
            netsuite_base_url=simulator.base_url,
            shutdown_grace_s=5,
            retry_base_delay_s=0.01,
            retry_max_delay_s=0.02,
        )
        runtime = ServiceRuntime(settings, title="tracing test")
        if exporter is not None:
            runtime.tracing.use_exporter(exporter)
        flow = Flow(runtime, integration, customer_id, failures_left=failures)
        in_topic, out_topic = topics
        runtime.consume(in_topic, decode=decode, handle=flow.handle)
        flow.publisher = runtime.publisher(out_topic, schema=Synced)
        app = runtime.app()
        await app.start()
        return flow, app

    return start_flow


async def read_one(kafka_bootstrap: str, topic: str) -> Any:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        return await asyncio.wait_for(consumer.getone(), 20)
    finally:
        await consumer.stop()


def header(record: Any, name: str) -> str | None:
    values = [value.decode() for key, value in record.headers if key == name]
    return values[0] if values else None


async def produce_traced(producer: AIOKafkaProducer, topic: str, supplier_id: str) -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{span_id}-01"
    body = json.dumps({"supplier_id": supplier_id, "event_id": f"evt_{supplier_id}"}).encode()
    await producer.send_and_wait(
        topic, body, key=supplier_id.encode(), headers=[("traceparent", traceparent.encode())]
    )
    return traceparent, trace_id, span_id


def attribute(span: ReadableSpan, name: str) -> Any:
    return dict(span.attributes or {})[name]


def only(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


async def test_a_trace_links_the_consumed_event_through_netsuite_and_mongo_to_the_produced_event(
    start: StartFlow,
    kafka_bootstrap: str,
    kafka_producer: AIOKafkaProducer,
    unique_name: str,
    topics: tuple[str, str],
) -> None:
    exporter = InMemorySpanExporter()
    flow, app = await start(exporter=exporter)
    supplier_id = f"sup_{unique_name}"
    try:
        _, trace_id, upstream_span_id = await produce_traced(kafka_producer, topics[0], supplier_id)
        await asyncio.wait_for(flow.done.wait(), 20)
        published = await read_one(kafka_bootstrap, topics[1])
    finally:
        await app.stop()

    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == int(trace_id, 16)]
    consume = only(spans, f"consume {topics[0]}")
    assert consume.kind is trace.SpanKind.CONSUMER
    assert consume.parent is not None
    assert consume.parent.span_id == int(upstream_span_id, 16)
    assert consume.parent.is_remote
    attributes = dict(consume.attributes or {})
    assert attributes["messaging.destination.name"] == topics[0]
    assert attributes["messaging.destination.partition.id"] == "0"
    assert attributes["messaging.kafka.offset"] == 0
    assert attributes["om.supplier_id"] == supplier_id
    assert attributes["om.event_id"] == f"evt_{supplier_id}"
    assert attributes["om.attempt"] == 1
    assert attributes["om.outcome"] == "processed"

    netsuite = only(spans, "netsuite customer.get")
    assert netsuite.parent is not None
    assert netsuite.parent.span_id == consume.context.span_id
    assert netsuite.kind is trace.SpanKind.CLIENT
    assert dict(netsuite.attributes or {})["http.response.status_code"] == 200
    assert dict(netsuite.attributes or {})["netsuite.account_id"] == flow.integration.account_id
    # No URL, header or credential reaches a span.
    secrets_sealed = flow.integration.credentials
    for span in spans:
        for value in dict(span.attributes or {}).values():
            assert "http" not in str(value)
            assert "oauth" not in str(value).lower()
            assert str(value) != secrets_sealed.token_id.token

    mongo = only(spans, "mongodb insert trace_probe")
    assert mongo.parent is not None
    assert mongo.parent.span_id == consume.context.span_id
    assert dict(mongo.attributes or {})["db.collection.name"] == "trace_probe"
    assert set(dict(mongo.attributes or {})) == {
        "db.system.name",
        "db.operation.name",
        "db.namespace",
        "db.collection.name",
    }

    publish = only(spans, f"publish {topics[1]}")
    assert publish.kind is trace.SpanKind.PRODUCER
    assert publish.parent is not None
    assert publish.parent.span_id == consume.context.span_id
    assert header(published, "traceparent") == f"00-{trace_id}-{publish.context.span_id:016x}-01"
    assert {s.resource.attributes["service.name"] for s in spans} == {"trace-test"}


async def test_with_tracing_unconfigured_nothing_is_installed_and_the_context_passes_through(
    start: StartFlow,
    kafka_bootstrap: str,
    kafka_producer: AIOKafkaProducer,
    unique_name: str,
    topics: tuple[str, str],
) -> None:
    flow, app = await start(exporter=None)
    supplier_id = f"sup_{unique_name}"
    try:
        runtime = flow.runtime
        assert not runtime.tracing.configured
        assert not runtime.tracing.enabled
        assert isinstance(runtime.tracing.tracer("om_platform.kafka"), trace.NoOpTracer)
        assert runtime.mongo_client is not None
        listeners: list[Any] = list(runtime.mongo_client.options.event_listeners)
        assert not [x for x in listeners if isinstance(x, monitoring.CommandListener)]
        traceparent, _, _ = await produce_traced(kafka_producer, topics[0], supplier_id)
        await asyncio.wait_for(flow.done.wait(), 20)
        published = await read_one(kafka_bootstrap, topics[1])
    finally:
        await app.stop()
    assert json.loads(published.value)["customer_name"] == "Café Luna"
    assert header(published, "traceparent") == traceparent


async def test_each_attempt_at_a_record_is_its_own_span_with_its_outcome(
    start: StartFlow,
    kafka_bootstrap: str,
    kafka_producer: AIOKafkaProducer,
    unique_name: str,
    topics: tuple[str, str],
) -> None:
    exporter = InMemorySpanExporter()
    flow, app = await start(exporter=exporter, failures=1)
    try:
        _, trace_id, upstream_span_id = await produce_traced(kafka_producer, topics[0], f"sup_{unique_name}")
        await asyncio.wait_for(flow.done.wait(), 20)
    finally:
        await app.stop()

    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == int(trace_id, 16)]
    attempts = sorted(
        (s for s in spans if s.name == f"consume {topics[0]}"),
        key=lambda s: attribute(s, "om.attempt"),
    )
    outcomes = [(attribute(s, "om.attempt"), attribute(s, "om.outcome")) for s in attempts]
    assert outcomes == [(1, "retry"), (2, "processed")]
    assert attempts[0].status.status_code is trace.StatusCode.ERROR
    assert attempts[0].status.description == "transient"
    assert attribute(attempts[0], "error.type") == "TransientFailure"
    assert attempts[1].status.status_code is not trace.StatusCode.ERROR
    assert [s.parent.span_id if s.parent else None for s in attempts] == [int(upstream_span_id, 16)] * 2


class _Collector(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_configured_endpoint_exports_spans_over_otlp_http_to_its_traces_path() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}/"
        tracing = Tracing("otlp-test", endpoint)
        assert tracing.configured
        enabled = [tracing.enabled]
        tracing.start()
        enabled.append(tracing.enabled)
        with tracing.tracer("test").start_as_current_span("work"):
            pass
        tracing.shutdown()  # flushes the batch
        enabled.append(tracing.enabled)
        assert enabled == [False, True, False]
    finally:
        server.shutdown()
        thread.join()
    assert [(path, kind) for path, kind, _ in _Collector.received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    body = _Collector.received[0][2]
    assert b"otlp-test" in body
    assert b"work" in body


def test_otlp_over_grpc_is_chosen_by_the_standard_variable_and_says_what_is_missing() -> None:
    from om_platform.tracing import TracingError, otlp_protocol

    assert otlp_protocol({}) == "http/protobuf"
    assert otlp_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == "grpc"
    both = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}
    assert otlp_protocol(both) == "http/protobuf"  # the traces-specific variable wins
    with pytest.raises(TracingError, match="supported are http/protobuf, grpc"):
        otlp_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    tracing = Tracing("grpc-test", "http://127.0.0.1:4317", protocol="grpc")
    try:
        import opentelemetry.exporter.otlp.proto.grpc  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:  # the project's own environment: the exporter is an image build option
        with pytest.raises(TracingError, match="opentelemetry-exporter-otlp-proto-grpc"):
            tracing.start()
        assert not tracing.enabled
    else:
        tracing.start()
        assert tracing.enabled
        tracing.shutdown()
