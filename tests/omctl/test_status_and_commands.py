"""`omctl status` JSON shape, and operator commands queued in a service's `operator_commands`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from .conftest import Cli, Probe, ProbeService, event, known

pytestmark = pytest.mark.integration


@pytest.fixture
async def service_dbs(mongo_url: str, unique_name: str):
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        yield {
            name: client[f"{name.split('_')[0]}_{unique_name}"]
            for name in ("order_sync", "stock_sync", "finance_sync")
        }
    finally:
        for db in ("order", "stock", "finance", "ops"):
            await client.drop_database(f"{db}_{unique_name}")
        await client.close()


async def test_status_reports_ledgers_failures_cursors_and_consumer_lag_as_json(
    cli: Cli,
    service_dbs,
    kafka_producer: AIOKafkaProducer,
    make_topics,
    probe_service: ProbeService,
    mongo_db,
) -> None:
    now = datetime.now(UTC)
    order = service_dbs["order_sync"]
    await order["integrations"].insert_one({"_id": "sup_s", "status": "configured", "settings": {}})
    await order["ledger"].insert_many(
        [
            {"_id": "1", "supplier_id": "sup_s", "status": "synced", "updated_at": now},
            {"_id": "2", "supplier_id": "sup_s", "status": "synced", "updated_at": now},
            {
                "_id": "3",
                "supplier_id": "sup_s",
                "status": "failed",
                "last_error": {"code": "UNMAPPED_PRODUCT"},
                "updated_at": now,
            },
        ]
    )
    await service_dbs["finance_sync"]["cursors"].insert_one(
        {"_id": "sup_s:paid_invoices", "supplier_id": "sup_s", "job": "paid_invoices", "position": now}
    )
    (topic,) = await make_topics("omctl-status", partitions=2)
    probe = Probe(mongo_db, mapped={"prd_1"})
    await probe_service.start(topic, probe)
    for n in range(3):
        key, value = event("sup_s", n)
        await kafka_producer.send_and_wait(topic, value=value, key=key)
    await probe.wait_for(lambda: len(probe.handled) == 3)
    await probe_service.stop()

    human = await cli("status", "--supplier", "sup_s", "--group-prefix", probe_service.group)
    assert human.exit_code == 0, human.output
    assert "UNMAPPED_PRODUCT=1" in human.stdout
    report = await cli.json("status", "--supplier", "sup_s", "--group-prefix", probe_service.group)
    order_view = report["suppliers"]["sup_s"]["order_sync"]
    assert order_view["integration"] == "configured"
    ledger = order_view["flows"]["ledger"]
    assert ledger["counts"] == {"synced": 2, "failed": 1}
    assert ledger["failures_by_code"] == {"UNMAPPED_PRODUCT": 1}
    assert ledger["last_success"] is not None
    cursors = report["suppliers"]["sup_s"]["finance_sync"]["cursors"]
    assert [(c["collection"], c["job"]) for c in cursors] == [("cursors", "paid_invoices")]
    assert report["consumer_lag"] == [
        {
            "group": probe_service.group,
            "topic": topic,
            "state": report["consumer_lag"][0]["state"],
            "members": report["consumer_lag"][0]["members"],
            "lag": 0,
            "committed": 3,
            "end": 3,
        }
    ]


async def test_resync_queues_a_command_the_service_claims_and_the_cli_reports_its_result(
    cli: Cli, service_dbs
) -> None:
    await known(service_dbs["order_sync"], "sup_r")
    commands = service_dbs["order_sync"]["operator_commands"]

    async def service_side() -> None:
        # what the service's poller does: claim the pending command, run it, record the result
        for _ in range(200):
            claimed = await commands.find_one_and_update(
                {"status": "pending"}, {"$set": {"status": "running", "claimed_by": "test"}}
            )
            if claimed:
                await commands.update_one(
                    {"_id": claimed["_id"]},
                    {"$set": {"status": "done", "result": {"resynced": 2, "args": claimed["args"]}}},
                )
                return
            await asyncio.sleep(0.05)

    worker = asyncio.create_task(service_side())
    result = await cli.json("resync", "--supplier", "sup_r", "--code", "UNMAPPED_PRODUCT", "--wait", "20")
    await worker
    assert result["status"] == "done"
    assert result["command"] == "resync"
    assert result["supplier_id"] == "sup_r"
    assert result["result"] == {"resynced": 2, "args": {"code": "UNMAPPED_PRODUCT"}}


async def test_run_and_cursor_rewind_only_queue_when_not_asked_to_wait(cli: Cli, service_dbs) -> None:
    await known(service_dbs["stock_sync"], "sup_q")
    await known(service_dbs["finance_sync"], "sup_q")
    await cli.json("run", "stock", "--supplier", "sup_q", "--wait", "0")
    await cli.json("run", "finance", "--supplier", "sup_q", "--feature", "credit_notes", "--wait", "0")
    await cli.json(
        "cursor",
        "rewind",
        "--supplier",
        "sup_q",
        "--service",
        "finance_sync",
        "--job",
        "credit_notes",
        "--to",
        "2026-11-24T00:00:00Z",
        "--wait",
        "0",
    )
    stock = await service_dbs["stock_sync"]["operator_commands"].find_one({"supplier_id": "sup_q"})
    assert (stock["command"], stock["status"]) == ("run_stock", "pending")
    finance = [
        d
        async for d in service_dbs["finance_sync"]["operator_commands"]
        .find({"supplier_id": "sup_q"})
        .sort("requested_at", 1)
    ]
    assert [(d["command"], d["args"]) for d in finance] == [
        ("run_finance", {"feature": "credit_notes"}),
        ("rewind_cursor", {"job": "credit_notes", "to": "2026-11-24T00:00:00+00:00"}),
    ]
    listed = await cli.json("commands", "list", "--service", "finance_sync")
    assert len(listed["commands"]) == 2


async def test_a_command_nobody_runs_times_out_with_a_clear_message(cli: Cli, service_dbs) -> None:
    await known(service_dbs["order_sync"], "sup_t")
    result = await cli("run", "catalog", "--supplier", "sup_t", "--wait", "0.5")
    assert result.exit_code == 3
    assert "did not finish" in result.output
