"""`omctl dlq` against dead letters written by the platform's own Kafka edge."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from om_contracts import DeadLetterHeaders, dead_letter_topic
from om_devstack.stack import create_topics
from om_platform.adapters.kafka import DeadLetterPolicy

from .conftest import Cli, Probe, ProbeService, event

pytestmark = pytest.mark.integration

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def dead_letters(cli: Cli, dlq: str, expected: int, *args: str) -> dict:
    for _ in range(200):
        listed = await cli.json("dlq", "list", "--topic", dlq, *args)
        if listed["count"] >= expected:
            return listed
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected} dead letters, saw {listed}")


Topics = Callable[[str], Awaitable[tuple[str, str]]]


@pytest.fixture
def topics(make_topics, kafka_bootstrap: str) -> Topics:
    """Creates a topic and its dead-letter topic; returns both names."""

    async def create(name: str) -> tuple[str, str]:
        (topic,) = await make_topics(name)
        dlq = dead_letter_topic(topic)
        await create_topics(kafka_bootstrap, [dlq])
        return topic, dlq

    return create


async def records_of(bootstrap: str, topic: str) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        await consumer.seek_to_beginning(tp)
        out = []
        while len(out) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            out.extend(batch.get(tp, []))
        return out
    finally:
        await consumer.stop()


async def test_redrive_sends_the_selected_dead_letters_back_with_their_key_and_they_are_processed(
    cli: Cli,
    kafka_bootstrap: str,
    kafka_producer: AIOKafkaProducer,
    topics: Topics,
    probe_service: ProbeService,
    mongo_db,
) -> None:
    topic, dlq = await topics("omctl-dlq")
    probe = Probe(mongo_db, mapped={"prd_1"})
    await probe_service.start(topic, probe)
    for supplier, n, product in [
        ("sup_a", 0, "prd_1"),
        ("sup_a", 1, "prd_x"),
        ("sup_a", 2, "prd_x"),
        ("sup_b", 3, "prd_x"),
    ]:
        key, value = event(supplier, n, product)
        await kafka_producer.send_and_wait(
            topic, value=value, key=key, headers=[("traceparent", TRACEPARENT)]
        )
    await probe.wait_for(lambda: len(probe.handled) == 1)

    listed = await dead_letters(cli, dlq, 3)
    assert {(d["supplier_id"], d["code"]) for d in listed["dead_letters"]} == {
        ("sup_a", "UNMAPPED_PRODUCT"),
        ("sup_b", "UNMAPPED_PRODUCT"),
    }
    shown = await cli.json("dlq", "show", listed["dead_letters"][0]["ref"])
    assert shown["payload"]["event_id"] == listed["dead_letters"][0]["event_id"]
    assert shown["headers"]["traceparent"] == TRACEPARENT.decode()
    assert "is not mapped" in shown["message"]

    dry = await cli.json(
        "dlq", "redrive", "--topic", dlq, "--supplier", "sup_a", "--code", "UNMAPPED_PRODUCT", "--dry-run"
    )
    assert (dry["selected"], dry["redriven"]) == (2, 0)

    probe.mapped.add("prd_x")  # the operator fixed the mapping
    done = await cli.json(
        "dlq", "redrive", "--topic", dlq, "--supplier", "sup_a", "--code", "UNMAPPED_PRODUCT"
    )
    assert done["redriven"] == 2
    await probe.wait_for(lambda: len(probe.handled) == 3)
    assert sorted(probe.handled[1:]) == ["evt_sup_a_1", "evt_sup_a_2"]
    assert await mongo_db["outcomes"].count_documents({"supplier_id": "sup_a"}) == 3

    redriven = [r for r in await records_of(kafka_bootstrap, topic) if dict(r.headers).get("x-redriven-from")]
    assert [r.key for r in redriven] == [b"sup_a", b"sup_a"]
    for record in redriven:
        headers = dict(record.headers)
        assert headers["traceparent"] == TRACEPARENT
        assert not any(name.startswith(("x-error", "x-original")) for name in headers)

    remaining = await cli.json("dlq", "list", "--topic", dlq)
    assert [d["supplier_id"] for d in remaining["dead_letters"]] == ["sup_b"]
    table = await cli("dlq", "list", "--topic", dlq)
    assert table.exit_code == 0, table.output
    assert "1 dead letter(s)" in table.stdout
    assert "UNMAPPED_PRODUCT" in table.stdout
    shown = await cli("dlq", "show", remaining["dead_letters"][0]["ref"])
    assert shown.exit_code == 0, shown.output
    assert "evt_sup_b_3" in shown.stdout
    again = await cli.json("dlq", "redrive", "--topic", dlq, "--supplier", "sup_a")
    assert again["redriven"] == 0  # already redriven letters are not sent twice
    everything = await cli.json("dlq", "list", "--topic", dlq, "--all")
    assert sorted(d["resolved"] or "" for d in everything["dead_letters"]) == ["", "redriven", "redriven"]


async def test_purge_asks_for_confirmation_and_hides_the_purged_letters(
    cli: Cli,
    kafka_producer: AIOKafkaProducer,
    topics: Topics,
    probe_service: ProbeService,
    mongo_db,
) -> None:
    topic, dlq = await topics("omctl-purge")
    probe = Probe(mongo_db, mapped=set())
    await probe_service.start(topic, probe)
    for n in range(2):
        key, value = event("sup_p", n, "prd_x")
        await kafka_producer.send_and_wait(topic, value=value, key=key)
    await dead_letters(cli, dlq, 2)

    declined = await cli("dlq", "purge", "--topic", dlq, input="n\n")
    assert declined.exit_code == 1
    assert (await cli.json("dlq", "list", "--topic", dlq))["count"] == 2

    confirmed = await cli("dlq", "purge", "--topic", dlq, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "purged 2" in confirmed.stdout
    assert (await cli.json("dlq", "list", "--topic", dlq))["count"] == 0
    assert (await cli.json("dlq", "redrive", "--topic", dlq))["redriven"] == 0


async def test_letters_sharing_a_dead_letter_id_show_once_and_are_resolved_together(
    cli: Cli, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer, topics: Topics
) -> None:
    topic, dlq = await topics("omctl-dup")
    key, value = event("sup_d", 0, "prd_x")
    context = DeadLetterHeaders(
        error_code="UNMAPPED_PRODUCT",
        error_message="product prd_x is not mapped",
        original_topic=topic,
        original_partition=0,
        original_offset=0,
        attempts=1,
        failed_at=datetime.now(UTC),
        dead_letter_id="0123456789abcdef0123456789abcdef",
        consumer_group="om.probe",
    )
    for _ in range(2):  # a crash between publishing and remembering let a second copy through
        await kafka_producer.send_and_wait(dlq, value=value, key=key, headers=context.to_kafka_headers())

    [letter] = (await dead_letters(cli, dlq, 1))["dead_letters"]
    assert (letter["copies"], letter["dead_letter_id"], letter["consumer_group"]) == (
        1,
        "0123456789abcdef0123456789abcdef",
        "om.probe",
    )
    assert (await cli.json("dlq", "redrive", "--topic", dlq))["redriven"] == 1
    assert (await cli.json("dlq", "list", "--topic", dlq))["count"] == 0
    [resolved] = (await cli.json("dlq", "list", "--topic", dlq, "--all"))["dead_letters"]
    assert resolved["resolved"] == "redriven"
    redriven = [r for r in await records_of(kafka_bootstrap, topic) if dict(r.headers).get("x-redriven-from")]
    assert len(redriven) == 1


async def test_a_cut_letter_is_redriven_whole_from_its_original_record(
    cli: Cli,
    kafka_bootstrap: str,
    kafka_producer: AIOKafkaProducer,
    topics: Topics,
    probe_service: ProbeService,
    mongo_db,
) -> None:
    topic, dlq = await topics("omctl-cut")
    probe = Probe(mongo_db, mapped=set())
    # a dead-letter topic that takes less than its source (misconfigured): the letter must be cut
    await probe_service.start(topic, probe, DeadLetterPolicy(attempts=1, max_request_bytes=100_000))
    body = {"event_id": "evt_big", "supplier_id": "sup_c", "product": "prd_x", "n": 0, "pad": "P" * 300_000}
    whole = json.dumps(body).encode()
    await kafka_producer.send_and_wait(topic, value=whole, key=b"sup_c")

    [letter] = (await dead_letters(cli, dlq, 1))["dead_letters"]
    assert (letter["truncated"], letter["original_size"]) == ("value", str(len(whole)))
    probe.mapped.add("prd_x")  # the operator fixed the mapping
    assert (await cli.json("dlq", "redrive", "--topic", dlq))["redriven"] == 1
    await probe.wait_for(lambda: probe.handled == ["evt_big"])
    [again] = [r for r in await records_of(kafka_bootstrap, topic) if dict(r.headers).get("x-redriven-from")]
    assert again.value == whole


async def test_a_cut_letter_whose_original_is_gone_is_named_left_unresolved_and_the_exit_is_non_zero(
    cli: Cli, kafka_producer: AIOKafkaProducer, topics: Topics
) -> None:
    topic, dlq = await topics("omctl-gone")
    # a cut letter pointing at an offset its (empty) source no longer holds: retention removed it
    headers = [
        ("x-error-code", b"UNMAPPED_PRODUCT"),
        ("x-truncated", b"value"),
        ("x-original-topic", topic.encode()),
        ("x-original-partition", b"0"),
        ("x-original-offset", b"7"),
    ]
    await kafka_producer.send_and_wait(dlq, value=b"{}", key=b"sup_g", headers=headers)

    result = await cli("dlq", "redrive", "--topic", dlq)
    assert result.exit_code == 1, result.output
    assert "the letter was cut and its original record is gone" in result.output
    assert "1 of 1 dead letter(s) not redriven" in result.output
    assert (await dead_letters(cli, dlq, 1))["count"] == 1  # still listed: nothing was resolved
