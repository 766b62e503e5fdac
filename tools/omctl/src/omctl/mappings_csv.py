"""`omctl mappings import/export`: operator mappings of customers and products as CSV.

CSV columns (header required): `kind` (`customer` or `product`), `ordermentum_id`, `netsuite_id`.
Imported pairs are written with `om_platform.mappings.MappingStore.set_operator_mappings` into
each service's database; they have the lowest precedence (CONTRACTS.md: the integration's mapping
tabs, then the `netsuite_id` property, then the latest upsert event, then these). Every bad row is
reported with its line number and the reason; good rows are imported unless `--strict`.

The import writes MongoDB directly, so no event tells order_sync about it: once written, omctl
queues order_sync's `heal` command with the imported ids (durable: a stopped service runs it when
it starts), and order_sync re-syncs by itself every record whose failure waits for one of them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from pymongo.asynchronous.database import AsyncDatabase

from om_contracts import IntegrationSettings
from om_platform.adapters.mongo.mappings import MappingStore
from om_platform.core.mappings import Kind
from omctl import commands
from omctl._mongo import mongo
from omctl._settings import OpsSettings, ServiceName

COLUMNS = ("kind", "ordermentum_id", "netsuite_id")
HEAL_IDS_PER_COMMAND = 20_000  # keeps each command document far below MongoDB's 16 MB
KINDS: tuple[Kind, ...] = ("customer", "product")
_NETSUITE_ID = re.compile(r"^[0-9]{1,18}$")


@dataclass(frozen=True)
class Rejected:
    line: int
    row: dict[str, str]
    reason: str


@dataclass
class ParsedCsv:
    pairs: dict[Kind, dict[str, str]] = field(default_factory=lambda: {k: {} for k in KINDS})
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(len(p) for p in self.pairs.values())


class CsvFormatError(ValueError):
    """The file as a whole cannot be read (no header, missing columns)."""


def parse(text: str) -> ParsedCsv:
    """Validate every row; conflicting rows for the same id are all rejected."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CsvFormatError(f"missing column(s) {', '.join(missing)}; expected header: {','.join(COLUMNS)}")
    result = ParsedCsv()
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    conflicted: set[tuple[str, str]] = set()
    rows: list[tuple[int, dict[str, str]]] = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        reason = _problem(row)
        if reason:
            result.rejected.append(Rejected(number, row, reason))
            continue
        key = (row["kind"], row["ordermentum_id"])
        if key in seen and seen[key][1] != row["netsuite_id"]:
            conflicted.add(key)
        seen.setdefault(key, (number, row["netsuite_id"]))
        rows.append((number, row))
    for number, row in rows:
        key = (row["kind"], row["ordermentum_id"])
        if key in conflicted:
            result.rejected.append(
                Rejected(
                    number,
                    row,
                    f"{row['kind']} {row['ordermentum_id']} has different netsuite_ids in the file",
                )
            )
        else:
            result.pairs[cast(Kind, row["kind"])][row["ordermentum_id"]] = row["netsuite_id"]
    result.rejected.sort(key=lambda r: r.line)
    return result


def _problem(row: dict[str, str]) -> str | None:
    if row.get("kind") not in KINDS:
        return f"kind must be customer or product, not {row.get('kind')!r}"
    om_id = row.get("ordermentum_id", "")
    if not om_id:
        return "ordermentum_id is empty"
    if any(ch.isspace() for ch in om_id):
        return "ordermentum_id contains whitespace"
    ns_id = row.get("netsuite_id", "")
    if not ns_id:
        return "netsuite_id is empty"
    if not _NETSUITE_ID.match(ns_id):
        return f"netsuite_id must be a NetSuite internal id (digits), not {ns_id!r}"
    return None


class _Db:
    """What MappingStore needs: something with a `.db`."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._database = db

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        return self._database


async def import_pairs(
    settings: OpsSettings, supplier_id: str, parsed: ParsedCsv, services: Sequence[ServiceName]
) -> dict[str, int]:
    """Write the accepted pairs into each service's mapping collection; returns counts per service."""
    written: dict[str, int] = {}
    async with mongo(settings) as client:
        for service in services:
            store = MappingStore(_Db(client[settings.database(service)]))
            written[service] = 0
            for kind in KINDS:
                written[service] += await store.set_operator_mappings(supplier_id, kind, parsed.pairs[kind])
    return written


async def queue_heal(settings: OpsSettings, supplier_id: str, parsed: ParsedCsv) -> list[str]:
    """Ask order_sync to re-sync what the imported ids unblock; returns the command ids."""
    ids = [(kind, om_id) for kind in KINDS for om_id in sorted(parsed.pairs[kind])]
    queued: list[str] = []
    for start in range(0, len(ids), HEAL_IDS_PER_COMMAND):
        chunk = ids[start : start + HEAL_IDS_PER_COMMAND]
        args: dict[str, Any] = {f"{kind}s": [i for k, i in chunk if k == kind] for kind in KINDS}
        queued.append(await commands.submit(settings, "order_sync", "heal", supplier_id, args))
    return queued


async def export_rows(settings: OpsSettings, supplier_id: str, service: ServiceName) -> list[dict[str, str]]:
    """Effective mappings of a supplier as seen by one service (its integration tabs included)."""
    rows: list[dict[str, str]] = []
    async with mongo(settings) as client:
        db = client[settings.database(service)]
        store = MappingStore(_Db(db))
        document = await db["integrations"].find_one({"_id": supplier_id, "status": "configured"})
        integration = IntegrationSettings.model_validate(document["settings"]) if document else None
        for kind in KINDS:
            if integration is not None:
                pairs = await store.export(supplier_id, integration, kind)
            else:
                pairs = {}
                async for doc in db["mappings"].find({"supplier_id": supplier_id, "kind": kind}):
                    value = doc.get("event_netsuite_id") or doc.get("operator_netsuite_id")
                    if value:
                        pairs[doc["ordermentum_id"]] = value
            rows.extend(
                {"kind": kind, "ordermentum_id": om_id, "netsuite_id": ns_id}
                for om_id, ns_id in sorted(pairs.items())
            )
    return rows


def to_csv(rows: Iterable[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
