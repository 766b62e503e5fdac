"""`omctl status` shows a NetSuite account's budget shares, per holder."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from om_platform.adapters.budget import MongoBudget
from om_platform.adapters.netsuite_access import BUDGET_COLLECTION

from .conftest import Cli

pytestmark = pytest.mark.integration


async def test_status_shows_each_holders_share_of_an_account(
    cli: Cli, mongo_url: str, unique_name: str
) -> None:
    database = f"budget_{unique_name}"
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    budget = MongoBudget(client[database][BUDGET_COLLECTION], name="order_sync@pod-1/7")
    try:
        async with budget.slot("1234567", 5), budget.slot("1234567", 5):
            report = await cli.json("status", "--account", "1234567", NETSUITE_BUDGET_DATABASE=database)
            human = await cli("status", "--account", "1234567", NETSUITE_BUDGET_DATABASE=database)
    finally:
        await budget.aclose()
        await client.drop_database(database)
        await client.close()
    (row,) = report["netsuite_budget"]
    assert (row["account"], row["holder"], row["limit"], row["live"]) == (
        "1234567",
        "order_sync@pod-1/7",
        5,
        True,
    )
    assert 1 <= row["share"] <= 2
    assert row["expires_in_s"] > 0
    assert human.exit_code == 0, human.output
    assert "order_sync@pod-1/7" in human.stdout
