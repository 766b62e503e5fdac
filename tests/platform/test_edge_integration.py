"""The Kafka edge against a real Kafka-protocol broker and Mongo-protocol server.

Each test runs a ServiceRuntime (FastStream app, MANUAL acks, lanes, committer, dead letters)
and checks what a finance team relies on: transient failures are retried until they clear,
permanent ones are dead-lettered with their context while the partition keeps flowing, and
nothing is committed before its effect is done.
"""

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
from om_platform.errors import InvalidEvent, PermanentFailure, TransientFailure
from om_platform.kafka import Decoded, RecordContext, Skip
from om_platform.runtime import ServiceRuntime
from om_platform.settings import ServiceSettings

pytestmark = pytest.mark.integration


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

    async def __call__(self, topic: str, probe: Probe, **overrides: Any) -> ServiceRuntime:
        runtime = ServiceRuntime(settings(*self._args, **overrides), title="edge test")
        runtime.consume(topic, decode=decode, handle=probe.handle, limit_for=lambda _t: 4, group_suffix="")
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


async def test_a_transient_failure_is_retried_until_the_fault_clears_and_processed_once(
    running: Running,
    make_topics: Any,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    topic = await edge_topic(make_topics, kafka_bootstrap)
    probe = Probe(fault=True)
    await running(topic, probe)
    await produce(kafka_producer, topic, rec(0, "transient"))
    await asyncio.wait_for(probe.attempted.wait(), 20)
    while probe.attempts[0] < 3:
        probe.attempted.clear()
        await asyncio.wait_for(probe.attempted.wait(), 20)
    probe.fault = False
    await probe.wait_for(lambda: len(probe.processed) == 1)
    await wait_committed(kafka_bootstrap, f"g-{unique_name}", topic, 1)
    assert probe.attempts[0] >= 3
    assert [p["n"] for p in probe.processed] == [0]


async def test_a_transient_failure_survives_a_consumer_restart_and_is_processed_after(
    running: Running,
    make_topics: Any,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    topic = await edge_topic(make_topics, kafka_bootstrap)
    first = Probe(fault=True)
    runtime = await running(topic, first, shutdown_grace_s=0.2)
    await produce(kafka_producer, topic, rec(0, "transient"), rec(1))
    await first.wait_for(lambda: [p["n"] for p in first.processed] == [1])
    await running.stop(runtime)  # the failing record is abandoned, not committed
    assert (await committed(kafka_bootstrap, f"g-{unique_name}", topic)).get(0, -1) <= 0

    second = Probe(fault=False)
    await running(topic, second)
    await second.wait_for(lambda: 0 in [p["n"] for p in second.processed])
    await wait_committed(kafka_bootstrap, f"g-{unique_name}", topic, 2)


async def test_a_permanent_failure_is_dead_lettered_with_context_and_later_records_still_flow(
    running: Running,
    make_topics: Any,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    topic = await edge_topic(make_topics, kafka_bootstrap)
    probe = Probe()
    await running(topic, probe)
    await produce(kafka_producer, topic, rec(0, "permanent"), rec(1), rec(2, lane="ord_0"))
    await probe.wait_for(lambda: len(probe.processed) == 2)
    await wait_committed(kafka_bootstrap, f"g-{unique_name}", topic, 3)

    (letter,) = await read_all(kafka_bootstrap, topic + ".dlq", 1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.key == b"sup_1"
    assert json.loads(letter.value) == rec(0, "permanent")
    assert headers["traceparent"] == "00-abc-def-01"
    assert headers["x-error-code"] == "UNMAPPED_PRODUCT"
    assert "record 0 is not mapped" in headers["x-error-message"]
    assert headers["x-original-topic"] == topic
    assert headers["x-original-partition"] == "0"
    assert headers["x-original-offset"] == "0"
    assert headers["x-attempts"] == "1"
    assert headers["x-failed-at"].startswith("20")


async def test_an_invalid_payload_is_dead_lettered_with_the_validation_reason(
    running: Running,
    make_topics: Any,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    topic = await edge_topic(make_topics, kafka_bootstrap)
    probe = Probe()
    await running(topic, probe)
    await produce(kafka_producer, topic, b"{not json", rec(1), rec(2, "skip"))
    await probe.wait_for(lambda: len(probe.processed) == 1)
    await wait_committed(kafka_bootstrap, f"g-{unique_name}", topic, 3)
    (letter,) = await read_all(kafka_bootstrap, topic + ".dlq", 1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.value == b"{not json"
    assert headers["x-error-code"] == "INVALID_EVENT"
    assert "value is not JSON" in headers["x-error-message"]


async def test_the_commit_never_passes_an_unfinished_record_and_an_abandoned_one_is_redelivered(
    running: Running,
    make_topics: Any,
    kafka_producer: AIOKafkaProducer,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    topic = await edge_topic(make_topics, kafka_bootstrap)
    first = Probe()
    runtime = await running(topic, first, shutdown_grace_s=0.1)
    await produce(kafka_producer, topic, rec(0), rec(1), rec(2, "block"), rec(3), rec(4))
    await first.wait_for(lambda: len(first.processed) == 4)  # 2 blocks, 3 and 4 finished around it
    await wait_committed(kafka_bootstrap, f"g-{unique_name}", topic, 2)
    # Stopping now abandons the blocked work: record 2 and, harmlessly, 3 and 4 come back.
    await running.stop(runtime)
    assert (await committed(kafka_bootstrap, f"g-{unique_name}", topic))[0] == 2

    second = Probe()
    second.release.set()
    await running(topic, second)
    await second.wait_for(lambda: len(second.processed) == 3)
    assert sorted(p["n"] for p in second.processed) == [2, 3, 4]
    await wait_committed(kafka_bootstrap, f"g-{unique_name}", topic, 5)


async def test_events_of_one_record_are_applied_in_order_while_others_run_concurrently(
    running: Running, make_topics: Any, kafka_producer: AIOKafkaProducer, kafka_bootstrap: str
) -> None:
    topic = await edge_topic(make_topics, kafka_bootstrap)
    probe = Probe()
    await running(topic, probe)
    payloads = [rec(n, lane=f"ord_{n % 3}") for n in range(30)]
    await produce(kafka_producer, topic, *payloads)
    await probe.wait_for(lambda: len(probe.processed) == 30)
    for lane in ("ord_0", "ord_1", "ord_2"):
        order = [p["n"] for p in probe.processed if p["lane"] == lane]
        assert order == sorted(order)
