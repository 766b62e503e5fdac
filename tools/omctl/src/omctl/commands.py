"""Operator commands: `resync`, `run`, `cursor rewind` reach a service through MongoDB.

Services are never imported (they run elsewhere, maybe many replicas). omctl inserts a document
into the `ops.commands` collection of the target service's database; one replica claims it
(`find_one_and_update` pending -> running) and records the result. The contract:

    {"_id": "<uuid>", "service": "order_sync", "command": "resync", "supplier_id": "sup_1",
     "args": {...}, "requested_at": <UTC>, "status": "pending" | "running" | "done" | "failed",
     "claimed_by": "<replica>", "started_at": <UTC>, "finished_at": <UTC>,
     "result": {...}, "error": "<message>"}

| command          | service      | args                                            |
|------------------|--------------|-------------------------------------------------|
| `resync`         | order_sync   | `ordermentum_id` (one record) and/or `code`     |
| `run.catalog`    | order_sync   | -                                               |
| `run.stock`      | stock_sync   | -                                               |
| `run.finance`    | finance_sync | `feature` (finalised_invoices, credit_notes, paid_invoices; all when absent) |
| `cursor.rewind`  | any          | `job`, `to` (RFC 3339 UTC)                      |
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from omctl._mongo import mongo
from omctl._settings import OpsSettings, ServiceName

COLLECTION = "ops.commands"
FINISHED = ("done", "failed")


async def submit(
    settings: OpsSettings, service: ServiceName, command: str, supplier_id: str, args: dict[str, Any]
) -> str:
    """Queue a command for a service; returns its id."""
    command_id = uuid.uuid4().hex
    document = {
        "_id": command_id,
        "service": service,
        "command": command,
        "supplier_id": supplier_id,
        "args": args,
        "requested_at": datetime.now(UTC),
        "status": "pending",
    }
    async with mongo(settings) as client:
        await client[settings.database(service)][COLLECTION].insert_one(document)
    return command_id


async def get(settings: OpsSettings, service: ServiceName, command_id: str) -> dict[str, Any] | None:
    async with mongo(settings) as client:
        return await client[settings.database(service)][COLLECTION].find_one({"_id": command_id})


async def wait(
    settings: OpsSettings, service: ServiceName, command_id: str, timeout_s: float, poll_s: float = 0.5
) -> dict[str, Any] | None:
    """Poll until the command finished or the timeout passed; returns the last document seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with mongo(settings) as client:
        collection = client[settings.database(service)][COLLECTION]
        while True:
            document = await collection.find_one({"_id": command_id})
            if document is None or document.get("status") in FINISHED or loop.time() >= deadline:
                return document
            await asyncio.sleep(poll_s)


async def recent(settings: OpsSettings, service: ServiceName, limit: int = 20) -> list[dict[str, Any]]:
    async with mongo(settings) as client:
        cursor = client[settings.database(service)][COLLECTION].find().sort("requested_at", -1).limit(limit)
        return [doc async for doc in cursor]
