"""The FastStream plumbing of `TopicConsumer`: raw records in, nothing decoded by the framework.

The subscriber's parser wraps the aiokafka record without reading its headers or value
(`wrap_record`), its decoder decodes nothing (`decode_nothing`), and the handler receives the
message through `KafkaMessage`, resolved on the event loop (see `_consumer.py`'s docstring for why).
"""

from __future__ import annotations

from typing import Annotated, Any

from aiokafka import ConsumerRecord
from fast_depends.library import CustomField
from faststream.kafka.message import FAKE_CONSUMER
from faststream.kafka.message import KafkaMessage as KafkaStreamMessage


class _CurrentMessage(CustomField):
    """FastStream's current message, resolved on the event loop.

    fast_depends runs a custom field's synchronous `use` in a worker thread: with
    `faststream.kafka.KafkaMessage` (`Context("message")`) every record cost a thread round trip on
    the poll loop (measured in a profile of order_sync). Looking the message up in FastStream's
    context is a dict lookup; as a coroutine it runs in the loop.
    """

    def __init__(self) -> None:
        super().__init__(cast=False, required=True)

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        assert self.param_name is not None
        kwargs[self.param_name] = kwargs["context__"].resolve("message")
        return kwargs


KafkaMessage = Annotated[KafkaStreamMessage, _CurrentMessage()]
"""The record's FastStream message, as handler parameter (resolved without a thread)."""


def wrap_record(consumer: Any, record: ConsumerRecord[bytes, bytes]) -> KafkaStreamMessage:
    """FastStream's message around the raw record, with nothing read from its headers or value."""
    return KafkaStreamMessage(
        raw_message=record,
        body=b"",
        message_id=f"{record.partition}-{record.offset}",
        correlation_id=f"{record.topic}-{record.partition}-{record.offset}",
        consumer=consumer or FAKE_CONSUMER,
    )


async def decode_nothing(_message: Any) -> None:
    """The subscriber's decoder: the edge reads the raw record itself (see the module docstring)."""
    return
