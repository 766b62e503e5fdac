"""What one process saw of a supplier's requests (`_Tracker`), and the guard each session calls.

`SupplierGuard` is om_netsuite's `RequestGuard` of one supplier's session: it refuses a request
while the breaker is open, counts what each attempt met (in the budget slot, no I/O) and reports
each finished request to the monitor (`_monitor.py`). `signals_after` turns a finished request and
the tracker into the signals that may change the shared state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from om_netsuite import NetSuiteError
from om_platform.adapters.connections._signals import describe, is_login_refused, is_outage, is_rate_limited
from om_platform.core.connections import ConnectionSettings, Signal

if TYPE_CHECKING:
    from om_platform.adapters.connections._monitor import ConnectionMonitor

MIN_RATE_SAMPLES = 10
"""Attempts a rate window needs before its 429 share means anything."""
MIN_OUTAGE_ATTEMPTS = 3
"""Failed attempts an outage needs, however long it lasted, before the breaker opens."""


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

    def admit(self, _operation: str) -> None:
        if not self.probe:
            self._monitor.check(self.supplier_id, self.credentials)

    def attempted(self, _operation: str, error: NetSuiteError | None) -> None:
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


def signals_after(
    tracker: _Tracker,
    signal: Signal | None,
    settings: ConnectionSettings,
    *,
    down: bool,
    credentials: str | None,
) -> list[Signal]:
    """What one finished request changes, given what this process saw before (`tracker`).

    `signal` is what the request's own answer says (`signal_of`; None when it says nothing on its
    own or the request was refused by the open breaker, `down`), made with `credentials`. A breaker this process opened
    (its retry may have been the one refused) is stored with the last error; the 429 share of the
    window reports `rate_limited`, or its end.
    """
    signals: list[Signal] = []
    if signal is not None and credentials is not None:
        signal = replace(signal, credentials=credentials)
    if signal is not None:
        signals.append(signal)
        if signal.kind == "answered":
            tracker.opened = None
    elif tracker.opened is not None and tracker.last_error is not None:
        code, message = describe(tracker.last_error)
        signals.append(Signal(tracker.opened, code=code, message=message, credentials=tracker.credentials))
    share = None if down else tracker.rate_share()
    if share is not None and share >= settings.rate_limited_share:
        signals.append(
            Signal(
                "rate_limited",
                detail=f"{share:.0%} of the last {len(tracker.window)} requests answered 429",
                code="CONCURRENCY_LIMIT_EXCEEDED",
                message="Concurrent request limit exceeded. Request blocked.",
            )
        )
    elif share is not None and share < settings.rate_limited_share / 2:
        signals.append(Signal("rate_ok"))
    return signals


def same_credentials(held: str | None, given: str | None) -> bool:
    """Whether two credential fingerprints may be the same credentials (unknown matches anything)."""
    return held is None or given is None or held == given
