"""`omctl status`: per supplier and flow, and consumer lag per group and topic.

Read-only. Per service database it reads:
  integrations            configured / disconnected per supplier
  ledger-like collections every collection whose name contains "ledger": documents with
                          `supplier_id`, `status`, `updated_at` and `last_error.code` (or `error.code`);
                          with a supplier, also its records whose latest sync carries a
                          TOTALS_MISMATCH warning (`warnings`, `totals`: NetSuite booked other totals)
  cursor-like collections every collection whose name contains "cursor": one document per
                          supplier and job (position fields are shown as stored)
  operator_commands       operator commands still pending or running
and, per supplier and service, its freshness (`om_platform.freshness`: last success, oldest
unresolved failure, records parked until the connection is back) from the ledger, `stock_runs` and
`job_runs`; and in `NETSUITE_BUDGET_DATABASE`, each supplier's NetSuite connection state
(`netsuite_connections`, shared by the three services; a supplier without a document is connected)
and each NetSuite account's budget shares: per holder (service, host, pid) its share, demand, the
limit it saw and when its lease expires (MongoDB's time).
Consumer lag: every consumer group whose id starts with `--group-prefix` (default `om.`), for each
topic it has committed offsets on: log end minus committed offset, summed over partitions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiokafka import TopicPartition

from om_platform.adapters.mongo.commands import COLLECTION as COMMANDS
from om_platform.adapters.mongo.connections import COLLECTION as CONNECTIONS
from om_platform.adapters.mongo.freshness import ledger_freshness, runs_freshness, slots_freshness
from om_platform.adapters.netsuite_access import BUDGET_COLLECTION
from omctl import _kafka
from omctl._mongo import mongo
from omctl._settings import SERVICES, OpsSettings

SUCCESS = {"synced", "succeeded", "success", "applied", "done", "ok", "cancelled", "voided", "published"}


async def consumer_lag(settings: OpsSettings, prefix: str = "om.") -> list[dict[str, Any]]:
    """Lag per (group, topic) for the groups whose id starts with prefix."""
    rows: list[dict[str, Any]] = []
    async with _kafka.admin_client(settings) as admin, _kafka.reader(settings) as consumer:
        groups = sorted(g[0] for g in await admin.list_consumer_groups() if str(g[0]).startswith(prefix))
        if not groups:
            return rows
        topics = [t for t in await consumer.topics() if not t.startswith("__")]
        partitions: list[TopicPartition] = []
        for topic in sorted(topics):
            partitions.extend(await _kafka.partitions_of(consumer, topic))
        ends = await _kafka.log_ends(consumer, partitions) if partitions else {}
        for group in groups:
            committed = await _kafka.committed_offsets(admin, group, partitions)
            per_topic: dict[str, dict[str, int]] = defaultdict(lambda: {"lag": 0, "committed": 0, "end": 0})
            for tp, offset in committed.items():
                if offset is None:
                    continue
                entry = per_topic[tp.topic]
                entry["lag"] += max(0, ends[tp] - offset)
                entry["committed"] += offset
                entry["end"] += ends[tp]
            state = await _kafka.group_state(admin, group)
            rows.extend(
                {"group": group, "topic": topic, "state": state.state, "members": len(state.members)} | values
                for topic, values in sorted(per_topic.items())
            )
    return rows


def _empty_view() -> dict[str, Any]:
    return {
        "integration": None,
        "flows": {},
        "cursors": [],
        "pending_commands": 0,
        "mismatches": [],
        "freshness": {},
    }


async def suppliers(settings: OpsSettings, supplier_id: str | None = None) -> dict[str, dict[str, Any]]:
    """supplier -> service -> {integration, flows: {collection: counts}, cursors, pending_commands}."""
    result: dict[str, dict[str, Any]] = defaultdict(dict)
    async with mongo(settings) as client:
        for service in SERVICES:

            def slot(supplier: str, svc: str = service) -> dict[str, Any]:
                view: dict[str, Any] = result[supplier].setdefault(svc, _empty_view())
                return view

            await _service_views(client[settings.database(service)], supplier_id, slot)
        states = await connection_states(client[settings.netsuite_budget_database], sorted(result))
        for supplier, state in states.items():
            for view in result[supplier].values():
                view["connection"] = state
    return dict(result)


async def _service_views(db: Any, supplier_id: str | None, slot: Callable[[str], dict[str, Any]]) -> None:
    """One service's database into `slot(supplier)`: integration, ledgers, freshness, cursors, commands."""
    match: dict[str, Any] = {"supplier_id": supplier_id} if supplier_id else {}
    names = await db.list_collection_names()
    if "integrations" in names:
        query = {"_id": supplier_id} if supplier_id else {}
        async for doc in db["integrations"].find(query, {"status": 1, "updated_at": 1}):
            slot(doc["_id"])["integration"] = doc.get("status")
    for name in sorted(n for n in names if "ledger" in n):
        await _ledger(db[name], match, slot, name)
        if supplier_id:
            found = await mismatches(db[name], supplier_id)
            if found:
                slot(supplier_id)["mismatches"].extend(found)
    for name in sorted(n for n in names if n in _FRESHNESS or "ledger" in n):
        read = _FRESHNESS.get(name, ledger_freshness)
        for supplier, fresh in (await read(db[name], supplier_id)).items():
            slot(supplier)["freshness"][name] = asdict(fresh)
    await _cursors_and_commands(db, names, match, slot)


async def _cursors_and_commands(
    db: Any, names: list[str], match: dict[str, Any], slot: Callable[[str], dict[str, Any]]
) -> None:
    for name in sorted(n for n in names if "cursor" in n):
        async for doc in db[name].find(match):
            if "supplier_id" in doc:
                doc.pop("_id", None)
                slot(doc["supplier_id"])["cursors"].append({"collection": name} | doc)
    if COMMANDS in names:
        pipeline = [
            {"$match": match | {"status": {"$in": ["pending", "running"]}}},
            {"$group": {"_id": "$supplier_id", "n": {"$sum": 1}}},
        ]
        async for row in await db[COMMANDS].aggregate(pipeline):
            slot(row["_id"])["pending_commands"] = row["n"]


_FRESHNESS = {"stock_runs": runs_freshness, "job_runs": slots_freshness}


async def connection_states(db: Any, supplier_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each supplier's NetSuite connection: state, since, detail, last error (connected if unknown)."""
    states: dict[str, dict[str, Any]] = {s: {"state": "connected"} for s in supplier_ids}
    if not supplier_ids:
        return states
    fields = {"state": 1, "since": 1, "detail": 1, "last_error": 1, "service": 1, "next_probe_at": 1}
    async for document in db[CONNECTIONS].find({"_id": {"$in": supplier_ids}}, fields):
        states[document.pop("_id")] = document
    return states


MISMATCH = "TOTALS_MISMATCH"
MISMATCHES_SHOWN = 200


async def mismatches(collection: Any, supplier_id: str) -> list[dict[str, Any]]:
    """The supplier's records whose latest sync found NetSuite's totals differ (newest first)."""
    query = {"supplier_id": supplier_id, "warnings.code": MISMATCH}
    fields = {"ordermentum_id": 1, "kind": 1, "number": 1, "totals": 1, "warnings": 1, "updated_at": 1}
    rows: list[dict[str, Any]] = []
    async for doc in collection.find(query, fields).sort("updated_at", -1).limit(MISMATCHES_SHOWN):
        totals = doc.get("totals") or {}
        message = next(
            (w.get("message") for w in doc.get("warnings") or [] if w.get("code") == MISMATCH), None
        )
        rows.append(
            {
                "ordermentum_id": doc.get("ordermentum_id"),
                "kind": doc.get("kind"),
                "number": doc.get("number"),
                "ordermentum": totals.get("ordermentum"),
                "netsuite": totals.get("netsuite"),
                "message": message,
                "updated_at": doc.get("updated_at"),
            }
        )
    return rows


async def _ledger(collection: Any, match: dict[str, Any], slot: Any, name: str) -> None:
    pipeline = [
        {"$match": match},
        {
            "$group": {
                "_id": {
                    "supplier_id": "$supplier_id",
                    "status": "$status",
                    "code": {"$ifNull": ["$last_error.code", "$error.code"]},
                },
                "n": {"$sum": 1},
                "last": {"$max": "$updated_at"},
            }
        },
    ]
    async for row in await collection.aggregate(pipeline):
        key = row["_id"]
        supplier = key.get("supplier_id")
        if supplier is None:
            continue
        flow = slot(supplier)["flows"].setdefault(
            name, {"counts": {}, "failures_by_code": {}, "last_success": None, "last_failure": None}
        )
        status = str(key.get("status"))
        flow["counts"][status] = flow["counts"].get(status, 0) + row["n"]
        last: datetime | None = row.get("last")
        if status.lower() in SUCCESS:
            if last is not None and (flow["last_success"] is None or last > flow["last_success"]):
                flow["last_success"] = last
        elif key.get("code"):
            flow["failures_by_code"][key["code"]] = flow["failures_by_code"].get(key["code"], 0) + row["n"]
            if last is not None and (flow["last_failure"] is None or last > flow["last_failure"]):
                flow["last_failure"] = last


async def budget_shares(settings: OpsSettings, account_id: str | None = None) -> list[dict[str, Any]]:
    """One row per (account, holder) of the NetSuite budget; only accounts in use have a document."""
    pipeline: list[dict[str, Any]] = [{"$match": {"_id": account_id}}] if account_id else []
    pipeline += [{"$sort": {"_id": 1}}, {"$addFields": {"_now": {"$toLong": "$$NOW"}}}]
    rows: list[dict[str, Any]] = []
    async with mongo(settings) as client:
        collection = client[settings.netsuite_budget_database][BUDGET_COLLECTION]
        async for doc in await collection.aggregate(pipeline):
            for holder, entry in sorted((doc.get("holders") or {}).items()):
                expires_in = (int(entry.get("expires", 0)) - int(doc["_now"])) / 1000
                rows.append(
                    {
                        "account": doc["_id"],
                        "holder": entry.get("name") or holder,
                        "share": entry.get("share"),
                        "demand": entry.get("demand"),
                        "limit": entry.get("limit"),
                        "expires_in_s": round(expires_in, 1),
                        "live": expires_in > 0,
                    }
                )
    return rows
