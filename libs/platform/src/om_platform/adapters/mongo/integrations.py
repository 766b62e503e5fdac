"""The suppliers' NetSuite Integration settings, projected from the compacted integrations topic.

Each service that needs settings consumes `ordermentum.integrations.v1` with its own group and
keeps the latest settings per supplier in its own MongoDB collection (event-carried state). A
disconnect or a tombstone marks the supplier disconnected and drops its credentials. Credentials
stay sealed exactly as they arrived; they are opened only in memory, when a NetSuite session is
built.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from om_contracts import (
    INTEGRATIONS_TOPIC,
    IntegrationConfigured,
    IntegrationDisconnected,
    IntegrationSettings,
    Tombstone,
)
from om_platform.adapters.mongo.database import HasDatabase
from om_platform.core.batching import Batch
from om_platform.core.decoding import contract_decoder
from om_platform.core.records import RecordContext
from om_platform.core.settings_changes import SettingsChange, settings_changes

log = logging.getLogger(__name__)

IntegrationRecord = IntegrationConfigured | IntegrationDisconnected | Tombstone


ChangeWatcher = Callable[[str, SettingsChange], Awaitable[None]]


class IntegrationStore:
    """Latest settings per supplier, with a short in-process cache for the hot path.

    The cache is per process; a change reaches other replicas within `cache_ttl_s` (they read
    MongoDB after that), and this replica at once. Those reads are batched (`om_platform.core.batching`):
    the suppliers whose entries expired together, typically many at once with thousands of them,
    are read with one `find`; and settings whose stored event did not change keep their object
    (not validated again, and whatever is cached by its identity, such as `MappingStore`'s inverted
    tabs, stays valid).

    Watchers (`watch`) hear what each applied event provides that the previous settings did not
    (`SettingsChange`). The change is stored with the settings in the same write and cleared only
    after every watcher returned, so a crash in between is not a lost change: the event is
    redelivered (its offset is not committed) and the stored change is reported again.
    """

    def __init__(self, db: HasDatabase, cache_ttl_s: float = 5.0) -> None:
        self._db = db
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[float, IntegrationSettings | None]] = {}
        self._event_ids: dict[str, str | None] = {}  # the stored event each cached object came from
        self._reads: Batch[str, dict[str, Any] | None] = Batch(self._configured, name="integration-reads")
        self._watchers: list[ChangeWatcher] = []

    def watch(self, watcher: ChangeWatcher) -> None:
        """Call `watcher(supplier_id, change)` after settings that provide something new are stored."""
        self._watchers.append(watcher)

    @property
    def _collection(self) -> AsyncCollection[dict[str, Any]]:
        return self._db.db["integrations"]

    async def warm(self) -> None:
        """Load every configured supplier into the cache, so concurrency limits are known at once."""
        await self._collection.create_index("status")
        now = time.monotonic()
        async for supplier_id, settings in self.configured():
            self._cache[supplier_id] = (now, settings)

    async def apply(self, supplier_id: str, record: IntegrationRecord, ctx: RecordContext) -> None:
        """Apply one record of the compacted topic; an older event never overwrites a newer one."""
        occurred_at = None if isinstance(record, Tombstone) else record.occurred_at
        fields = (
            {"occurred_at": 1, "settings": 1, "pending_change": 1} if self._watchers else {"occurred_at": 1}
        )
        current = await self._collection.find_one({"_id": supplier_id}, fields)
        previous = current.get("occurred_at") if current else None
        if previous is not None and previous.tzinfo is None:  # a client without tz_aware reads naive UTC
            previous = previous.replace(tzinfo=UTC)
        if occurred_at is not None and previous is not None and occurred_at < previous:
            log.info(
                "ignoring an integration event older than the one applied", extra={"supplier_id": supplier_id}
            )
            return
        now = datetime.now(UTC)
        if isinstance(record, IntegrationConfigured):
            document = {
                "status": "configured",
                "settings": record.data.model_dump(mode="json"),
                "occurred_at": occurred_at,
                "event_id": record.event_id,
                "updated_at": now,
            }
        else:
            document = {
                "status": "disconnected",
                "settings": None,  # credentials are forgotten, not kept around sealed
                "occurred_at": occurred_at or now,
                "event_id": getattr(record, "event_id", None),
                "updated_at": now,
            }
        fresh = record.data if isinstance(record, IntegrationConfigured) else None
        change = self._change(current, fresh)
        if self._watchers:
            document["pending_change"] = change.to_document() if change else None
        await self._collection.update_one({"_id": supplier_id}, {"$set": document}, upsert=True)
        # Keep the fresh settings (not just an empty slot): `limit_for` reads the cache without I/O,
        # and a supplier's first burst of events must already see its real concurrency limit.
        self._cache[supplier_id] = (time.monotonic(), fresh)
        self._event_ids[supplier_id] = record.event_id if isinstance(record, IntegrationConfigured) else None
        log.info("integration %s", document["status"], extra={"supplier_id": supplier_id})
        if change:
            for watcher in self._watchers:
                await watcher(supplier_id, change)
            await self._collection.update_one(
                {"_id": supplier_id, "event_id": document["event_id"]}, {"$set": {"pending_change": None}}
            )

    def _change(self, current: dict[str, Any] | None, new: IntegrationSettings | None) -> SettingsChange:
        """What `new` provides over the stored settings, plus a change stored but not yet reported."""
        if not self._watchers or new is None:
            return SettingsChange()  # a disconnected supplier has nothing to heal with
        stored = (current or {}).get("settings")
        old = None
        if stored:
            try:
                old = IntegrationSettings.model_validate(stored)
            except ValueError:
                log.warning("stored integration is invalid; treating every setting as new")
        unreported = SettingsChange.from_document((current or {}).get("pending_change"))
        return settings_changes(old, new) | unreported

    async def get(self, supplier_id: str, *, fresh: bool = False) -> IntegrationSettings | None:
        """The supplier's settings, or None when it has none or disconnected.

        `fresh` reads MongoDB even if the cache holds the supplier (a change applied by another
        replica reaches this one's cache only after `cache_ttl_s`).
        """
        cached = self._cache.get(supplier_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl and not fresh:
            return cached[1]
        document = await self._reads.submit(supplier_id)
        if document is None:
            self._event_ids.pop(supplier_id, None)
            self._cache[supplier_id] = (now, None)
            return None
        return self._remember(document, now)

    async def _configured(self, supplier_ids: list[str]) -> list[dict[str, Any] | None]:
        query = {"_id": {"$in": sorted(set(supplier_ids))}, "status": "configured"}
        found = {document["_id"]: document async for document in self._collection.find(query)}
        return [found.get(supplier_id) for supplier_id in supplier_ids]

    def _remember(self, document: dict[str, Any], now: float) -> IntegrationSettings:
        """Cache the stored settings of a configured supplier, keeping the cached object itself
        while the stored event is the same one (raises ValueError for invalid settings)."""
        supplier_id, event_id = document["_id"], document.get("event_id")
        cached = self._cache.get(supplier_id)
        settings = cached[1] if cached is not None else None
        if settings is None or not event_id or self._event_ids.get(supplier_id) != event_id:
            settings = IntegrationSettings.model_validate(document["settings"])
            self._event_ids[supplier_id] = event_id
        self._cache[supplier_id] = (now, settings)
        return settings

    async def configured(self) -> AsyncIterator[tuple[str, IntegrationSettings]]:
        """Every configured supplier (for schedulers); a bad stored document is logged and skipped."""
        async for document in self._collection.find({"status": "configured"}):
            try:
                yield document["_id"], self._remember(document, time.monotonic())
            except ValueError:
                log.exception("stored integration is invalid", extra={"supplier_id": document["_id"]})

    def limit_for(self, supplier_id: str) -> int:
        """The supplier's NetSuite concurrency limit, from the cache (1 until its settings are read)."""
        cached = self._cache.get(supplier_id)
        return cached[1].concurrency_limit if cached and cached[1] else 1

    async def handle(self, record: IntegrationRecord, ctx: RecordContext) -> None:
        supplier_id = record.key if isinstance(record, Tombstone) else record.supplier_id
        await self.apply(supplier_id or "", record, ctx)


def integrations_decoder() -> Any:
    return contract_decoder(INTEGRATIONS_TOPIC, lambda event: event.supplier_id)
