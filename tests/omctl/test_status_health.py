"""`omctl status` per supplier: its NetSuite connection state, time since the last success, the
oldest unresolved failure and what is parked until the connection is back, per service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from .conftest import Cli

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def client(mongo_url: str, unique_name: str) -> AsyncIterator[AsyncMongoClient[Any]]:
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        yield mongo
    finally:
        for db in ("order", "stock", "finance", "budget"):
            await mongo.drop_database(f"{db}_{unique_name}")
        await mongo.close()


async def test_status_shows_each_suppliers_connection_freshness_and_parked_records(
    cli: Cli, client: AsyncMongoClient[Any], unique_name: str
) -> None:
    now = datetime.now(UTC)
    order = client[f"order_{unique_name}"]
    await order["integrations"].insert_one({"_id": "sup_h", "status": "configured", "settings": {}})
    await order["ledger"].insert_many(
        [
            {"_id": "1", "supplier_id": "sup_h", "status": "synced", "updated_at": now - timedelta(hours=3)},
            {
                "_id": "2",
                "supplier_id": "sup_h",
                "status": "failed",
                "last_error": {"code": "NETSUITE_AUTH_FAILED"},
                "last_occurred_at": now - timedelta(minutes=50),
                "updated_at": now - timedelta(minutes=1),
            },
            {
                "_id": "3",
                "supplier_id": "sup_h",
                "status": "failed",
                "last_error": {"code": "UNMAPPED_PRODUCT"},
                "last_occurred_at": now - timedelta(minutes=20),
                "updated_at": now,
            },
        ]
    )
    held_since = now - timedelta(minutes=45)
    stored = {
        ("stock", "stock_runs"): {
            "supplier_id": "sup_h",
            "last_success_at": now - timedelta(hours=2),
            "failing_since": held_since,
            "waiting_for_connection": True,
        },
        ("budget", "netsuite_connections"): {
            "state": "auth_failed",
            "since": held_since,
            "service": "stock_sync",
            "last_error": {"code": "INVALID_LOGIN", "message": "Invalid login attempt."},
        },
    }
    for (db, collection), document in stored.items():
        await client[f"{db}_{unique_name}"][collection].insert_one({"_id": "sup_h", **document})

    report = await cli.json("status", "--supplier", "sup_h")
    human = await cli("status", "--supplier", "sup_h")

    views = report["suppliers"]["sup_h"]
    ledger = views["order_sync"]["freshness"]["ledger"]
    assert (ledger["failed"], ledger["parked"]) == (2, 1)
    assert ledger["oldest_failure"].startswith((now - timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M"))
    assert ledger["last_success"].startswith((now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    stock = views["stock_sync"]["freshness"]["stock_runs"]
    assert (stock["failed"], stock["parked"]) == (1, 1)
    assert views["order_sync"]["connection"]["state"] == "auth_failed"
    assert views["order_sync"]["connection"]["last_error"]["code"] == "INVALID_LOGIN"
    assert human.exit_code == 0, human.output
    assert "auth_failed 45m" in human.stdout
    assert "3h" in human.stdout
    assert "50m" in human.stdout
