"""Publishing outbound events and waiting for the broker to confirm them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faststream.kafka.publisher.usecase import DefaultPublisher
from pydantic import BaseModel

from om_platform.metrics import Metrics
from om_platform.tracing import Tracing


class EventPublisher:
    """Publishes pydantic events as JSON with the supplier id as key, awaiting `RecordMetadata`.

    `publish` returns only after the broker acknowledged the record (acks=all), so a caller that
    then commits its input offset or advances a cursor never loses the event. Each publish is a
    span whose context travels in the record's ``traceparent``/``tracestate`` headers (the current
    context passes through unchanged when tracing is off).
    """

    def __init__(self, publisher: Any, topic: str, metrics: Metrics, tracing: Tracing | None = None) -> None:
        self._publisher: DefaultPublisher = publisher
        self.topic = topic
        self._metrics = metrics
        self._tracing = tracing if tracing is not None else Tracing(topic)

    async def publish(self, event: BaseModel, *, key: str, headers: Mapping[str, str] | None = None) -> None:
        body = event.model_dump_json(by_alias=True).encode()
        with self._tracing.publish_span(self.topic, key=key) as trace_headers:
            await self._publisher.publish(
                body,
                key=key.encode(),
                headers={"content-type": "application/json", **(headers or {}), **trace_headers},
            )
        self._metrics.events_produced.labels(self.topic).inc()
