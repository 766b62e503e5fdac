"""The Kafka edge against a real Kafka-protocol broker and Mongo-protocol server.

Each test runs a ServiceRuntime (FastStream app, MANUAL acks, lanes, committer, dead letters)
and checks what a finance team relies on: transient failures are retried until they clear,
permanent ones are dead-lettered with their context while the partition keeps flowing, and
nothing is committed before its effect is done.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from om_platform.adapters.kafka import DECODE_INLINE_BYTES
from om_platform.core.records import Decoded, RecordContext, Skip

from .edge_harness import Edge, Probe, decode, rec

pytestmark = pytest.mark.integration


async def test_a_transient_failure_is_retried_until_the_fault_clears_and_processed_once(edge: Edge) -> None:
    probe = Probe(fault=True)
    await edge.start(probe)
    await edge.produce(rec(0, "transient"))
    await asyncio.wait_for(probe.attempted.wait(), 20)
    while probe.attempts[0] < 3:
        probe.attempted.clear()
        await asyncio.wait_for(probe.attempted.wait(), 20)
    probe.fault = False
    await probe.wait_for(lambda: len(probe.processed) == 1)
    await edge.wait_committed(1)
    assert probe.attempts[0] >= 3
    assert [p["n"] for p in probe.processed] == [0]


async def test_a_transient_failure_survives_a_consumer_restart_and_is_processed_after(edge: Edge) -> None:
    first = Probe(fault=True)
    runtime = await edge.start(first, shutdown_grace_s=0.2)
    await edge.produce(rec(0, "transient"), rec(1))
    await first.wait_for(lambda: [p["n"] for p in first.processed] == [1])
    await edge.stop(runtime)  # the failing record is abandoned, not committed
    assert (await edge.committed()).get(0, -1) <= 0

    second = Probe(fault=False)
    await edge.start(second)
    await second.wait_for(lambda: 0 in [p["n"] for p in second.processed])
    await edge.wait_committed(2)


async def test_a_permanent_failure_is_dead_lettered_with_context_and_later_records_still_flow(
    edge: Edge,
) -> None:
    probe = Probe()
    await edge.start(probe)
    await edge.produce(rec(0, "permanent"), rec(1), rec(2, lane="ord_0"))
    await probe.wait_for(lambda: len(probe.processed) == 2)
    await edge.wait_committed(3)

    (letter,) = await edge.dead_letters(1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.key == b"sup_1"
    assert json.loads(letter.value) == rec(0, "permanent")
    assert headers["traceparent"] == "00-abc-def-01"
    assert headers["x-error-code"] == "UNMAPPED_PRODUCT"
    assert "record 0 is not mapped" in headers["x-error-message"]
    assert headers["x-original-topic"] == edge.topic
    assert headers["x-original-partition"] == "0"
    assert headers["x-original-offset"] == "0"
    assert headers["x-attempts"] == "1"
    assert headers["x-failed-at"].startswith("20")


async def test_an_invalid_payload_is_dead_lettered_with_the_validation_reason(edge: Edge) -> None:
    probe = Probe()
    await edge.start(probe)
    await edge.produce(b"{not json", rec(1), rec(2, "skip"))
    await probe.wait_for(lambda: len(probe.processed) == 1)
    await edge.wait_committed(3)
    (letter,) = await edge.dead_letters(1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.value == b"{not json"
    assert headers["x-error-code"] == "INVALID_EVENT"
    assert "value is not JSON" in headers["x-error-message"]


async def test_the_commit_never_passes_an_unfinished_record_and_an_abandoned_one_is_redelivered(
    edge: Edge,
) -> None:
    first = Probe()
    runtime = await edge.start(first, shutdown_grace_s=0.1)
    await edge.produce(rec(0), rec(1), rec(2, "block"), rec(3), rec(4))
    await first.wait_for(lambda: len(first.processed) == 4)  # 2 blocks, 3 and 4 finished around it
    await edge.wait_committed(2)
    # Stopping now abandons the blocked work: record 2 and, harmlessly, 3 and 4 come back.
    await edge.stop(runtime)
    assert (await edge.committed())[0] == 2

    second = Probe()
    second.release.set()
    await edge.start(second)
    await second.wait_for(lambda: len(second.processed) == 3)
    assert sorted(p["n"] for p in second.processed) == [2, 3, 4]
    await edge.wait_committed(5)


async def test_events_of_one_record_are_applied_in_order_while_others_run_concurrently(edge: Edge) -> None:
    probe = Probe()
    await edge.start(probe)
    payloads = [rec(n, lane=f"ord_{n % 3}") for n in range(30)]
    await edge.produce(*payloads)
    await probe.wait_for(lambda: len(probe.processed) == 30)
    for lane in ("ord_0", "ord_1", "ord_2"):
        order = [p["n"] for p in probe.processed if p["lane"] == lane]
        assert order == sorted(order)


async def _dead_letters_in(edge: Edge) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=edge.bootstrap, group_id=None)
    await consumer.start()
    try:
        tp = TopicPartition(edge.topic + ".dlq", 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def test_a_revoked_partition_stops_its_retrying_record_and_its_new_owner_processes_it(
    edge: Edge,
) -> None:
    # Issue 23: on revoke the edge used to wait for the partition's jobs, so a record retrying on
    # the old owner ran out of retries there and was dead-lettered instead of reaching the new one.
    retrying = Probe(fault=True)
    old = await edge.start(retrying, service_name="edge-z-old", retry_max_elapsed_s=2.0)
    await edge.produce(rec(1, "transient"))
    await asyncio.wait_for(retrying.attempted.wait(), 20)

    owner = Probe()  # consumers sort by member id, which starts with the client id: this one first
    await edge.start(owner, service_name="edge-a-new")
    await owner.wait_for(lambda: [p["n"] for p in owner.processed] == [1], timeout=30)

    [consumer] = old.consumers
    assert consumer.jobs_running == 0  # nothing of the revoked partition still runs on the old owner
    assert retrying.processed == []
    await edge.wait_committed(1)
    assert await _dead_letters_in(edge) == 0


async def test_a_large_value_is_decoded_off_the_event_loop_and_a_small_one_on_it(edge: Edge) -> None:
    threads: dict[int, bool] = {}

    def decoder(raw: bytes | None, ctx: RecordContext) -> Decoded[dict[str, Any]] | Skip:
        decoded = decode(raw, ctx)
        threads[ctx.offset] = threading.current_thread() is threading.main_thread()
        return decoded

    probe = Probe()
    await edge.start(probe, decoder=decoder)
    await edge.produce(rec(0), {**rec(1), "pad": "P" * (DECODE_INLINE_BYTES + 1)})
    await probe.wait_for(lambda: len(probe.processed) == 2)
    assert threads == {0: True, 1: False}  # the loop runs in the main thread here
