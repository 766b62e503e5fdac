"""Each process's view of its suppliers' NetSuite connections: the breaker, probes, status events.

`ConnectionMonitor` (one per process, built by the runtime) hands every NetSuite session a
`SupplierGuard` (om_netsuite's `RequestGuard`). The guard:

* refuses, holding the budget slot, to send a request for a supplier whose breaker is open
  (`auth_failed`, `unreachable`): it raises `ConnectionDown`, a `TransientFailure` that names the
  state and the failure code (`NETSUITE_AUTH_FAILED` / `NETSUITE_UNAVAILABLE`), so the use cases
  park the record instead of retrying it and nothing reaches NetSuite;
* counts, per supplier and still in the slot, what each attempt met: `auth_failed_after`
  consecutive 401s, or nothing but outages (5xx, timeouts, refused connections) for
  `unreachable_after_s`, open the breaker in this process at once, so a burst of queued records
  sends no more requests; 429s feed a sliding window (`rate_limited_share` of the attempts over
  `rate_limited_window_s`, at least `MIN_RATE_SAMPLES` attempts);
* reports each finished request to the monitor, which turns what changes the shared state into one
  compare-and-set write (`ConnectionStore`) and one `netsuite.integration.status` event.

The monitor's loop (`run`, supervised by the runtime) is `_loop.py`: polls, unpublished changes,
probes, and how new credentials lift a refused login.

When a supplier's state leaves a broken one (`recovers`), the monitor calls the `on_recovered`
listeners: each service's `om_platform.core.waiting.ResumeWhenConnected`, which resumes the work
that waited on that supplier. A listener hears the change from the process that made it or, within
one poll, from any other; a process not running then catches up at start (`catch_up`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from om_contracts import ConnectionState, NetSuiteIntegrationStatus
from om_netsuite import NetSuiteError
from om_platform.adapters.connections._loop import ProbeSession, SettingsOf, StatusLoop
from om_platform.adapters.connections._signals import signal_of
from om_platform.adapters.connections._tracker import SupplierGuard, _Tracker, same_credentials, signals_after
from om_platform.adapters.mongo.connections import ConnectionStore
from om_platform.core.connections import (
    BREAKER_OPEN,
    ConnectionDown,
    ConnectionSettings,
    Signal,
    Status,
    credentials_fingerprint,
    next_state,
    recovers,
    state_of,
    status_event,
)

log = logging.getLogger(__name__)

Recovered = Callable[[str], Awaitable[None]]
PublishStatus = Callable[[NetSuiteIntegrationStatus], Awaitable[None]]


class ConnectionMonitor:
    """See the module docstring. `attach` it once MongoDB and the publisher exist (the lifespan)."""

    def __init__(
        self,
        service: str,
        settings: ConnectionSettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.service = service
        self.settings = settings
        self._clock = clock
        self._store: ConnectionStore | None = None
        self._publish: PublishStatus | None = None
        self._settings_of: SettingsOf | None = None
        self._statuses: dict[str, Status] = {}
        self._trackers: dict[str, _Tracker] = {}
        self._current: dict[str, str] = {}
        """The credentials (fingerprint) this process holds for each supplier, newest seen."""
        self._locks: dict[str, asyncio.Lock] = {}
        self._listeners: list[Recovered] = []
        self._loop = StatusLoop(settings, clock, self._statuses, self._adopt, self._publish_change)
        self.on_refused: Callable[[], None] = lambda: None
        """Called for each request refused because the breaker was open (a metric)."""

    # -- wiring -----------------------------------------------------------------------------

    def attach(
        self,
        store: ConnectionStore,
        publish: PublishStatus,
        settings_of: SettingsOf | None,
        probe_session: ProbeSession,
    ) -> None:
        self._store = store
        self._publish = publish
        self._settings_of = settings_of
        self._loop.attach(store, settings_of, probe_session)

    def on_recovered(self, listener: Recovered) -> None:
        """Call `listener(supplier_id)` once when a supplier's connection comes back (`recovers`),
        inside the request or poll that saw it: be quick (note the work; let a loop do it)."""
        self._listeners.append(listener)

    def guard(
        self,
        supplier_id: str,
        account_id: str,
        *,
        probe: bool = False,
        credentials_expire_at: datetime | None = None,
        credentials: str | None = None,
    ) -> SupplierGuard:
        """The guard of a session made with `credentials` (`credentials_fingerprint`)."""
        if credentials is not None:
            self._current[supplier_id] = credentials
        return SupplierGuard(
            self,
            supplier_id,
            account_id,
            probe=probe,
            credentials_expire_at=credentials_expire_at,
            credentials=credentials,
        )

    # -- the view ---------------------------------------------------------------------------

    def status(self, supplier_id: str) -> Status:
        """The shared state as this process last read or wrote it (connected when never changed)."""
        return self._statuses.get(supplier_id) or Status(supplier_id)

    def statuses(self) -> list[Status]:
        return [s for s in self._statuses.values() if s.state != "connected"]

    def open_state(self, supplier_id: str, credentials: str | None = None) -> ConnectionState | None:
        """The open breaker's state (`auth_failed`/`unreachable`), or None when requests may go.

        A refused login holds only for the credentials that were refused (`Status.refuses`):
        `credentials`, or those this process holds now for the supplier.
        """
        credentials = credentials or self._current.get(supplier_id)
        status = self._statuses.get(supplier_id)
        if status is not None and status.refuses(credentials):
            return status.state
        tracker = self._trackers.get(supplier_id)
        if (
            tracker is not None
            and tracker.opened is not None
            and same_credentials(tracker.credentials, credentials)
        ):
            if time.monotonic() - tracker.opened_at < self.settings.probe_interval_s:
                return tracker.opened
            # Opened here but never stored (MongoDB was down): let requests through again.
            tracker.opened = None
        return None

    async def load(self, supplier_ids: list[str]) -> dict[str, Status]:
        """The shared state of these suppliers, read now (not from this process's view)."""
        if self._store is None or not supplier_ids:
            return {supplier_id: self.status(supplier_id) for supplier_id in supplier_ids}
        found = await self._store.load_many(supplier_ids)
        for status in found.values():
            if status.version:
                await self._adopt(status)
        return found

    def is_open(self, supplier_id: str, credentials: str | None = None) -> bool:
        return self.open_state(supplier_id, credentials) is not None

    async def refresh(self, supplier_id: str) -> None:
        """Take the supplier's shared state from MongoDB now, whatever this process last read."""
        await self.load([supplier_id])

    def check(self, supplier_id: str, credentials: str | None = None) -> None:
        """Raise `ConnectionDown` when the supplier's breaker is open (for these credentials)."""
        state = self.open_state(supplier_id, credentials)
        if state is not None:
            self.on_refused()
            raise ConnectionDown(supplier_id, state, self.status(supplier_id).since)

    # -- what requests met ------------------------------------------------------------------

    def attempted(
        self, supplier_id: str, error: NetSuiteError | None, credentials: str | None = None
    ) -> None:
        tracker = self._tracker(supplier_id, credentials)
        tracker.attempt(error, time.monotonic(), self.settings)

    def _tracker(self, supplier_id: str, credentials: str | None) -> _Tracker:
        """The supplier's tracker; a fresh one for other credentials (old refusals say nothing)."""
        tracker = self._trackers.get(supplier_id)
        if tracker is None or not same_credentials(tracker.credentials, credentials):
            tracker = self._trackers[supplier_id] = _Tracker(credentials=credentials)
        return tracker

    async def finished(
        self,
        supplier_id: str,
        account_id: str,
        operation: str,
        error: BaseException | None,
        *,
        probe: bool = False,
        credentials: str | None = None,
    ) -> None:
        tracker = self._tracker(supplier_id, credentials)
        down = isinstance(error, ConnectionDown)
        signal = None if down else signal_of(operation, error)
        signals = signals_after(tracker, signal, self.settings, down=down, credentials=credentials)
        for each in signals:
            await self.observe(supplier_id, each, account_id=account_id)
        if probe and error is not None and self._store is not None:
            current = self.status(supplier_id)
            if current.breaker_open:
                await self._store.probe_failed(current)

    async def observe(self, supplier_id: str, signal: Signal, *, account_id: str | None = None) -> bool:
        """Store the change `signal` makes to the shared state, if any; True if this call made it."""
        if next_state(self.status(supplier_id), signal, self._clock(), rate_dwell=self._dwell) is None:
            return False  # the common case: nothing changes, no I/O
        store = self._store
        if store is None:
            return False

        def fields(current: Status, now: datetime) -> dict[str, Any] | None:
            change = next_state(current, signal, now, rate_dwell=self._dwell)
            return None if change is None else self._fields(current, change, now, account_id)

        return await self._change(store, supplier_id, fields)

    async def _change(
        self,
        store: ConnectionStore,
        supplier_id: str,
        fields_for: Callable[[Status, datetime], dict[str, Any] | None],
    ) -> bool:
        """Store (compare-and-set) and publish the change `fields_for` makes to the supplier's
        current status (None: no change); True if this call made it."""
        async with self._locks.setdefault(supplier_id, asyncio.Lock()):
            current = self.status(supplier_id)
            for _ in range(5):
                now = self._clock()
                fields = fields_for(current, now)
                if fields is None:
                    return False
                if await store.transition(
                    current, fields, now + timedelta(seconds=self.settings.publish_claim_s)
                ):
                    stored = await store.load(supplier_id)
                    await self._adopt(stored, previous=current)
                    await self._publish_change(stored)
                    return True
                current = await store.load(supplier_id)  # another process changed it: look again
                await self._adopt(current)
        return False

    async def credentials_expiry(
        self, supplier_id: str, account_id: str, expires_at: datetime | None
    ) -> bool:
        """Start or end the CREDENTIALS_EXPIRING warning of the supplier (its credentials expire at
        `expires_at`, None when unknown); True if this call stored and published the change. No I/O
        when the warning in force is already the right one (every request calls it)."""
        store = self._store
        if store is None:
            return False
        now = self._clock()
        window = timedelta(days=self.settings.credentials_warning_days)
        wanted = (
            expires_at.replace(microsecond=0)  # as MongoDB keeps it (milliseconds), compared equal
            if expires_at is not None and expires_at - now <= window
            else None
        )
        if self.status(supplier_id).credentials_expiring_at == wanted:
            return False

        def fields(current: Status, now: datetime) -> dict[str, Any] | None:
            if current.credentials_expiring_at == wanted:
                return None
            change: dict[str, Any] = {"credentials_expiring_at": wanted, "changed_at": now}
            if current.version == 0:  # the first document of a supplier: a connected one
                change |= {
                    "state": "connected",
                    "since": now,
                    "service": self.service,
                    "account_id": account_id,
                }
            return change

        return await self._change(store, supplier_id, fields)

    @property
    def _dwell(self) -> timedelta:
        return timedelta(seconds=self.settings.rate_limited_window_s)

    def _fields(
        self, current: Status, change: Signal, now: datetime, account_id: str | None
    ) -> dict[str, Any]:
        state = state_of(change)
        fields: dict[str, Any] = {
            "state": state,
            "since": now,
            "changed_at": now,
            "previous_state": current.state,
            "service": self.service,
            "detail": change.detail,
            "record_type": change.record_type if state == "permission_missing" else None,
            "account_id": account_id or current.account_id,
            "last_error": {"code": change.code, "message": change.message} if change.code else None,
            "probe_failures": 0,
            "credentials_expiring_at": current.credentials_expiring_at,
            "next_probe_at": now + timedelta(seconds=self.settings.probe_interval_s)
            if state in BREAKER_OPEN
            else None,
            "credentials": change.credentials if state == "auth_failed" else None,
        }
        return fields

    async def _adopt(self, status: Status, previous: Status | None = None) -> None:
        """Take `status` as the shared state (never an older one); tell the listeners if the
        connection came back, once, even when a poll adopted it first."""
        known = self._statuses.get(status.supplier_id)
        before = previous or known or Status(status.supplier_id)
        if known is not None and known.version > before.version:
            before = known  # a poll adopted it (listeners heard) while this process was storing it
        if status.version < before.version:
            return
        self._statuses[status.supplier_id] = status
        tracker = self._trackers.get(status.supplier_id)
        if tracker is not None and (status.breaker_open or status.version > before.version):
            tracker.opened = None  # stored (or someone else's newer decision stands)
            if not status.breaker_open:
                tracker.logins_refused = 0
                tracker.outage_since, tracker.outage_attempts = None, 0
        if status.version > before.version and recovers(before.state, status.state):
            log.info(
                "NetSuite connection back: %s -> %s",
                before.state,
                status.state,
                extra={"supplier_id": status.supplier_id},
            )
            for listener in self._listeners:
                try:
                    await listener(status.supplier_id)
                except Exception:
                    log.exception("recovery listener failed", extra={"supplier_id": status.supplier_id})

    # -- status events ----------------------------------------------------------------------

    async def _publish_change(self, status: Status) -> None:
        if self._publish is None or self._store is None:
            return
        try:
            await self._publish(status_event(status))
            await self._store.mark_published(status.supplier_id, status.version)
        except Exception:
            # The document stays unpublished; once the claim lapses, a poll publishes it.
            log.exception("publishing a connection status failed", extra={"supplier_id": status.supplier_id})
            return
        log.warning(
            "NetSuite connection %s (was %s)%s",
            status.state,
            status.previous_state,
            f": {status.detail}" if status.detail else "",
            extra={"supplier_id": status.supplier_id, "error_code": status.error_code},
        )

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll, publish what was left unpublished, probe: for the life of the process (`_loop.py`)."""
        await self._loop.run()

    async def poll(self) -> None:
        """One round of the loop (tests call it directly)."""
        await self._loop.poll()

    async def credentials_changed(self, supplier_id: str) -> None:
        """New credentials arrived (an integration event, in every process that consumes them).

        They are themselves the proof that an earlier refused login is stale: this process forgets
        the refusals it counted, holds the new credentials' fingerprint (a refused login recorded
        for other credentials no longer refuses its requests, `Status.refuses`), reads the shared
        state now, and has the supplier probed at once if its breaker is open.
        """
        self._trackers.pop(supplier_id, None)
        if self._settings_of is not None:
            settings = await self._settings_of(supplier_id)
            if settings is not None:
                self._current[supplier_id] = credentials_fingerprint(settings)
        if self._store is None:
            return
        await self.load([supplier_id])
        if await self._store.probe_now(supplier_id, self._clock()):
            log.info("new credentials: probing NetSuite now", extra={"supplier_id": supplier_id})
        self._loop.expect()

    async def stop(self) -> None:
        await self._loop.stop()
