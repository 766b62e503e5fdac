"""OpenTelemetry tracing of a service: consumed event -> NetSuite calls and Mongo commands -> produced event.

Off unless configured: with ``OTEL_EXPORTER_OTLP_ENDPOINT`` unset, `Tracing.tracer` hands out the
API's no-op tracer, no provider, processor or exporter exists, and Mongo gets no listener. The
no-op tracer still carries an incoming ``traceparent`` through to the produced events, so a
service with tracing off does not cut the traces of the services around it.

When configured, the runtime calls `Tracing.start` in its lifespan: a `TracerProvider` owned by
this runtime (not the process-global one, so several runtimes in one test process stay apart)
exporting over OTLP/HTTP to ``<endpoint>/v1/traces`` with ``service.name`` = ``OTEL_SERVICE_NAME``.
The exporter reads its other standard variables itself (``OTEL_EXPORTER_OTLP_HEADERS``, timeouts,
certificates). ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL`` (the
OpenTelemetry specification's variables: ``http/protobuf``, the default, or ``grpc``) choose OTLP
over gRPC to ``<endpoint>`` (usually port 4317) instead; its exporter, the PyPI package
``opentelemetry-exporter-otlp-proto-grpc`` (with grpcio), is not a dependency of the project: an
image built with ``--build-arg OTLP_GRPC=true`` has it, and without it the service refuses to start
with a one-line `TracingError` saying so.

Context crosses Kafka in W3C Trace Context headers (``traceparent``, ``tracestate``). Spans carry
identifiers only (topic, partition, offset, supplier and event ids, NetSuite operation and status,
Mongo command and collection); never payloads, documents, URLs or credentials.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pymongo import monitoring

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from om_platform.core.records import RecordContext

__all__ = ["Tracing", "TracingError", "otlp_protocol"]

PROTOCOLS = ("http/protobuf", "grpc")


class TracingError(RuntimeError):
    """Tracing is configured in a way this process cannot honour (one line for the operator)."""


def otlp_protocol(environ: Mapping[str, str] | None = None) -> str:
    """The OTLP transport for traces from the standard variables (traces-specific one first)."""
    env = os.environ if environ is None else environ
    chosen = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or PROTOCOLS[0]
    )
    if chosen not in PROTOCOLS:
        raise TracingError(f"OTEL_EXPORTER_OTLP_PROTOCOL={chosen}: supported are {', '.join(PROTOCOLS)}")
    return chosen


_PROPAGATOR = TraceContextTextMapPropagator()


class _HeaderGetter(Getter[Sequence[tuple[str, bytes | None]]]):
    """Reads W3C headers from a Kafka record's ``(name, bytes)`` pairs (a null value is no header)."""

    def get(self, carrier: Sequence[tuple[str, bytes | None]], key: str) -> list[str] | None:
        found = [
            value.decode("latin-1") for name, value in carrier if name.lower() == key and value is not None
        ]
        return found or None

    def keys(self, carrier: Sequence[tuple[str, bytes | None]]) -> list[str]:
        return [name for name, _ in carrier]


_GETTER = _HeaderGetter()


class Tracing:
    """The tracing of one service process (see the module docstring)."""

    def __init__(self, service_name: str, endpoint: str | None = None, protocol: str | None = None) -> None:
        self.service_name = service_name
        self.endpoint = endpoint
        self.protocol = protocol
        self._exporter: SpanExporter | None = None
        self._provider: TracerProvider | None = None
        self._tracers: dict[str, trace.Tracer] = {}

    @property
    def configured(self) -> bool:
        """Whether `start` will install a provider (an endpoint or an explicit exporter is set)."""
        return bool(self.endpoint) or self._exporter is not None

    @property
    def enabled(self) -> bool:
        """Whether spans are being recorded now."""
        return self._provider is not None

    def use_exporter(self, exporter: SpanExporter) -> None:
        """Export to `exporter` instead of OTLP, synchronously per span (tests, custom backends).

        Call before the runtime starts; it turns tracing on even without an endpoint.
        """
        self._exporter = exporter

    def start(self) -> None:
        """Install this runtime's provider when configured; otherwise stay a no-op."""
        if not self.configured or self._provider is not None:
            return
        # Imported here so a service with tracing off never loads the SDK or the exporter.
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: self.service_name}))
        if self._exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        else:
            assert self.endpoint is not None  # configured
            provider.add_span_processor(BatchSpanProcessor(self._otlp_exporter(self.endpoint)))
        self._provider = provider
        self._tracers.clear()

    def _otlp_exporter(self, endpoint: str) -> SpanExporter:
        if (self.protocol or otlp_protocol()) == "grpc":
            try:
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                    OTLPSpanExporter as GrpcExporter,
                )
            except ImportError:
                raise TracingError(
                    "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the package opentelemetry-exporter-otlp-proto-grpc, "
                    "not in this image: build it with --build-arg OTLP_GRPC=true, or use http/protobuf (port 4318)"
                ) from None
            exporter: SpanExporter = GrpcExporter(endpoint=endpoint)
            return exporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")

    def shutdown(self) -> None:
        """Flush and stop the provider (spans still buffered are exported, bounded by its timeout)."""
        provider, self._provider = self._provider, None
        self._tracers.clear()
        if provider is not None:
            provider.shutdown()

    def tracer(self, name: str) -> trace.Tracer:
        """A tracer of this runtime's provider, or the no-op tracer while tracing is off."""
        tracer = self._tracers.get(name)
        if tracer is None:
            tracer = self._provider.get_tracer(name) if self._provider is not None else trace.NoOpTracer()
            self._tracers[name] = tracer
        return tracer

    # -- Kafka ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def consume_span(self, ctx: RecordContext, *, supplier_id: str, event_id: str) -> Iterator[trace.Span]:
        """A CONSUMER span for one attempt at a record, child of the record's ``traceparent``.

        The caller sets ``om.outcome`` (processed, retry, dead_lettered) before leaving.
        """
        parent = _PROPAGATOR.extract(ctx.headers, getter=_GETTER) if ctx.headers else None
        attributes: dict[str, Any] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": ctx.topic,
            "messaging.destination.partition.id": str(ctx.partition),
            "messaging.kafka.offset": ctx.offset,
            "om.supplier_id": supplier_id,
            "om.event_id": event_id,
            "om.attempt": ctx.attempt,
        }
        with self.tracer("om_platform.kafka").start_as_current_span(
            f"consume {ctx.topic}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
            # Handler errors are classified by the edge; their messages may quote payload values.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span

    @contextlib.contextmanager
    def publish_span(self, topic: str, *, key: str) -> Iterator[dict[str, str]]:
        """A PRODUCER span around one publish; yields the W3C headers to put on the record."""
        with self.tracer("om_platform.kafka").start_as_current_span(
            f"publish {topic}",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "om.supplier_id": key,
            },
            record_exception=False,
        ) as span:
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
            yield carrier

    # -- MongoDB --------------------------------------------------------------------------------

    def mongo_listeners(self) -> list[monitoring.CommandListener]:
        """Event listeners for the runtime's `AsyncMongoClient` (none while tracing is off)."""
        if not self.enabled:
            return []
        return [_MongoCommandSpans(self.tracer("om_platform.mongo"))]


class _MongoCommandSpans(monitoring.CommandListener):
    """A CLIENT span per MongoDB command: command name, database, collection, duration; no documents.

    Only commands issued inside a span are traced: background polls (leases, operator commands,
    budget housekeeping) outside any traced work would otherwise each start a trace of their own.
    """

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer
        self._open: dict[tuple[Any, int], trace.Span] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not trace.get_current_span().get_span_context().is_valid:
            return
        name = event.command_name
        target = event.command.get(name)
        collection = target if isinstance(target, str) else event.command.get("collection")
        attributes: dict[str, Any] = {
            "db.system.name": "mongodb",
            "db.operation.name": name,
            "db.namespace": event.database_name,
        }
        if isinstance(collection, str):
            attributes["db.collection.name"] = collection
        span = self._tracer.start_span(
            f"mongodb {name} {collection}" if isinstance(collection, str) else f"mongodb {name}",
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
        )
        self._open[(event.connection_id, event.request_id)] = span

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        span = self._open.pop((event.connection_id, event.request_id), None)
        if span is not None:
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        span = self._open.pop((event.connection_id, event.request_id), None)
        if span is None:
            return
        # The failure document's errmsg can quote document values (duplicate keys): code only.
        failure = event.failure if isinstance(event.failure, dict) else {}
        code = str(failure.get("codeName") or failure.get("code") or "error")
        span.set_attribute("error.type", code)
        span.set_status(trace.Status(trace.StatusCode.ERROR, code))
        span.end()
