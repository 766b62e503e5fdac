"""The Kafka edge shared by all services: at-least-once consumption, dead letters, publishing."""

from om_platform.kafka._consumer import (
    DEAD_LETTER_CONCURRENCY,
    DECODE_INLINE_BYTES,
    ConsumerOptions,
    Decoded,
    Decoder,
    Handler,
    RecordContext,
    Skip,
    TopicConsumer,
)
from om_platform.kafka._deadletter import (
    DeadLetterMemory,
    DeadLetterOutcome,
    DeadLetterPolicy,
    DeadLetterPublisher,
    MongoDeadLetterMemory,
    dead_letter_id,
    failure_headers,
)
from om_platform.kafka._lanes import LaneScheduler
from om_platform.kafka._offsets import PartitionOffsets
from om_platform.kafka._publisher import EventPublisher
from om_platform.kafka._retry import EventRetryPolicy

__all__ = [
    "DEAD_LETTER_CONCURRENCY",
    "DECODE_INLINE_BYTES",
    "ConsumerOptions",
    "DeadLetterMemory",
    "DeadLetterOutcome",
    "DeadLetterPolicy",
    "DeadLetterPublisher",
    "Decoded",
    "Decoder",
    "EventPublisher",
    "EventRetryPolicy",
    "Handler",
    "LaneScheduler",
    "MongoDeadLetterMemory",
    "PartitionOffsets",
    "RecordContext",
    "Skip",
    "TopicConsumer",
    "dead_letter_id",
    "failure_headers",
]
