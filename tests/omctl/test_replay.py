"""`omctl replay` against the embedded broker, with a probe service consuming as a real one would."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from omctl._kafka import partition_for_key

from .conftest import Cli, Probe, ProbeService, event

pytestmark = pytest.mark.integration

SUPPLIERS = ["sup_a", "sup_b", "sup_c", "sup_d"]


async def produce(producer: AIOKafkaProducer, topic: str, start: int, count: int) -> list[str]:
    ids = []
    for n in range(start, start + count):
        supplier = SUPPLIERS[n % len(SUPPLIERS)]
        key, value = event(supplier, n)
        await producer.send_and_wait(topic, value=value, key=key)
        ids.append(f"evt_{supplier}_{n}")
    return ids


Consumed = Callable[[str, int, int], Awaitable[tuple[str, Probe, list[str]]]]


@pytest.fixture
def consumed(
    kafka_producer: AIOKafkaProducer, make_topics, probe_service: ProbeService, mongo_db
) -> Consumed:
    """Starts the probe service on a new topic and has it handle `count` events (ids returned)."""

    async def consume(name: str, partitions: int, count: int) -> tuple[str, Probe, list[str]]:
        (topic,) = await make_topics(name, partitions=partitions)
        probe = Probe(mongo_db, mapped={"prd_1"})
        await probe_service.start(topic, probe)
        ids = await produce(kafka_producer, topic, 0, count)
        await probe.wait_for(lambda: len(probe.handled) == count)
        return topic, probe, ids

    return consume


async def test_partition_for_key_matches_the_producers_default_partitioner(
    kafka_producer: AIOKafkaProducer, make_topics
) -> None:
    (topic,) = await make_topics("omctl-part", partitions=5)
    for supplier in ["sup_a", "sup_7c1e", "sup_zz", "Café"]:
        sent = await kafka_producer.send_and_wait(topic, value=b"{}", key=supplier.encode())
        assert sent.partition == partition_for_key(supplier, 5)


async def test_replay_rereads_exactly_the_counted_records_and_creates_no_duplicates(
    cli: Cli, consumed: Consumed, probe_service: ProbeService, kafka_producer: AIOKafkaProducer, mongo_db
) -> None:
    topic, probe, before = await consumed("omctl-replay", 3, 12)
    await asyncio.sleep(0.01)  # the broker's write clock must move past the first batch
    cut = datetime.now(UTC)
    after = await produce(kafka_producer, topic, 12, 9)
    await probe.wait_for(lambda: len(probe.handled) == 21)
    await probe_service.stop()  # replay moves offsets only while the group has no members

    plan = await cli.json(
        "replay", topic, "--group", probe_service.group, "--at", cut.isoformat(), "--dry-run"
    )
    assert plan["plan"]["total"] == len(after)
    assert plan["dry_run"] is True
    assert sum(p["rereads"] for p in plan["plan"]["partitions"]) == len(after)

    done = await cli.json(
        "replay", topic, "--group", probe_service.group, "--at", cut.isoformat(), "--probe-members"
    )
    assert done["reset"] is True
    await probe_service.start(topic, probe)
    await probe.wait_for(lambda: len(probe.handled) == 21 + len(after))
    assert sorted(probe.handled[21:]) == sorted(after)
    assert await mongo_db["outcomes"].count_documents({}) == len(before) + len(after)
    await probe_service.stop()  # drains and commits
    lag = await cli.json("replay", topic, "--group", probe_service.group, "--offset", "0", "--dry-run")
    # everything re-read was committed again: the whole log is behind the group once more
    assert lag["plan"]["total"] == 21


async def test_replay_of_one_supplier_resets_only_its_partition(
    cli: Cli, consumed: Consumed, probe_service: ProbeService
) -> None:
    topic, _, _ = await consumed("omctl-replay-sup", 3, 16)
    await probe_service.stop()

    plan = await cli.json(
        "replay", topic, "--group", probe_service.group, "--offset", "0", "--supplier", "sup_b", "--dry-run"
    )
    parts = plan["plan"]["partitions"]
    assert [p["partition"] for p in parts] == [partition_for_key("sup_b", 3)]
    same_partition = [s for s in SUPPLIERS if partition_for_key(s, 3) == parts[0]["partition"]]
    assert plan["plan"]["total"] == 4 * len(same_partition)
    human = await cli(
        "replay", topic, "--group", probe_service.group, "--offset", "0", "--supplier", "sup_b", "--dry-run"
    )
    assert human.exit_code == 0, human.output
    assert f"would re-read {4 * len(same_partition)} record(s)" in human.stdout
    assert "Other suppliers on the same partition" in human.stdout


async def test_replay_refuses_to_move_offsets_while_the_group_has_members(
    cli: Cli, consumed: Consumed, probe_service: ProbeService
) -> None:
    topic, probe, _ = await consumed("omctl-replay-busy", 2, 4)

    result = await cli("replay", topic, "--group", probe_service.group, "--offset", "0")
    assert result.exit_code == 2
    assert "active member" in result.output
    plan = await cli.json("replay", topic, "--group", probe_service.group, "--offset", "0", "--dry-run")
    assert plan["plan"]["total"] == 4  # nothing was reset
    assert len(probe.handled) == 4


async def test_replay_via_replay_topic_republishes_one_suppliers_window_while_the_service_runs(
    cli: Cli, consumed: Consumed, probe_service: ProbeService, mongo_db
) -> None:
    topic, probe, ids = await consumed("omctl-replay-live", 2, 12)
    # the committer runs every 50 ms: wait until the group has committed everything
    for _ in range(100):
        plan = await cli.json("replay", topic, "--group", probe_service.group, "--offset", "0", "--dry-run")
        if plan["plan"]["total"] == 12:
            break
        await asyncio.sleep(0.05)

    result = await cli.json(
        "replay",
        topic,
        "--group",
        probe_service.group,
        "--offset",
        "0",
        "--supplier",
        "sup_c",
        "--via-replay-topic",
    )
    sup_c = [i for i in ids if i.startswith("evt_sup_c_")]
    assert result["republished"] == len(sup_c)
    await probe.wait_for(lambda: len(probe.handled) == 12 + len(sup_c))
    assert sorted(probe.handled[12:]) == sorted(sup_c)
    assert await mongo_db["outcomes"].count_documents({}) == 12


async def test_probing_members_still_refuses_while_a_live_member_holds_partitions(
    cli: Cli, consumed: Consumed, probe_service: ProbeService, kafka_producer: AIOKafkaProducer
) -> None:
    topic, probe, _ = await consumed("omctl-replay-probe", 2, 4)

    result = await cli("replay", topic, "--group", probe_service.group, "--offset", "0", "--probe-members")
    assert result.exit_code == 2
    assert "live member" in result.output
    await produce(kafka_producer, topic, 4, 2)  # the service still consumes after the probe left
    await probe.wait_for(lambda: len(probe.handled) == 6)
    assert len(set(probe.handled)) == 6


async def test_replay_finds_the_services_group_reading_the_topic(
    cli: Cli, consumed: Consumed, probe_service: ProbeService
) -> None:
    topic, _, _ = await consumed("omctl-replay-svc", 2, 5)
    await probe_service.stop()

    plan = await cli.json(
        "replay",
        topic,
        "--service",
        "stock_sync",
        "--offset",
        "0",
        "--dry-run",
        stock_sync_consumer_group=probe_service.group,
    )
    assert (plan["plan"]["group"], plan["plan"]["total"]) == (probe_service.group, 5)
    nobody = await cli("replay", topic, "--service", "finance_sync", "--offset", "0", "--dry-run")
    assert nobody.exit_code == 1
    assert "0 group(s) reading" in nobody.output


async def test_replay_refuses_an_offset_past_every_partitions_end_and_a_group_that_never_read_the_topic(
    cli: Cli, consumed: Consumed, probe_service: ProbeService
) -> None:
    topic, _, _ = await consumed("omctl-replay-bounds", 2, 3)
    await probe_service.stop()

    past = await cli("replay", topic, "--group", probe_service.group, "--offset", "50", "--dry-run")
    assert past.exit_code == 1
    assert "--offset 50 is outside every partition" in past.output
    typo = await cli("replay", topic, "--group", probe_service.group + "x", "--offset", "0", "--dry-run")
    assert typo.exit_code == 1
    assert "has never committed an offset" in typo.output
    plan = await cli.json("replay", topic, "--group", probe_service.group, "--offset", "0", "--dry-run")
    assert plan["plan"]["total"] == 3
