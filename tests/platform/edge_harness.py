"""The edge test harness: a probe handler, ServiceRuntimes consuming a test topic, offset helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from om_contracts import KeyRing, dead_letter_topic
from om_devstack.stack import create_topics
from om_platform.core.failures import InvalidEvent, PermanentFailure, TransientFailure
from om_platform.core.records import Decoded, RecordContext, Skip
from om_platform.runtime import ServiceRuntime
from om_platform.settings import ServiceSettings


@dataclass
class Probe:
    """The test's handler: records what it processed; behaviour chosen per payload."""

    processed: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[int, int] = field(default_factory=dict)
    fault: bool = False
    attempted: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, payload: dict[str, Any], ctx: RecordContext) -> None:
        n = payload["n"]
        self.attempts[n] = self.attempts.get(n, 0) + 1
        self.attempted.set()
        mode = payload.get("mode", "ok")
        if mode == "transient" and self.fault:
            raise TransientFailure("dependency down")
        if mode == "permanent":
            raise PermanentFailure("UNMAPPED_PRODUCT", f"product of record {n} is not mapped")
        if mode == "block":
            await self.release.wait()
        async with self.changed:
            self.processed.append(payload)
            self.changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)


def decode(raw: bytes | None, ctx: RecordContext) -> Decoded[dict[str, Any]] | Skip:
    try:
        payload = json.loads(raw or b"")
    except ValueError as exc:
        raise InvalidEvent(f"value is not JSON: {exc}") from exc
    if payload.get("mode") == "skip":
        return Skip("not for this consumer")
    return Decoded(tenant=payload["tenant"], lane=payload["lane"], payload=payload)


KEY = KeyRing.generate_key()


def settings(kafka_bootstrap: str, mongo_url: str, group: str, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "service_name": "edge-test",
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_enable_idempotence": False,
        "kafka_consumer_group": group,
        "kafka_session_timeout_ms": 2000,
        "kafka_heartbeat_interval_ms": 500,
        "kafka_commit_interval_ms": 50,
        "retry_base_delay_s": 0.02,
        "retry_max_delay_s": 0.1,
        "retry_max_attempts": 1000,
        "shutdown_grace_s": 5,
        "mongodb_url": mongo_url,
        "netsuite_credentials_keys": KEY,
        **overrides,
    }
    return ServiceSettings(**values)


class Running:
    """Starts runtimes consuming a topic with a probe; stops whatever is left at teardown."""

    def __init__(self, kafka_bootstrap: str, mongo_url: str, group: str) -> None:
        self._args = (kafka_bootstrap, mongo_url, group)
        self._apps: dict[int, Any] = {}

    async def __call__(
        self,
        topic: str,
        probe: Probe,
        *,
        decoder: Callable[[bytes | None, RecordContext], Decoded[dict[str, Any]] | Skip] = decode,
        limit: int = 4,
        title: str = "edge test",
        prepare: Callable[[ServiceRuntime], None] | None = None,
        **overrides: Any,
    ) -> ServiceRuntime:
        """Start a runtime consuming `topic` with `probe`; `prepare` may wrap its parts before it starts."""
        runtime = ServiceRuntime(settings(*self._args, **overrides), title=title)
        if prepare is not None:
            prepare(runtime)
        runtime.consume(
            topic, decode=decoder, handle=probe.handle, limit_for=lambda _t: limit, group_suffix=""
        )
        app = runtime.app()
        await app.start()
        self._apps[id(runtime)] = app
        return runtime

    async def stop(self, runtime: ServiceRuntime) -> None:
        """Stop as on SIGTERM: drain within the grace period, commit, leave the group."""
        await self._apps.pop(id(runtime)).stop()

    async def stop_all(self) -> None:
        for app in reversed(list(self._apps.values())):
            await app.stop()
        self._apps.clear()


@pytest.fixture
async def running(kafka_bootstrap: str, mongo_url: str, unique_name: str) -> AsyncIterator[Running]:
    runner = Running(kafka_bootstrap, mongo_url, f"g-{unique_name}")
    yield runner
    await runner.stop_all()


@dataclass
class Edge:
    """One test's edge: a fresh topic (and its dead-letter topic), the runner, the group's offsets."""

    running: Running
    topic: str
    producer: AIOKafkaProducer
    bootstrap: str
    name: str

    @property
    def group(self) -> str:
        return f"g-{self.name}"

    async def start(self, probe: Probe, **options: Any) -> ServiceRuntime:
        return await self.running(self.topic, probe, **options)

    async def stop(self, runtime: ServiceRuntime) -> None:
        await self.running.stop(runtime)

    async def produce(self, *payloads: dict[str, Any] | bytes) -> None:
        await produce(self.producer, self.topic, *payloads)

    async def committed(self) -> dict[int, int]:
        return await committed(self.bootstrap, self.group, self.topic)

    async def wait_committed(self, expected: int) -> None:
        await wait_committed(self.bootstrap, self.group, self.topic, expected)

    async def dead_letters(self, count: int) -> list[Any]:
        return await read_all(self.bootstrap, self.topic + ".dlq", count)


@pytest.fixture
async def edge(
    running: Running,
    make_topics: Any,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    unique_name: str,
) -> Edge:
    topic = await edge_topic(make_topics, kafka_bootstrap)
    return Edge(running, topic, kafka_producer, kafka_bootstrap, unique_name)


async def produce(
    producer: AIOKafkaProducer, topic: str, *payloads: dict[str, Any] | bytes, key: bytes = b"sup_1"
) -> None:
    for payload in payloads:
        value = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await producer.send_and_wait(topic, value, key=key, headers=[("traceparent", b"00-abc-def-01")])


async def committed(kafka_bootstrap: str, group: str, topic: str, partitions: int = 1) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
        return {tp.partition: meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()


async def wait_committed(kafka_bootstrap: str, group: str, topic: str, expected: int) -> None:
    for _ in range(200):
        if (await committed(kafka_bootstrap, group, topic)).get(0) == expected:
            return
        await asyncio.sleep(0.05)  # polling the broker: there is no event to await for commits
    raise AssertionError(
        f"committed offset never reached {expected}: {await committed(kafka_bootstrap, group, topic)}"
    )


async def read_all(kafka_bootstrap: str, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        records: list[Any] = []
        while len(records) < count:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 20)
            for items in batch.values():
                records.extend(items)
        return records
    finally:
        await consumer.stop()


async def edge_topic(make_topics: Any, kafka_bootstrap: str) -> str:
    (topic,) = await make_topics("edge", partitions=1)
    await create_topics(kafka_bootstrap, [(dead_letter_topic(topic), 1, False)])
    return topic


def rec(n: int, mode: str = "ok", lane: str | None = None, tenant: str = "sup_1") -> dict[str, Any]:
    return {"tenant": tenant, "lane": lane or f"ord_{n}", "n": n, "mode": mode}
