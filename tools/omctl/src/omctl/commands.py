"""Operator commands: `resync`, `run`, `cursor rewind` reach a service through MongoDB.

Services are never imported (they run elsewhere, maybe many replicas). omctl queues a document
with `om_platform.commands.CommandQueue` in the `operator_commands` collection of the target
service's database; one replica claims it and records the result (see om_platform/commands.py).
Command names and arguments (a service handles those it registers with
`ServiceRuntime.serve_commands`; a command no replica handles stays `pending`):

| command          | service      | args                                                        |
|------------------|--------------|-------------------------------------------------------------|
| `resync`         | order_sync   | `ordermentum_id` (one record) and/or `code` (an ErrorCode)  |
| `heal`           | order_sync   | `customers`, `products`: Ordermentum ids just mapped        |
| `run_catalog`    | order_sync   | -                                                           |
| `run_stock`      | stock_sync   | -                                                           |
| `run_finance`    | finance_sync | `feature` (finalised_invoices, invoice_changes, credit_notes, paid_invoices) |
| `rewind_cursor`  | finance_sync | `job` (a feature), `to` (RFC 3339 UTC)                      |

Every command carries `after`: the end offsets, when it was submitted, of every inbound
(`ordermentum.*`) topic on the supplier's partition (the partition Kafka's default partitioner
gives the supplier id, the contract's key). The service runs it only once it has processed
everything before those offsets, so a command sees every event published before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from om_contracts import TOPICS
from om_platform.adapters.mongo.commands import COLLECTION, CommandQueue, Offsets
from omctl._kafka import log_ends, partition_for_key, partitions_of, reader
from omctl._mongo import mongo
from omctl._settings import OpsSettings, ServiceName

FINISHED = ("done", "failed")
INBOUND = tuple(t.name for t in TOPICS if t.direction == "inbound")


class UnknownSupplier(LookupError):
    """No service database holds an integration for the supplier: nothing would act on a command."""


async def require_supplier(settings: OpsSettings, supplier_id: str, services: Sequence[ServiceName]) -> None:
    """Refuse a supplier none of `services` has an integration document for (a typo, an id from
    another environment): a command for it would be claimed, find nothing and say done."""
    async with mongo(settings) as client:
        for service in services:
            found = await client[settings.database(service)]["integrations"].find_one(
                {"_id": supplier_id}, {"_id": 1}
            )
            if found is not None:
                return
    where = services[0] if len(services) == 1 else "any service"
    raise UnknownSupplier(
        f"no supplier {supplier_id!r} in {where}'s database (no integration event received for it): "
        "check the id; `omctl status` lists every supplier it knows"
    )


async def submit(
    settings: OpsSettings, service: ServiceName, command: str, supplier_id: str, args: dict[str, Any]
) -> str:
    """Queue a command for a service, after the events published so far; returns its id.

    Raises UnknownSupplier when the service has no integration for the supplier.
    """
    await require_supplier(settings, supplier_id, [service])
    after = await published_so_far(settings, supplier_id)
    async with mongo(settings) as client:
        queue = CommandQueue(client[settings.database(service)])
        return await queue.submit(command, supplier_id, args, after=after)


def shortfall(result: Any) -> str | None:
    """What a finished command reports it could not do (records still failing, records it could
    not run), as one sentence; None when it did everything it was asked."""
    if not isinstance(result, dict):
        return None
    still = [str(r) for r in result.get("still_failed") or ()]
    errors = result.get("errors") or 0
    parts = []
    if still:
        shown = ", ".join(still[:10]) + (f" and {len(still) - 10} more" if len(still) > 10 else "")
        parts.append(f"{len(still)} record(s) still failed: {shown}")
    if isinstance(errors, int) and errors > 0:
        parts.append(f"{errors} record(s) could not be run (see the service's log)")
    return "; ".join(parts) or None


async def published_so_far(settings: OpsSettings, supplier_id: str | None) -> Offsets:
    """End offsets of the inbound topics (only the supplier's partition when one is named)."""
    ends: dict[str, dict[int, int]] = {}
    async with reader(settings) as consumer:
        wanted = []
        for topic in INBOUND:
            try:
                partitions = await partitions_of(consumer, topic)
            except LookupError:
                continue  # no such topic: nothing published there
            if supplier_id:
                partitions = [partitions[partition_for_key(supplier_id, len(partitions))]]
            wanted.extend(partitions)
        for tp, end in (await log_ends(consumer, wanted)).items():
            if end > 0:
                ends.setdefault(tp.topic, {})[tp.partition] = end
    return ends


async def wait(
    settings: OpsSettings, service: ServiceName, command_id: str, timeout_s: float, poll_s: float = 0.2
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
            await asyncio.sleep(poll_s)  # another process finishes it: there is no event to await


async def recent(settings: OpsSettings, service: ServiceName, limit: int = 20) -> list[dict[str, Any]]:
    async with mongo(settings) as client:
        cursor = client[settings.database(service)][COLLECTION].find().sort("requested_at", -1).limit(limit)
        return [doc | {"service": service} async for doc in cursor]
