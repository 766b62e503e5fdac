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


async def test_status_filters_suppliers_by_connection_state(
    cli: Cli, client: AsyncMongoClient[Any], unique_name: str
) -> None:
    order = client[f"order_{unique_name}"]
    await order["integrations"].insert_many(
        [{"_id": s, "status": "configured", "settings": {}} for s in ("sup_ok", "sup_bad", "sup_slow")]
    )
    connections = client[f"budget_{unique_name}"]["netsuite_connections"]
    since = datetime.now(UTC) - timedelta(minutes=5)
    await connections.insert_many(
        [
            {"_id": "sup_bad", "state": "auth_failed", "since": since, "service": "order_sync"},
            {"_id": "sup_slow", "state": "rate_limited", "since": since, "service": "order_sync"},
        ]
    )
    failed = await cli.json("status", "--state", "auth_failed")
    assert sorted(failed["suppliers"]) == ["sup_bad"]
    either = await cli.json("status", "--state", "auth_failed", "--state", "connected")
    assert sorted(either["suppliers"]) == ["sup_bad", "sup_ok"]
    nobody = await cli("status", "--state", "unreachable")
    assert nobody.exit_code == 0, nobody.output
    assert "no supplier whose connection is unreachable" in nobody.stdout
    assert "sup_" not in nobody.stdout
    wrong = await cli("status", "--state", "broken")
    assert wrong.exit_code == 2  # the choices are listed by the usage error


async def test_status_of_an_idle_account_says_it_is_idle(cli: Cli) -> None:
    human = await cli("status", "--account", "7654321")
    assert human.exit_code == 0, human.output
    assert "netsuite account 7654321: idle" in human.stdout
    report = await cli.json("status", "--account", "7654321")
    assert report["account"] == {"id": "7654321", "idle": True}
    assert report["netsuite_budget"] == []


def test_the_state_choices_are_the_contracts_connection_states() -> None:
    from typing import get_args

    from om_contracts import ConnectionState
    from omctl._cli_status import State

    assert {s.value for s in State} == set(get_args(ConnectionState))
