"""The Kafka edge shared by all services: at-least-once consumption, dead letters, publishing.

What a handler or decoder sees of a record (`Decoded`, `Skip`, `RecordContext`) is driver-free:
`om_platform.core.records`. How an exception is classified here: `classify`. Connecting to the
broker (TLS, SASL, MSK IAM): `security`.
"""

from om_platform.adapters.kafka._consumer import (
    DEAD_LETTER_CONCURRENCY,
    DECODE_INLINE_BYTES,
    ConsumerOptions,
    TopicConsumer,
)
from om_platform.adapters.kafka._deadletter import (
    DeadLetterMemory,
    DeadLetterOutcome,
    DeadLetterPolicy,
    DeadLetterPublisher,
    MongoDeadLetterMemory,
    dead_letter_id,
    failure_headers,
)
from om_platform.adapters.kafka._lanes import LaneScheduler
from om_platform.adapters.kafka._offsets import PartitionOffsets
from om_platform.adapters.kafka._publisher import EventPublisher
from om_platform.adapters.kafka._retry import EventRetryPolicy

__all__ = [
    "DEAD_LETTER_CONCURRENCY",
    "DECODE_INLINE_BYTES",
    "ConsumerOptions",
    "DeadLetterMemory",
    "DeadLetterOutcome",
    "DeadLetterPolicy",
    "DeadLetterPublisher",
    "EventPublisher",
    "EventRetryPolicy",
    "LaneScheduler",
    "MongoDeadLetterMemory",
    "PartitionOffsets",
    "TopicConsumer",
    "dead_letter_id",
    "failure_headers",
]
