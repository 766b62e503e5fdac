"""The Kafka edge shared by all services: at-least-once consumption, dead letters, publishing."""

from om_platform.kafka._consumer import (
    ConsumerOptions,
    Decoded,
    Decoder,
    Handler,
    RecordContext,
    Skip,
    TopicConsumer,
)
from om_platform.kafka._deadletter import DeadLetterPublisher, failure_headers
from om_platform.kafka._lanes import LaneScheduler
from om_platform.kafka._offsets import PartitionOffsets
from om_platform.kafka._publisher import EventPublisher
from om_platform.kafka._retry import RetryPolicy

__all__ = [
    "ConsumerOptions",
    "DeadLetterPublisher",
    "Decoded",
    "Decoder",
    "EventPublisher",
    "Handler",
    "LaneScheduler",
    "PartitionOffsets",
    "RecordContext",
    "RetryPolicy",
    "Skip",
    "TopicConsumer",
    "failure_headers",
]
