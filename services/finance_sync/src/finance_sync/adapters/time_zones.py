"""The offset an account's SuiteQL date-times are shown in, learnt without configuration.

SuiteQL shows date-times in the integration user's time-zone preference (Oracle Help "Setting
Personal Preferences", Time Zone; public connector trackers report records missed around
account-local midnight), while REST answers ``lastModifiedDate`` in UTC (ISO 8601 with ``Z``,
2026.1 REST API Browser: ``format: date-time``). So one record read both ways gives the offset:

1. SuiteQL: the newest customer's id and ``TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS')``;
2. REST: that customer's ``lastModifiedDate`` (``?fields=lastModifiedDate``);
3. SuiteQL again: the same customer's rendering, which must be unchanged (a save in between
   would compare two different moments; the learning is then tried on the next run).

The offset (rounded to a quarter hour) is cached per supplier in memory and in MongoDB
(``account_time_zones``: offset, when and from which record it was learnt) and learnt again
once it is older than ``finance_time_zone_relearn_minutes`` (default 60): NetSuite gives no IANA
zone name to a REST/SuiteQL client, so a daylight-saving change is picked up within that time;
the feeds' overlap window re-reads that hour, and events published in between carry times off by
the DST hour at most. An account with no customer yet is read as UTC, not cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from finance_sync.adapters.mongo import _Repository
from om_netsuite import NetSuiteSession

log = logging.getLogger(__name__)

_MASK = "'YYYY-MM-DD HH24:MI:SS'"
_PY_MASK = "%Y-%m-%d %H:%M:%S"
_NEWEST = (
    f"SELECT id, TO_CHAR(lastmodifieddate, {_MASK}) AS at FROM customer "  # noqa: S608 - fixed SQL
    "ORDER BY lastmodifieddate DESC, id DESC FETCH FIRST 1 ROWS ONLY"
)
_ONE = f"SELECT id, TO_CHAR(lastmodifieddate, {_MASK}) AS at FROM customer WHERE id = ?"  # noqa: S608 - fixed SQL
_QUARTER_HOUR = 15 * 60


@dataclass(frozen=True)
class LearntOffset:
    """An account's SuiteQL offset from UTC, when and from what it was learnt."""

    offset: timedelta
    learnt_at: datetime
    source: str

    @property
    def zone(self) -> timezone:
        return timezone(self.offset)

    def describe(self) -> str:
        minutes = int(self.offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


async def _first(session: NetSuiteSession, query: str, params: list[object]) -> dict[str, Any] | None:
    async for row in session.suiteql(query, params, page_size=1):
        found: dict[str, Any] = row
        return found
    return None


async def learn_offset(session: NetSuiteSession, now: datetime) -> LearntOffset | None:
    """Compare one customer's SuiteQL and REST last-modified times (None: nothing to compare)."""
    row = await _first(session, _NEWEST, [])
    if row is None or not row.get("at"):
        return None
    record = await session.get("customer", str(row["id"]), fields=["lastModifiedDate"])
    again = await _first(session, _ONE, [row["id"]])
    if again is None or again.get("at") != row["at"] or not record.get("lastModifiedDate"):
        return None  # saved in between: two different moments
    utc = datetime.fromisoformat(str(record["lastModifiedDate"]).replace("Z", "+00:00")).astimezone(UTC)
    local = datetime.strptime(str(row["at"]), _PY_MASK).replace(tzinfo=UTC)
    seconds = round((local - utc).total_seconds() / _QUARTER_HOUR) * _QUARTER_HOUR
    return LearntOffset(timedelta(seconds=seconds), now, f"customer {row['id']}")


class AccountZones(_Repository):
    """Each supplier's learnt SuiteQL offset, cached in memory and in ``account_time_zones``."""

    name = "account_time_zones"

    def __init__(
        self, holder: Any, relearn: timedelta, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(holder)
        self.relearn = relearn
        self.clock = clock
        self._known: dict[str, LearntOffset] = {}

    def _fresh(self, learnt: LearntOffset | None) -> bool:
        return learnt is not None and self.clock() - learnt.learnt_at < self.relearn

    async def get(self, supplier_id: str) -> LearntOffset | None:
        """What was learnt last for the supplier (fresh or not), or None."""
        known = self._known.get(supplier_id)
        if known is not None:
            return known
        document = await self.collection.find_one({"_id": supplier_id})
        if document is None:
            return None
        at = document["learnt_at"]
        learnt = LearntOffset(
            timedelta(minutes=int(document["offset_minutes"])),
            at.replace(tzinfo=UTC) if at.tzinfo is None else at,
            str(document.get("source", "")),
        )
        self._known[supplier_id] = learnt
        return learnt

    async def offset(self, supplier_id: str, session: NetSuiteSession) -> LearntOffset | None:
        """The supplier's offset, learnt again when older than `relearn` (None: not learnable yet)."""
        learnt = await self.get(supplier_id)
        if self._fresh(learnt):
            return learnt
        fresh = await learn_offset(session, self.clock())
        if fresh is None:
            return learnt  # keep the last one rather than guessing
        if learnt is None or learnt.offset != fresh.offset:
            log.info(
                "NetSuite account shows SuiteQL times in %s (learnt from %s)",
                fresh.describe(),
                fresh.source,
                extra={"supplier_id": supplier_id},
            )
        await self.collection.update_one(
            {"_id": supplier_id},
            {
                "$set": {
                    "offset_minutes": int(fresh.offset.total_seconds() // 60),
                    "learnt_at": fresh.learnt_at,
                    "source": fresh.source,
                }
            },
            upsert=True,
        )
        self._known[supplier_id] = fresh
        return fresh

    async def zone(self, supplier_id: str, session: NetSuiteSession) -> timezone:
        """The fixed-offset zone to read the supplier's SuiteQL date-times in (UTC if unknown)."""
        learnt = await self.offset(supplier_id, session)
        return learnt.zone if learnt is not None else UTC
