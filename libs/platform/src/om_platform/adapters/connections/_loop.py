"""The connection monitor's loop: read the shared states, publish what was left unpublished, probe.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime, timedelta

from om_contracts import IntegrationSettings
from om_netsuite import NetSuiteSession
from om_platform.adapters.mongo.connections import ConnectionStore
from om_platform.core.connections import ConnectionSettings, Status
from om_platform.core.tasks import cancel_and_wait

log = logging.getLogger(__name__)

FAST_POLL_S = 0.2
EXPECTING_S = 15.0
"""After new credentials, every process reads the shared states every `FAST_POLL_S` for this long:
whichever process probes, the others take its answer within a fraction of a second, not a poll."""

ProbeSession = Callable[[str, IntegrationSettings], NetSuiteSession]
SettingsOf = Callable[[str], Awaitable[IntegrationSettings | None]]
"""The supplier's integration settings as stored now (not a cached copy): what a probe must use."""
Adopt = Callable[[Status], Awaitable[None]]


class StatusLoop:
    """The monitor's loop over `statuses` (shared with the monitor, which adopts what it reads)."""

    def __init__(
        self,
        settings: ConnectionSettings,
        clock: Callable[[], datetime],
        statuses: dict[str, Status],
        adopt: Adopt,
        publish_change: Callable[[Status], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._statuses = statuses
        self._adopt = adopt
        self._publish_change = publish_change
        self._store: ConnectionStore | None = None
        self._settings_of: SettingsOf | None = None
        self._probe_session: ProbeSession | None = None
        self._probing: dict[str, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()
        self._last_read: datetime | None = None
        self._expecting_until = 0.0

    def attach(
        self, store: ConnectionStore, settings_of: SettingsOf | None, probe_session: ProbeSession
    ) -> None:
        self._store = store
        self._settings_of = settings_of
        self._probe_session = probe_session

    def expect(self) -> None:
        """New credentials: read the shared states often for a while, and now."""
        self._expecting_until = time.monotonic() + EXPECTING_S
        self._wakeup.set()

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

    async def stop(self) -> None:
        await cancel_and_wait(list(self._probing.values()))
