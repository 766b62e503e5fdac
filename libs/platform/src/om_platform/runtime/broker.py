"""The Kafka side of a service process: its FastStream broker and its consumer groups' positions.

Consumers and publishers are registered through `ServiceRuntime.consume` / `publisher`
(`om_platform.adapters.kafka.TopicConsumer` / `EventPublisher`); the dead-letter producer is
started by the lifecycle.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker

from om_platform.adapters.kafka import TopicConsumer
from om_platform.adapters.kafka.security import faststream_security_kwargs
from om_platform.settings import ServiceSettings


def kafka_broker(settings: ServiceSettings) -> KafkaBroker:
    return KafkaBroker(
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


async def committed_offset(consumers: Sequence[TopicConsumer[Any]], topic: str, partition: int) -> int | None:
    """The committed offset of the consumer group of `topic` (0 before it polls), or None when no
    consumer of `consumers` reads `topic`."""
    for consumer in consumers:
        if consumer.topic == topic:
            kafka = consumer.consumer
            if kafka is None:
                return 0  # not polling yet: nothing processed
            committed: int | None = await kafka.committed(TopicPartition(topic, partition))
            return committed or 0
    return None
