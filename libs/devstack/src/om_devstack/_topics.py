"""Topics of the embedded broker: what a topic spec may be, and idempotent creation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from om_contracts import topic_configs

__all__ = ["TopicDescription", "TopicLike", "TopicSpec", "as_spec", "create_topics"]


class TopicSpec(NamedTuple):
    """A topic to create: name, partition count, and whether it is log-compacted."""

    name: str
    partitions: int = 1
    compacted: bool = False


class TopicDescription(Protocol):
    """Anything with a name, partitions and compaction flag (e.g. a contracts registry entry)."""

    @property
    def name(self) -> str: ...
    @property
    def partitions(self) -> int: ...
    @property
    def compacted(self) -> bool: ...


TopicLike = TopicSpec | tuple[str, int, bool] | tuple[str, int] | str | TopicDescription


def as_spec(topic: TopicLike) -> TopicSpec:
    if isinstance(topic, str):
        return TopicSpec(topic)
    if isinstance(topic, tuple):
        return TopicSpec(*topic)
    return TopicSpec(topic.name, topic.partitions, topic.compacted)


async def create_topics(
    bootstrap: str, topics: Iterable[TopicLike], client: Mapping[str, Any] | None = None
) -> list[str]:
    """Create topics (idempotently: existing ones are left as they are); return their names.

    Each topic gets the configs the contract gives its name (``om_contracts.topic_configs``):
    ``cleanup.policy=compact`` when compacted, and ``max.message.bytes`` (a ``.dlq`` topic accepts
    its source's records plus the dead-letter headers). Replication factor is 1 (single broker).
    The embedded tansu stores these configs (DescribeConfigs returns them) but enforces no size:
    measured, it took a 3,000-byte record on a 2,000-byte topic and 8 MB records, so tests of
    oversized records run against it, and only a client's ``max_request_size`` refuses them.
    ``client``: aiokafka connection arguments for a secured broker
    (``om_platform.adapters.kafka.security.kafka_client_kwargs``, or :meth:`EmbeddedStack.kafka_client_config`).
    """
    specs = [as_spec(t) for t in topics]
    if not specs:
        return []
    options: dict[str, Any] = {"bootstrap_servers": bootstrap, "request_timeout_ms": 10_000}
    admin = AIOKafkaAdminClient(**(options | dict(client or {})))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        new = [
            NewTopic(
                name=s.name,
                num_partitions=s.partitions,
                replication_factor=1,
                topic_configs=topic_configs(s.name, compacted=s.compacted),
            )
            for s in specs
            if s.name not in existing
        ]
        if new:
            await admin.create_topics(new)
    finally:
        await admin.close()
    return [s.name for s in specs]
