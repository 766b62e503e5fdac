"""`omctl integration check --service finance_sync` shows the account's SuiteQL time zone as
finance_sync learnt it (issue 21)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from .conftest import Cli
from .test_integration_check import account, configure

pytestmark = pytest.mark.integration
__all__ = ["account"]  # the fixture, imported for pytest


async def test_the_learnt_time_zone_is_shown_for_finance_sync(
    cli: Cli, simulator: Any, mongo_url: str, unique_name: str, account: tuple[str, Any, list[str]]
) -> None:
    account_id, creds, _ = account
    database = f"finance_{unique_name}"
    await configure(mongo_url, database, "sup_tz", account_id, creds)
    before = await cli.json(
        "integration", "check", "--supplier", "sup_tz", "--service", "finance_sync",
        netsuite_base_url=simulator.base_url,
    )  # fmt: skip
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    try:
        await client[database]["account_time_zones"].insert_one(
            {"_id": "sup_tz", "offset_minutes": -480, "learnt_at": datetime(2026, 12, 7, 9, tzinfo=UTC),
             "source": "customer 101"}
        )  # fmt: skip
    finally:
        await client.close()
    after = await cli.json(
        "integration", "check", "--supplier", "sup_tz", "--service", "finance_sync",
        netsuite_base_url=simulator.base_url,
    )  # fmt: skip

    (unknown,) = [s for s in before["steps"] if s["name"] == "time zone"]
    (learnt,) = [s for s in after["steps"] if s["name"] == "time zone"]
    assert "not learnt yet" in unknown["detail"]
    assert learnt["detail"] == (
        "SuiteQL shows date-times in UTC-08:00 (learnt 2026-12-07 09:00 UTC from customer 101)"
    )
