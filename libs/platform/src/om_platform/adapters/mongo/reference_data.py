"""Per-account reference data read from NetSuite once and shared in MongoDB (collection `reference_data`).

What a service needs of an account before it can write for it, and which changes rarely: today its
currencies (`om_platform.adapters.currencies`); the time-zone offset of the fidelity issue is meant to be
one more `Loader` (`loaders["timezone"] = ...`), nothing else changes. Each account has one
document `{_id: account_id, read_at, values: {<loader name>: <JSON value>}, claimed_until}`.

Where the reads happen, so that none is on the order path in steady state:
- `refresh_forever` (a supervised loop, app wiring) loads an account as soon as its integration is
  configured or its credentials change (`wake`), and every account whose document is older than
  `refresh_s` (default one day) on a scan every `scan_s`. A claim on the document (`claim_ttl_s`)
  lets one replica of a service read NetSuite for an account while the others wait for its write.
- `get` answers from this process's memory; an entry older than `refresh_s` is read again from
  MongoDB (one `find` for every account that expired together, `om_platform.core.batching`) and only
  an account nobody loaded yet, or whose stored values are older than twice `refresh_s` (the
  refresher is down), is loaded from NetSuite there, once per account however many callers wait.

So a supplier's orders in steady state cost no MongoDB command and no NetSuite request for it;
after a restart each account costs a share of one batched `find`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from om_contracts import IntegrationSettings
from om_netsuite import NetSuiteSession
from om_platform.adapters.mongo.integrations import IntegrationStore
from om_platform.core.batching import Batch
from om_platform.core.settings_changes import SettingsChange

log = logging.getLogger(__name__)

Loader = Callable[[NetSuiteSession], Awaitable[Any]]
"""Reads one kind of reference data of an account; answers a JSON-compatible value."""


@dataclass(frozen=True)
class AccountReference:
    """What is known of one account, and when NetSuite was read for it."""

    account_id: str
    read_at: datetime
    values: Mapping[str, Any]

    def currencies(self) -> dict[str, str]:
        """ISO code -> internal id (empty when no currency loader ran)."""
        return {str(code): str(ns_id) for code, ns_id in (self.values.get("currencies") or {}).items()}


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value  # a client without tz_aware


class ReferenceDataStore:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        loaders: Mapping[str, Loader],
        *,
        refresh_s: float = 86_400.0,
        claim_ttl_s: float = 60.0,
        recheck_s: float = 300.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._collection = collection
        self._loaders = dict(loaders)
        self._refresh = timedelta(seconds=refresh_s)
        self._claim_ttl = timedelta(seconds=claim_ttl_s)
        self._recheck = timedelta(seconds=recheck_s)
        self._clock = clock
        self._memory: dict[str, tuple[float, AccountReference]] = {}  # monotonic time it was read
        self._loading: dict[str, asyncio.Lock] = {}
        self._reads: Batch[str, dict[str, Any] | None] = Batch(self._find, name="reference-reads")
        self._writes: Batch[AccountReference, None] = Batch(self._write, name="reference-writes")
        self.loads = 0
        """NetSuite loads made by this process (diagnostics, benchmark)."""

    # -- the order path --------------------------------------------------------------------------

    async def get(
        self,
        account_id: str,
        session: NetSuiteSession,
        *,
        has: Callable[[AccountReference], bool] | None = None,
    ) -> AccountReference:
        """The account's reference data: from memory, else MongoDB, else NetSuite (see module doc).

        `has`: what the caller needs (a currency code); when the data lacks it and is older than
        `recheck_s`, NetSuite is read again (a currency added since); younger, the caller is
        answered without it, so records asking for something the account lacks cost no request.
        """
        reference = self._recent(account_id)
        if reference is None:
            stored = self._of(await self._reads.submit(account_id))
            if stored is not None and self._clock() - stored.read_at <= 2 * self._refresh:
                self._remember(stored)
                reference = stored
            else:
                reference = await self.load(account_id, session)
        if has is not None and not has(reference) and self._clock() - reference.read_at > self._recheck:
            reference = await self.load(account_id, session)
        return reference

    def _recent(self, account_id: str) -> AccountReference | None:
        remembered = self._memory.get(account_id)
        if remembered is not None and time.monotonic() - remembered[0] < self._refresh.total_seconds():
            return remembered[1]
        return None

    async def load(self, account_id: str, session: NetSuiteSession) -> AccountReference:
        """Read NetSuite for the account and store it. Callers of a process that wait for the same
        account share one load: whoever finds a load made after it asked takes that one."""
        asked = time.monotonic()
        async with self._loading.setdefault(account_id, asyncio.Lock()):
            remembered = self._memory.get(account_id)
            if remembered is not None and remembered[0] >= asked:
                return remembered[1]
            return await self._fetch(account_id, session)

    async def _fetch(self, account_id: str, session: NetSuiteSession) -> AccountReference:
        values = {name: await loader(session) for name, loader in self._loaders.items()}
        self.loads += 1
        reference = AccountReference(account_id, self._clock(), values)
        await self._writes.submit(reference)
        self._remember(reference)
        return reference

    def _remember(self, reference: AccountReference) -> None:
        self._memory[reference.account_id] = (time.monotonic(), reference)

    # -- the refresher ---------------------------------------------------------------------------

    async def due(self, account_ids: list[str]) -> list[str]:
        """Of `account_ids`, those never loaded or older than `refresh_s` (one `find`)."""
        if not account_ids:
            return []
        found: dict[str, datetime | None] = {}
        cursor = self._collection.find({"_id": {"$in": sorted(set(account_ids))}}, {"read_at": 1})
        async for document in cursor:
            found[document["_id"]] = _aware(document.get("read_at"))
        limit = self._clock() - self._refresh
        return [
            a
            for a in dict.fromkeys(account_ids)
            if (found.get(a) or datetime.min.replace(tzinfo=UTC)) < limit
        ]

    async def claim(self, account_id: str) -> bool:
        """Claim the account's next load across replicas: False when another replica holds a live
        claim, or loaded it since `due` said it was due."""
        now = self._clock()
        free = {"$or": [{"claimed_until": {"$exists": False}}, {"claimed_until": {"$lt": now}}]}
        stale = {"$or": [{"read_at": {"$exists": False}}, {"read_at": {"$lt": now - self._refresh}}]}
        result = await self._collection.update_one(
            {"_id": account_id, "$and": [free, stale]}, {"$set": {"claimed_until": now + self._claim_ttl}}
        )
        if result.matched_count:
            return True
        try:
            await self._collection.insert_one({"_id": account_id, "claimed_until": now + self._claim_ttl})
        except DuplicateKeyError:
            return False  # it exists: claimed, or loaded meanwhile
        return True

    async def refresh(
        self, sessions: Mapping[str, Callable[[], NetSuiteSession]], *, concurrency: int
    ) -> int:
        """Load every due account of `sessions` (account id -> its session) this replica can claim."""
        due = await self.due(list(sessions))
        gate = asyncio.Semaphore(max(1, concurrency))
        loaded = 0

        async def one(account_id: str) -> None:
            nonlocal loaded
            async with gate:
                if not await self.claim(account_id):
                    return
                try:
                    # Not under `load`'s lock: an order never waits behind a refresh (retrying an
                    # outage, say); at worst both read the account once.
                    await self._fetch(account_id, sessions[account_id]())
                    loaded += 1
                except Exception:  # the next scan or the first order tries again
                    log.warning("reference data of account %s not read", account_id, exc_info=True)
                    await self._collection.update_one({"_id": account_id}, {"$unset": {"claimed_until": ""}})

        await asyncio.gather(*(one(a) for a in due))
        return loaded

    # -- MongoDB ---------------------------------------------------------------------------------

    def _of(self, document: dict[str, Any] | None) -> AccountReference | None:
        read_at = _aware((document or {}).get("read_at"))
        if document is None or read_at is None:
            return None
        return AccountReference(str(document["_id"]), read_at, dict(document.get("values") or {}))

    async def _find(self, account_ids: list[str]) -> list[dict[str, Any] | None]:
        cursor = self._collection.find({"_id": {"$in": sorted(set(account_ids))}})
        found = {document["_id"]: document async for document in cursor}
        return [found.get(account_id) for account_id in account_ids]

    async def _write(self, references: list[AccountReference]) -> list[None]:
        writes = [
            UpdateOne(
                {"_id": r.account_id},
                {"$set": {"values": dict(r.values), "read_at": r.read_at}, "$unset": {"claimed_until": ""}},
                upsert=True,
            )
            for r in references
        ]
        await self._collection.bulk_write(writes, ordered=False)
        return [None] * len(references)


SessionFor = Callable[[str, IntegrationSettings], NetSuiteSession]


class Refresher:
    """Keeps the reference data of every configured account loaded, off the record path.

    Register `on_settings_change` as an integrations watcher: a supplier configured (or whose
    credentials changed) is loaded at once, in the background (the integrations consumer does not
    wait for NetSuite). `run` (a supervised loop) also scans every configured supplier every
    `scan_s` and loads the accounts whose data is older than the store's `refresh_s`.
    """

    def __init__(
        self,
        store: ReferenceDataStore,
        integrations: IntegrationStore,
        session_for: SessionFor,
        *,
        scan_s: float,
        concurrency: int,
    ) -> None:
        self._store = store
        self._integrations = integrations
        self._session_for = session_for
        self._scan_s = scan_s
        self._concurrency = concurrency
        self._wanted: set[str] = set()
        self._wake = asyncio.Event()

    async def on_settings_change(self, supplier_id: str, change: SettingsChange) -> None:
        if change.connected or change.credentials:
            self._wanted.add(supplier_id)
            self._wake.set()

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Refresh until cancelled; `ready`: wait for it first (the integrations projection caught
        up, so a cold start's projection does not compete with these reads). Suppliers configured
        meanwhile are loaded first, then every account due."""
        if ready is not None:
            await ready.wait()
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while True:
            try:
                while self._wanted:
                    wanted, self._wanted = self._wanted, set()
                    await self._store.refresh(await self._accounts_of(wanted), concurrency=self._concurrency)
                if loop.time() >= next_scan:
                    next_scan = loop.time() + self._scan_s
                    await self._store.refresh(await self._every_account(), concurrency=self._concurrency)
            except Exception:  # MongoDB away: the next wake or scan tries again
                log.warning("reference data refresh failed", exc_info=True)
            if self._wanted:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_scan - loop.time()))

    async def _every_account(self) -> dict[str, Callable[[], NetSuiteSession]]:
        return self._sessions([pair async for pair in self._integrations.configured()])

    async def _accounts_of(self, supplier_ids: set[str]) -> dict[str, Callable[[], NetSuiteSession]]:
        found = [(s, await self._integrations.get(s)) for s in sorted(supplier_ids)]
        return self._sessions([(s, integration) for s, integration in found if integration is not None])

    def _sessions(
        self, suppliers: list[tuple[str, IntegrationSettings]]
    ) -> dict[str, Callable[[], NetSuiteSession]]:
        """Account id -> how to open a session on it (through the first of its suppliers)."""
        sessions: dict[str, Callable[[], NetSuiteSession]] = {}
        for supplier_id, integration in suppliers:
            if integration.account_id not in sessions:
                sessions[integration.account_id] = functools.partial(
                    self._session_for, supplier_id, integration
                )
        return sessions
