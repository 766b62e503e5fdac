"""omctl refuses what does not exist in one line with a non-zero exit, and never waits unbounded
(issue 23 finding 5): an offset past the end, an unknown topic, partition or supplier (replay's
refusals are in test_replay.py).

Run against the embedded stack. The commands that used to hang run in a subprocess whose timeout
is the test's guard: on the old code `dlq show <topic>/0/<past the end>` polled until killed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from om_contracts import dead_letter_topic
from om_devstack.stack import create_topics

from .conftest import Cli, event
from .test_operator_experience import omctl, one_error_line

pytestmark = pytest.mark.integration

GUARD_S = 90  # the subprocess is killed (and the test fails) past this: the old code never returned


@pytest.fixture
async def dead_letter(make_topics, kafka_bootstrap: str, kafka_producer: AIOKafkaProducer) -> str:
    """A dead-letter topic holding one letter at offset 0; returns its name."""
    (topic,) = await make_topics("omctl-bounds")
    dlq = dead_letter_topic(topic)
    await create_topics(kafka_bootstrap, [dlq])
    key, value = event("sup_b", 1)
    await kafka_producer.send_and_wait(dlq, value=value, key=key, headers=[("x-error-code", b"UNMAPPED")])
    return dlq


async def test_dlq_show_past_the_log_end_is_refused_with_the_range_instead_of_waiting(
    cli: Cli, dead_letter: str
) -> None:
    result = await asyncio.to_thread(omctl, "dlq", "show", f"{dead_letter}/0/5", env=cli.env, timeout=GUARD_S)
    line = one_error_line(result)
    assert f"no dead letter at {dead_letter}/0/5" in line
    assert "offsets 0 to 0" in line
    shown = await cli.json("dlq", "show", f"{dead_letter}/0/0")  # the one that exists still shows
    assert shown["code"] == "UNMAPPED"


async def test_dlq_show_of_an_unknown_topic_or_partition_is_one_line(cli: Cli, dead_letter: str) -> None:
    missing = await asyncio.to_thread(omctl, "dlq", "show", "nope.v1.dlq/0/0", env=cli.env, timeout=GUARD_S)
    assert "topic 'nope.v1.dlq' does not exist" in one_error_line(missing)
    partition = await asyncio.to_thread(
        omctl, "dlq", "show", f"{dead_letter}/7/0", env=cli.env, timeout=GUARD_S
    )
    assert "has no partition 7 (its partitions are 0 to 0)" in one_error_line(partition)
    not_dlq = await cli("dlq", "show", f"{dead_letter.removesuffix('.dlq')}/0/0")
    assert not_dlq.exit_code == 1
    assert "is not a dead-letter topic" in not_dlq.output


async def test_dlq_show_garbage_keeps_the_quotes_of_what_was_given(cli: Cli) -> None:
    result = await cli("dlq", "show", "garbage")
    assert result.exit_code == 1
    assert "'garbage' is not <dlq topic>/<partition>/<offset>" in result.output


async def test_dlq_list_of_a_named_topic_that_does_not_exist_is_refused(cli: Cli, dead_letter: str) -> None:
    result = await cli("dlq", "list", "--topic", "nope.v1.dlq")
    assert result.exit_code == 1
    assert "topic 'nope.v1.dlq' does not exist" in result.output
    listed = await cli.json("dlq", "list", "--topic", dead_letter)
    assert listed["count"] == 1


@pytest.fixture
async def service_dbs(mongo_url: str, unique_name: str):
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        yield {name: client[f"{name.split('_')[0]}_{unique_name}"] for name in ("order_sync", "stock_sync")}
    finally:
        for db in ("order", "stock", "finance", "ops"):
            await client.drop_database(f"{db}_{unique_name}")
        await client.close()


@pytest.mark.parametrize(
    "command",
    [
        ("resync",),
        ("run", "stock"),
        ("run", "catalog"),
        ("run", "finance"),
        ("cursor", "rewind", "--service", "finance_sync", "--job", "stock", "--to", "2026-11-24T00:00:00Z"),
        ("mappings", "export"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
async def test_a_command_for_an_unknown_supplier_is_refused_and_queues_nothing(
    cli: Cli, service_dbs, command: tuple[str, ...]
) -> None:
    await service_dbs["stock_sync"]["integrations"].insert_one({"_id": "sup_known", "status": "configured"})
    result = await cli(*command, "--supplier", "sup_typo")
    assert result.exit_code == 1, result.output
    assert "no supplier 'sup_typo'" in result.output
    for db in service_dbs.values():
        assert await db["operator_commands"].count_documents({}) == 0


async def test_mappings_import_for_an_unknown_supplier_writes_nothing(
    cli: Cli, service_dbs, tmp_path
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("kind,ordermentum_id,netsuite_id\nproduct,prd_1,10\n")
    result = await cli("mappings", "import", str(path), "--supplier", "sup_typo")
    assert result.exit_code == 1
    assert "no supplier 'sup_typo' in any service's database" in result.output
    assert await service_dbs["order_sync"]["mappings"].count_documents({}) == 0
