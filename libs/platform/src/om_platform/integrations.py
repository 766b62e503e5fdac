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
from collections.abc import AsyncIterator
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
from om_platform.database import HasDatabase
from om_platform.decoding import contract_decoder
from om_platform.kafka import RecordContext

log = logging.getLogger(__name__)

IntegrationRecord = IntegrationConfigured | IntegrationDisconnected | Tombstone


class IntegrationStore:
    """Latest settings per supplier, with a short in-process cache for the hot path.

    The cache is per process; a change reaches other replicas within `cache_ttl_s` (they read
    MongoDB after that), and this replica at once.
    """

    def __init__(self, db: HasDatabase, cache_ttl_s: float = 5.0) -> None:
        self._db = db
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[float, IntegrationSettings | None]] = {}

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
        current = await self._collection.find_one({"_id": supplier_id}, {"occurred_at": 1})
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
        await self._collection.update_one({"_id": supplier_id}, {"$set": document}, upsert=True)
        # Keep the fresh settings (not just an empty slot): `limit_for` reads the cache without I/O,
        # and a supplier's first burst of events must already see its real concurrency limit.
        fresh = record.data if isinstance(record, IntegrationConfigured) else None
        self._cache[supplier_id] = (time.monotonic(), fresh)
        log.info("integration %s", document["status"], extra={"supplier_id": supplier_id})

    async def get(self, supplier_id: str) -> IntegrationSettings | None:
        """The supplier's settings, or None when it has none or disconnected."""
        cached = self._cache.get(supplier_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        document = await self._collection.find_one({"_id": supplier_id, "status": "configured"})
        settings = IntegrationSettings.model_validate(document["settings"]) if document else None
        self._cache[supplier_id] = (now, settings)
        return settings

    async def configured(self) -> AsyncIterator[tuple[str, IntegrationSettings]]:
        """Every configured supplier (for schedulers); a bad stored document is logged and skipped."""
        async for document in self._collection.find({"status": "configured"}):
            try:
                yield document["_id"], IntegrationSettings.model_validate(document["settings"])
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
