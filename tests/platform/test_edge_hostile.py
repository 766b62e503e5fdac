"""Hostile records at the Kafka edge, against the real broker: exactly one outcome each, no blocked partition.

The records come in as raw bytes (no framework decoding before the topic's decoder), whatever the
decoder raises becomes a dead letter, a dead letter too large for its topic is cut and still points
at the whole record, a dead letter that cannot be published holds up no other record, and a record
read again after it was dead-lettered is not dead-lettered twice.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from om_contracts import DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES, TRUNCATED_PART_BYTES, DeadLetterHeaders
from om_platform.adapters.kafka import DeadLetterOutcome
from om_platform.core.failures import InvalidEvent
from om_platform.core.records import Decoded, RecordContext, Skip
from om_platform.runtime import ServiceRuntime

from .edge_harness import Edge, Probe, produce, rec

pytestmark = pytest.mark.integration


def strict_decode(raw: bytes | None, ctx: RecordContext) -> Decoded[dict[str, Any]] | Skip:
    """Like the probe's decoder, but with the standard library's unbounded json: it raises what it raises."""
    if raw is not None and raw.startswith(b"A"):
        raise InvalidEvent("value is not JSON")
    payload = json.loads(raw or b"")  # RecursionError, ValueError (4,300 digits), UnicodeDecodeError...
    return Decoded(tenant=payload["tenant"], lane=payload["lane"], payload=payload)


def counted(runtime: ServiceRuntime, topic: str, outcome: str) -> float:
    value = runtime.metrics.registry.get_sample_value(
        "om_events_consumed_total", {"topic": topic, "outcome": outcome}
    )
    return value or 0.0


async def start(edge: Edge, probe: Probe, **overrides: Any) -> ServiceRuntime:
    """A runtime on the strict decoder, with its own database."""
    return await edge.start(
        probe,
        decoder=strict_decode,
        title="edge hostile test",
        mongodb_database=f"edge_{edge.name}",
        **overrides,
    )


async def test_records_that_break_framework_decoding_each_end_as_one_dead_letter_and_the_partition_flows(
    edge: Edge,
) -> None:
    topic = edge.topic
    probe = Probe()
    runtime = await start(edge, probe)
    hostile: list[tuple[bytes, list[tuple[str, bytes | None]]]] = [
        (b"[" * 10_000 + b"]" * 10_000, []),  # RecursionError inside json
        (b'{"n": ' + b"1" * 5000 + b"}", []),  # ValueError: exceeds the 4,300-digit limit
        (b"\xff\xfe\xfd", []),  # not UTF-8
        (b"{bad json", [("content-type", b"application/json")]),  # FastStream would json-decode this
        (
            json.dumps(rec(90)).encode(),
            [("traceparent", None), ("x-bin", b"\xff\xfe")],
        ),  # null, binary headers
        (b"", []),  # empty value
    ]
    for value, headers in hostile:
        await edge.producer.send_and_wait(topic, value, key=b"sup_1", headers=headers)
    await edge.produce(rec(1), rec(2))

    await probe.wait_for(lambda: {p["n"] for p in probe.processed} == {90, 1, 2})
    await edge.wait_committed(len(hostile) + 2)
    letters = await edge.dead_letters(len(hostile) - 1)
    by_offset = {int(dict(r.headers)["x-original-offset"]): r for r in letters}
    assert sorted(by_offset) == [0, 1, 2, 3, 5]
    reasons = {offset: dict(r.headers)["x-error-message"].decode() for offset, r in by_offset.items()}
    assert "RecursionError" in reasons[0]
    assert "4300" in reasons[1] or "digits" in reasons[1]
    assert "UnicodeDecodeError" in reasons[2]
    assert {dict(r.headers)["x-error-code"] for r in letters} == {b"INVALID_EVENT"}
    assert by_offset[0].value == hostile[0][0]  # byte for byte
    assert counted(runtime, topic, "processed") == 3
    assert counted(runtime, topic, "dead_lettered") == len(hostile) - 1


async def test_a_dead_letter_too_large_for_its_topic_is_cut_points_at_the_record_and_nothing_waits(
    edge: Edge,
) -> None:
    topic, kafka_bootstrap = edge.topic, edge.bootstrap
    probe = Probe()
    runtime = await start(edge, probe)
    big = b"A" * (DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES + 100_000)  # the embedded broker accepts it anyway
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=4 * len(big))
    await producer.start()
    try:
        await producer.send_and_wait(topic, big, key=b"sup_1")
        await produce(producer, topic, rec(1), b"A small invalid one", rec(2, lane="ord_1"))
    finally:
        await producer.stop()

    await probe.wait_for(lambda: [p["n"] for p in probe.processed] == [1, 2])
    await edge.wait_committed(4)
    letters = await edge.dead_letters(2)
    cut = next(r for r in letters if dict(r.headers)["x-original-offset"] == b"0")
    context = DeadLetterHeaders.from_kafka_headers(cut.headers)
    assert (context.original_topic, context.original_partition, context.original_offset) == (topic, 0, 0)
    assert (context.truncated, context.original_size) == ("value", len(big))
    assert cut.value == big[:TRUNCATED_PART_BYTES]
    assert cut.key == b"sup_1"
    outcomes = runtime.metrics.registry.get_sample_value(
        "om_dead_letters_total", {"topic": topic, "outcome": DeadLetterOutcome.TRUNCATED.value}
    )
    assert outcomes == 1
    assert runtime.metrics.registry.get_sample_value("om_paused_partitions", {"topic": topic}) in (None, 0)

    # The whole record is still where the letter says it is.
    reader = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        tp = TopicPartition(context.original_topic, context.original_partition)
        reader.assign([tp])
        reader.seek(tp, context.original_offset)
        [whole] = (await reader.getmany(tp, timeout_ms=5000, max_records=1))[tp]
        assert whole.value == big
    finally:
        await reader.stop()


async def test_a_dead_letter_the_broker_will_not_take_holds_only_its_own_offset(edge: Edge) -> None:
    topic = edge.topic
    probe = Probe()
    stuck = asyncio.Event()

    def refuse_offset_0(runtime: ServiceRuntime) -> None:
        publish = runtime.dead_letters.publish

        async def publish_except_offset_0(
            record: Any, value: bytes | None, **kwargs: Any
        ) -> DeadLetterOutcome:
            if record.offset == 0:
                await stuck.wait()  # the broker refuses this one until the test lets it through
            return await publish(record, value, **kwargs)

        runtime.dead_letters.publish = publish_except_offset_0  # type: ignore[method-assign]

    runtime = await start(edge, probe, limit=1, prepare=refuse_offset_0)
    await edge.produce(rec(0, "permanent", lane="ord_x"), b"A", rec(2, lane="ord_x"), rec(3))

    # Its lane (ord_x), its supplier's only slot and the next dead letter all went on without it.
    await probe.wait_for(lambda: sorted(p["n"] for p in probe.processed) == [2, 3])
    await edge.dead_letters(1)
    assert (await edge.committed()).get(0, 0) <= 0
    stuck.set()
    await edge.wait_committed(4)
    assert counted(runtime, topic, "dead_lettered") == 2


async def test_a_record_read_again_after_it_was_dead_lettered_is_not_dead_lettered_twice(edge: Edge) -> None:
    topic, kafka_bootstrap = edge.topic, edge.bootstrap
    first = await start(edge, Probe())
    await edge.produce(b"A not json", rec(1))
    await edge.wait_committed(2)
    await edge.stop(first)
    # A replay: the group is moved back to the start (what `omctl replay` does to a stopped group).
    rewind = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=edge.group,
        enable_auto_commit=False,
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await rewind.start()
    try:
        while not rewind.assignment():  # joining the group is how an outsider may commit for it
            await rewind.getmany(timeout_ms=100, max_records=1)
        await rewind.commit({TopicPartition(topic, 0): 0})
    finally:
        await rewind.stop()

    probe = Probe()
    again = await start(edge, probe)
    await probe.wait_for(lambda: [p["n"] for p in probe.processed] == [1])
    await edge.wait_committed(2)
    already = again.metrics.registry.get_sample_value(
        "om_dead_letters_total", {"topic": topic, "outcome": DeadLetterOutcome.ALREADY.value}
    )
    assert already == 1
    letters = await edge.dead_letters(1)
    assert len(letters) == 1
