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

The monitor's loop (`run`, supervised by the runtime, every `status_poll_s`) reads the suppliers
that are not connected or changed since its last read (so other processes' changes reach this one
within a poll, and the healthy suppliers cost nothing), publishes changes whose process died before
publishing them, and probes: each open breaker gets one probe request (a one-row currency list
through the supplier's own credentials and budget) at `probe_interval_s` after it opened, doubling
per failed probe up to `probe_max_interval_s`; the process whose conditional write moves the probe
time forward sends it, so there is one prober per supplier across every replica and service. New
credentials in the integration make the probe due at once (`credentials_changed`), and each
process that saw them then reads the shared states every `FAST_POLL_S` for `EXPECTING_S`, so it
takes the probe's answer (whoever sent it) within a fraction of a second. New credentials also
lift a refused login in every process at once, without waiting for anyone's probe or poll: an
`auth_failed` state carries the fingerprint of the sealed credentials that were refused
(`credentials_fingerprint`) and refuses only requests made with those (`Status.refuses`); each
process consumes the integration event itself and from then on sends with, and judges by, the new
fingerprint. Operator commands read the shared state first (`refresh`), not this process's view.

When a supplier's state leaves a broken one (`recovers`), the monitor calls the services'
`on_recovered` listeners (order_sync re-syncs what it parked, finance_sync runs its skipped slots
at once; stock_sync's scheduler simply stops skipping the supplier). A listener hears the change
from the process that made it or, within one poll, from any other process; a process that was not
running then catches up on its own at start (order_sync's re-sync of parked records).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from om_contracts import (
    ConnectionState,
    IntegrationSettings,
    NetSuiteIntegrationStatus,
)
from om_netsuite import NetSuiteError, NetSuiteSession
from om_platform.adapters.connections._signals import (
    describe,
    is_login_refused,
    is_outage,
    is_rate_limited,
    signal_of,
)
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

FAST_POLL_S = 0.2
EXPECTING_S = 15.0
"""After new credentials, every process reads the shared states every `FAST_POLL_S` for this long:
whichever process probes, the others take its answer within a fraction of a second, not a poll."""
MIN_RATE_SAMPLES = 10
"""Attempts a rate window needs before its 429 share means anything."""
MIN_OUTAGE_ATTEMPTS = 3
"""Failed attempts an outage needs, however long it lasted, before the breaker opens."""

Recovered = Callable[[str], Awaitable[None]]
PublishStatus = Callable[[NetSuiteIntegrationStatus], Awaitable[None]]
ProbeSession = Callable[[str, IntegrationSettings], NetSuiteSession]
SettingsOf = Callable[[str], Awaitable[IntegrationSettings | None]]
"""The supplier's integration settings as stored now (not a cached copy): what a probe must use."""


@dataclass
class _Tracker:
    """What this process saw of one supplier's recent attempts (no I/O, updated in the slot)."""

    logins_refused: int = 0
    outage_since: float | None = None
    outage_attempts: int = 0
    opened: Literal["auth_failed", "unreachable"] | None = None
    """The breaker this process opened on its own and has not seen stored yet."""
    opened_at: float = 0.0
    window: deque[tuple[float, bool]] = field(default_factory=deque)
    last_error: NetSuiteError | None = None
    credentials: str | None = None
    """The credentials (fingerprint) these attempts were made with."""

    def attempt(self, error: NetSuiteError | None, now: float, settings: ConnectionSettings) -> None:
        self.window.append((now, is_rate_limited(error)))
        horizon = now - settings.rate_limited_window_s
        while self.window and self.window[0][0] < horizon:
            self.window.popleft()
        if is_rate_limited(error):
            return  # NetSuite answered: neither a refused login nor an outage
        if is_login_refused(error):
            self.logins_refused += 1
            self.outage_since, self.outage_attempts = None, 0
            self.last_error = error
            if self.logins_refused >= settings.auth_failed_after:
                self._open("auth_failed", now)
            return
        self.logins_refused = 0
        if is_outage(error):
            self.outage_attempts += 1
            self.last_error = error
            if self.outage_since is None:
                self.outage_since = now
            lasted = now - self.outage_since
            if lasted >= settings.unreachable_after_s and self.outage_attempts >= MIN_OUTAGE_ATTEMPTS:
                self._open("unreachable", now)
            return
        self.outage_since, self.outage_attempts = None, 0  # answered: the connection works

    def _open(self, state: Literal["auth_failed", "unreachable"], now: float) -> None:
        if self.opened is None:
            self.opened, self.opened_at = state, now

    def rate_share(self) -> float | None:
        if len(self.window) < MIN_RATE_SAMPLES:
            return None
        return sum(1 for _, limited in self.window if limited) / len(self.window)


class SupplierGuard:
    """om_netsuite `RequestGuard` of one supplier's session (module docstring)."""

    def __init__(
        self,
        monitor: ConnectionMonitor,
        supplier_id: str,
        account_id: str,
        *,
        probe: bool,
        credentials_expire_at: datetime | None = None,
        credentials: str | None = None,
    ) -> None:
        self._monitor = monitor
        self.supplier_id = supplier_id
        self.account_id = account_id
        self.probe = probe
        self.credentials_expire_at = credentials_expire_at
        self.credentials = credentials

    def admit(self, operation: str) -> None:
        if not self.probe:
            self._monitor.check(self.supplier_id, self.credentials)

    def attempted(self, operation: str, error: NetSuiteError | None) -> None:
        self._monitor.attempted(self.supplier_id, error, self.credentials)

    async def finished(self, operation: str, error: BaseException | None) -> None:
        await self._monitor.finished(
            self.supplier_id,
            self.account_id,
            operation,
            error,
            probe=self.probe,
            credentials=self.credentials,
        )
        await self._monitor.credentials_expiry(self.supplier_id, self.account_id, self.credentials_expire_at)


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
        self._probe_session: ProbeSession | None = None
        self._statuses: dict[str, Status] = {}
        self._trackers: dict[str, _Tracker] = {}
        self._current: dict[str, str] = {}
        """The credentials (fingerprint) this process holds for each supplier, newest seen."""
        self._locks: dict[str, asyncio.Lock] = {}
        self._listeners: list[Recovered] = []
        self._probing: dict[str, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()
        self._last_read: datetime | None = None
        self._expecting_until = 0.0
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
        self._probe_session = probe_session

    def on_recovered(self, listener: Recovered) -> None:
        """Call `listener(supplier_id)` when a supplier's connection comes back (see `recovers`).

        Listeners run inside the request or poll that saw the change: they must be quick (note the
        work, durably if it must survive a crash, and let a loop of the service do it)."""
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
        if tracker is not None and tracker.opened is not None and _same(tracker.credentials, credentials):
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

    def is_open(self, supplier_id: str) -> bool:
        return self.open_state(supplier_id) is not None

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
        if tracker is None or not _same(tracker.credentials, credentials):
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
        signals: list[Signal] = []
        signal = None if isinstance(error, ConnectionDown) else signal_of(operation, error)
        if signal is not None and credentials is not None:
            signal = replace(signal, credentials=credentials)
        if signal is not None:
            signals.append(signal)
            if signal.kind == "answered":
                tracker.opened = None
        elif tracker.opened is not None and tracker.last_error is not None:
            # This process opened the breaker (its retry may have been the one refused): store it.
            code, message = describe(tracker.last_error)
            signals.append(
                Signal(tracker.opened, code=code, message=message, credentials=tracker.credentials)
            )
        share = None if isinstance(error, ConnectionDown) else tracker.rate_share()
        if share is not None and share >= self.settings.rate_limited_share:
            signals.append(
                Signal(
                    "rate_limited",
                    detail=f"{share:.0%} of the last {len(tracker.window)} requests answered 429",
                    code="CONCURRENCY_LIMIT_EXCEEDED",
                    message="Concurrent request limit exceeded. Request blocked.",
                )
            )
        elif share is not None and share < self.settings.rate_limited_share / 2:
            signals.append(Signal("rate_ok"))
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
        """Take `status` as the shared state; tell the listeners if the connection came back."""
        before = previous or self._statuses.get(status.supplier_id) or Status(status.supplier_id)
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
        """Poll, publish what was left unpublished, probe: for the life of the process."""
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading NetSuite connection states failed; retrying")
            # Right after new credentials, another process's probe decides: read its answer soon.
            soon = time.monotonic() < self._expecting_until
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wakeup.wait(),
                    min(FAST_POLL_S, self.settings.status_poll_s) if soon else self.settings.status_poll_s,
                )
            self._wakeup.clear()

    async def poll(self) -> None:
        """One round of the loop (tests call it directly)."""
        store = self._store
        if store is None:
            return
        now = self._clock()
        since = (self._last_read or now) - timedelta(seconds=max(5.0, 2 * self.settings.status_poll_s))
        for status in await store.not_connected_or_changed_since(since):
            await self._adopt(status)
        self._last_read = now
        for status in await store.unpublished(now):
            if await store.claim_publication(
                status, now, now + timedelta(seconds=self.settings.publish_claim_s)
            ):
                await self._publish_change(status)
        for status in list(self._statuses.values()):
            due = status.next_probe_at
            if (
                status.breaker_open
                and due is not None
                and due <= now
                and status.supplier_id not in self._probing
            ):
                await self._claim_and_probe(store, status, now)

    async def _claim_and_probe(self, store: ConnectionStore, status: Status, now: datetime) -> None:
        delay = min(
            self.settings.probe_interval_s * 2 ** (status.probe_failures + 1),
            self.settings.probe_max_interval_s,
        )
        if not await store.claim_probe(status, now + timedelta(seconds=delay)):
            return  # another process probes it (or it changed): the next poll reads what happened
        supplier_id = status.supplier_id
        task = asyncio.create_task(self._probe(supplier_id), name=f"probe:{supplier_id}")
        self._probing[supplier_id] = task
        task.add_done_callback(lambda _t: self._probing.pop(supplier_id, None))

    async def _probe(self, supplier_id: str) -> None:
        if self._settings_of is None or self._probe_session is None:
            return
        try:
            integration = await self._settings_of(supplier_id)
            if integration is None:
                return  # disconnected: nothing to probe until it connects again
            session = self._probe_session(supplier_id, integration)
            log.info("probing NetSuite", extra={"supplier_id": supplier_id})
            currencies = session.list("currency", page_size=1)
            try:
                await anext(currencies, None)  # one page of one row: the answer, not its content, counts
            finally:
                if isinstance(currencies, AsyncGenerator):
                    await currencies.aclose()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("NetSuite probe failed: %s", exc, extra={"supplier_id": supplier_id})

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
        self._expecting_until = time.monotonic() + EXPECTING_S
        self._wakeup.set()

    async def stop(self) -> None:
        tasks = list(self._probing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _same(held: str | None, given: str | None) -> bool:
    """Whether two credential fingerprints may be the same credentials (unknown matches anything)."""
    return held is None or given is None or held == given
