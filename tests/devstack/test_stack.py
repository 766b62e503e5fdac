"""EmbeddedStack starts answering servers quickly, creates topics, and stops without leftovers."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pymongo import AsyncMongoClient

from om_devstack import EmbeddedStack, StartupError, alive
from om_devstack._probes import free_port
from om_devstack._watch import listening_ports
from om_devstack.stack import TopicLike

pytestmark = pytest.mark.integration


async def _describe(bootstrap: str, names: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = await admin.describe_topics(names)
        configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    finally:
        await admin.close()
    partitions = {t["topic"]: len(t["partitions"]) for t in topics}
    policy = dict.fromkeys(names, "delete")
    for response in configs:
        for resource in response.resources:
            for entry in resource[4]:
                if entry[0] == "cleanup.policy":
                    policy[resource[3]] = entry[1]
    return partitions, policy


async def _mongo_ping(url: str) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        return await client.admin.command("ping")
    finally:
        await client.close()


async def test_the_stack_starts_within_ten_seconds_with_topics_and_stops_its_children() -> None:
    began = time.monotonic()
    stack = EmbeddedStack(topics=[("orders", 3, False), ("suppliers", 2, True)])
    async with stack:
        elapsed = time.monotonic() - began
        pids = stack.pids()
        workdir = stack.workdir
        partitions, policy = await _describe(stack.kafka_bootstrap, ["orders", "suppliers"])
        assert (await _mongo_ping(stack.mongo_url))["ok"] == 1.0
    assert elapsed < 10, f"stack took {elapsed:.1f} s"
    assert partitions == {"orders": 3, "suppliers": 2}
    assert policy == {"orders": "delete", "suppliers": "compact"}
    assert set(pids) == {"kafka", "mongo"}
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert not workdir.exists()


async def test_mongo_data_in_a_directory_survives_a_kill_and_restart(tmp_path: Path) -> None:
    async with EmbeddedStack(kafka=False, mongo_path=tmp_path, mongo_sync_on_commit=True) as stack:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_url)
        await client.db.ledger.insert_one({"_id": "o-1", "state": "synced"})
        await client.close()
        old_pid = stack.pids()["mongo"]
        url = stack.mongo_url

        await stack.restart_mongo()

        assert not alive(old_pid)
        assert stack.mongo_url == url
        client = AsyncMongoClient(stack.mongo_url)
        try:
            assert await client.db.ledger.find_one({"_id": "o-1"}) == {
                "_id": "o-1",
                "state": "synced",
            }
        finally:
            await client.close()


async def test_a_restarted_broker_answers_on_the_same_address() -> None:
    async with EmbeddedStack(mongo=False) as stack:
        before = stack.kafka_bootstrap
        old_pid = stack.pids()["kafka"]
        await stack.restart_kafka()
        assert not alive(old_pid)
        assert stack.kafka_bootstrap == before
        assert await stack.create_topics([("after-restart", 2, False)]) == ["after-restart"]


async def test_a_server_that_cannot_start_raises_with_the_tail_of_its_log() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stack = EmbeddedStack(kafka=False)
        stack._ports["mongo"] = taken.getsockname()[1]  # force a port clash
        with pytest.raises(StartupError) as info:
            await stack.astart()
    message = str(info.value)
    assert "mongo failed to start" in message
    assert "last lines of its log" in message
    assert message.rstrip().splitlines()[-1].strip()  # the log tail is not empty
    assert stack.pids() == {}


async def test_records_and_committed_offsets_survive_a_broker_kill_with_s3_storage() -> None:
    async with EmbeddedStack(mongo=False, kafka_storage="s3", topics=[("ledger", 1, False)]) as s:
        producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            for n in range(3):
                await producer.send_and_wait("ledger", f"v{n}".encode(), key=b"k")
        finally:
            await producer.stop()
        tp = TopicPartition("ledger", 0)
        consumer = _consumer(s.kafka_bootstrap)
        await consumer.start()
        try:
            consumer.assign([tp])
            await consumer.commit({tp: 2})
        finally:
            await consumer.stop()
        old_pid = s.pids()["kafka"]

        await s.restart_kafka()  # SIGKILL, then start on the same port and bucket

        assert not alive(old_pid)
        consumer = _consumer(s.kafka_bootstrap)
        await consumer.start()
        try:
            assert await consumer.committed(tp) == 2
            consumer.assign([tp])
            consumer.seek(tp, 0)
            records = await consumer.getmany(tp, timeout_ms=5000)
        finally:
            await consumer.stop()
        assert [r.value for r in records[tp]] == [b"v0", b"v1", b"v2"]


def _consumer(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id="ledger-readers",
        enable_auto_commit=False,
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )


@dataclass(frozen=True)
class _RegistryTopic:
    name: str
    partitions: int
    compacted: bool


async def test_topics_can_be_given_as_names_tuples_or_registry_entries() -> None:
    topics: list[TopicLike] = ["plain", ("tupled", 2, False), _RegistryTopic("registered", 4, True)]
    async with EmbeddedStack(mongo=False, topics=topics) as stack:
        partitions, policy = await _describe(stack.kafka_bootstrap, ["plain", "tupled", "registered"])
    assert partitions == {"plain": 1, "tupled": 2, "registered": 4}
    assert policy == {"plain": "delete", "tupled": "delete", "registered": "compact"}


_SYNC_SCRIPT = """
import json
from om_devstack import EmbeddedStack
stack = EmbeddedStack(mongo=False, topics=[("sync", 2, False)])
stack.start()
pids = stack.pids()
stack.stop()
print(json.dumps(pids))
"""


async def test_the_synchronous_start_and_stop_work_outside_an_event_loop() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SYNC_SCRIPT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    pids = json.loads(out)
    assert set(pids) == {"kafka"}
    assert not alive(pids["kafka"])


async def test_a_port_taken_by_another_server_is_never_mistaken_for_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with EmbeddedStack(kafka=False) as stranger:
        taken = int(stranger.mongo_url.split(":")[2].split("/")[0])
        choices = iter([taken])
        monkeypatch.setattr("om_devstack.stack.free_port", lambda: next(choices, None) or free_port())

        async with EmbeddedStack(kafka=False) as ours:
            assert ours.mongo_url != stranger.mongo_url
            ports = listening_ports(ours.pids()["mongo"])
            assert ports is not None
            assert int(ours.mongo_url.split(":")[2].split("/")[0]) in ports
