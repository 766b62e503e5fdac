"""The pytest fixtures give working, isolated Kafka and Mongo resources to tests."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo.asynchronous.database import AsyncDatabase

from om_devstack.pytest_plugin import MakeTopics

pytestmark = pytest.mark.integration


async def test_a_record_with_key_and_headers_makes_the_round_trip_through_the_broker(
    kafka_bootstrap: str, make_topics: MakeTopics, kafka_producer: AIOKafkaProducer, unique_name: str
) -> None:
    (topic,) = await make_topics("roundtrip", partitions=2)
    await kafka_producer.send_and_wait(topic, b"payload", key=b"supplier-1", headers=[("event_id", b"e-1")])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"g-{unique_name}",
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"supplier-1", b"payload")
    assert list(record.headers) == [("event_id", b"e-1")]


async def test_make_topics_creates_unique_topics_with_the_requested_partitions(
    kafka_bootstrap: str, make_topics: MakeTopics, unique_name: str
) -> None:
    names = await make_topics("orders", "stock", partitions=3)
    assert names == [f"orders-{unique_name}", f"stock-{unique_name}"]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    assert {t["topic"]: len(t["partitions"]) for t in described} == dict.fromkeys(names, 3)


async def test_an_upsert_in_the_per_test_database_can_be_read_back(
    mongo_db: AsyncDatabase[Any],
) -> None:
    ledger = mongo_db["ledger"]
    await ledger.update_one({"_id": "o-1"}, {"$set": {"state": "synced"}}, upsert=True)
    await ledger.update_one({"_id": "o-1"}, {"$set": {"state": "failed"}}, upsert=True)
    assert await ledger.find_one({"_id": "o-1"}) == {"_id": "o-1", "state": "failed"}
    assert await ledger.count_documents({}) == 1


async def test_each_test_gets_a_database_of_its_own(mongo_db: AsyncDatabase[Any], unique_name: str) -> None:
    assert mongo_db.name == f"test_{unique_name}"
    assert await mongo_db["ledger"].count_documents({}) == 0
