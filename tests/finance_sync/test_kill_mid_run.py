"""finance_sync as a real process, killed with SIGKILL in the middle of a feature run, then restarted.

The finalised-invoices run pages slowly through NetSuite and publishes as it goes; the kill lands
after some pages are published and before the last. The restarted process runs the feature again
(once the dead run's lease has lapsed) and afterwards every invoice is published, each as one
distinct effect: the same event id if it was published twice, never a second event for it.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from finance_sync.app import Wired
from om_contracts import NETSUITE_INVOICES_TOPIC
from om_platform.adapters.mongo.commands import CommandQueue
from support import ServiceProcess

from . import test_kill_flow
from .conftest import MakeSupplier, events_on
from .test_documents_flow import sales_order, supplier_with_catalogue

service_env = test_kill_flow.service_env  # the fixture: the process's settings, its databases dropped after

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(300)]

INVOICES = 40


async def published_keys(db: Any, supplier_id: str) -> int:
    total = 0
    async for document in db["published"].find({"supplier_id": supplier_id}, {"keys": 1}):
        total += len(document["keys"])
    return total


async def run_until_done(queue: CommandQueue, supplier_id: str) -> dict[str, Any]:
    """Ask the process for the run; a run still leased by the dead process is asked again."""
    for _ in range(30):
        command = await queue.submit("run_finance", supplier_id, {"feature": "finalised_invoices"})
        document = await queue.wait(command, timeout=120)
        if document["status"] == "done":
            return document
        assert "LeaseBusy" in (document.get("error") or ""), document
        await asyncio.sleep(1)  # the dead run's lease lapses after FINANCE_LEASE_TTL_S
    raise AssertionError("the run never got its lease back")


async def test_a_process_killed_mid_run_publishes_every_invoice_once_after_restart(
    finance: Wired,
    make_supplier: MakeSupplier,
    kafka_bootstrap: str,
    mongo_url: str,
    service_env: dict[str, str],
) -> None:
    supplier, ids = await supplier_with_catalogue(make_supplier, finalised_invoice_sync=True)
    invoices = {
        supplier.account.bill_sales_order(sales_order(supplier, ids, f"ord_km{n}")) for n in range(INVOICES)
    }
    supplier.account.faults.latency = 0.2  # every page is slow, so the kill lands mid-run
    env = {**service_env, "FINANCE_PAGE_SIZE": "4", "FINANCE_LEASE_TTL_S": "3", "COMMAND_POLL_S": "0.1"}
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url)
    db = client[env["MONGODB_DATABASE"]]
    queue = CommandQueue(db)
    process = ServiceProcess("finance_sync", env)
    try:
        process.start()
        for _ in range(1200):  # the new process has projected the supplier's settings
            if await db["integrations"].find_one({"_id": supplier.id, "status": "configured"}):
                break
            await asyncio.sleep(0.05)  # another process's progress in MongoDB: nothing to await
        await queue.submit("run_finance", supplier.id, {"feature": "finalised_invoices"})
        for _ in range(1500):
            if await published_keys(db, supplier.id) >= 8:
                break
            await asyncio.sleep(0.02)  # another process's progress in MongoDB: nothing to await
        process.kill()
        at_kill = await published_keys(db, supplier.id)
        assert 0 < at_kill < INVOICES, f"{at_kill} invoices were published when the process was killed"
        process.start()
        done = await run_until_done(queue, supplier.id)
        assert done["status"] == "done"
    finally:
        process.terminate()
        supplier.account.faults.latency = 0.0
        await client.close()

    events = await events_on(kafka_bootstrap, NETSUITE_INVOICES_TOPIC, supplier.id, at_least=INVOICES)
    ids_by_invoice: dict[str, set[str]] = defaultdict(set)
    for event in events:
        ids_by_invoice[event["data"]["netsuite_invoice_id"]].add(event["event_id"])
    assert set(ids_by_invoice) == invoices  # none lost
    duplicates = {invoice: ids for invoice, ids in ids_by_invoice.items() if len(ids) != 1}
    assert duplicates == {}, json.dumps({k: sorted(v) for k, v in duplicates.items()})  # no second effect
