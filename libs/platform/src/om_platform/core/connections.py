"""A supplier's NetSuite connection as the core sees it: states, the breaker's rules, the view (pure).

Driver-free: what a NetSuite answer *says* about a connection (its errors turned into `Signal`s)
is read at the edge, `om_platform.adapters.connections`, which also holds the monitor (breaker,
prober, status publisher); the shared state is stored by `om_platform.adapters.mongo.connections`.

States (``om_contracts.ConnectionState``) and the breaker:

    connected ──401 INVALID_LOGIN x N──────────▶ auth_failed    ┐ breaker open: nothing is sent
        │   ──only failures (5xx, timeouts) for S s─▶ unreachable ┘ but one probe at a time
        │   ──403 INSUFFICIENT_PERMISSION─────▶ permission_missing (records still sent)
        └───429 share over the window ≥ T────▶ rate_limited       (reported, nothing parked)

A success (any answer that proves the login works: 2xx, or a 4xx about the request itself) closes
the breaker (-> connected); a success on the record type a permission was missing for clears
`permission_missing`; a 403 while the breaker is open proves the login works and moves to
`permission_missing`. `rate_limited` is entered only from `connected` and left once the 429 share
fell below half the threshold over a whole window, at least one window after it was entered (so
two processes with different views do not flap). The more severe states are never overwritten by
a lesser one: `auth_failed` by `unreachable`, either by `rate_limited`.

An OAuth 2.0 token refusal (`TokenRefused`: NetSuite's token endpoint refused the client assertion)
is `auth_failed` at once, whatever the kind of credentials: the refusal is definitive, and `detail`
names its cause (`TOKEN_CAUSES`: unknown or revoked certificate, expired certificate, clock skew).

Permissions are named as Ordermentum's setup guide names them (`SETUP_GUIDE_PERMISSIONS`): from
NetSuite's own message when it names one ("Permission Violation: You need  the 'Transactions ->
Customer Deposit' permission to access this page"), else from the record type refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from om_contracts import (
    ConnectionState,
    IntegrationSettings,
    IntegrationStatus,
    NetSuiteIntegrationStatus,
    StatusError,
    StatusWarning,
)
from om_platform.core.failures import TransientFailure

BREAKER_OPEN: frozenset[ConnectionState] = frozenset({"auth_failed", "unreachable"})
"""States in which a supplier's records are parked instead of sent."""
BROKEN: frozenset[ConnectionState] = BREAKER_OPEN | {"permission_missing"}
"""States whose end re-syncs what was parked or failed meanwhile."""

SignalKind = Literal[
    "auth_failed", "unreachable", "permission_missing", "rate_limited", "answered", "rate_ok"
]


@dataclass(frozen=True)
class Status:
    """One supplier's shared connection state (one document in the budget database)."""

    supplier_id: str
    state: ConnectionState = "connected"
    since: datetime | None = None
    version: int = 0
    """Changes so far (0: never changed, no document); transitions compare-and-set on it."""
    previous_state: ConnectionState | None = None
    service: str | None = None
    detail: str | None = None
    record_type: str | None = None
    account_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    published: bool = True
    next_probe_at: datetime | None = None
    probe_failures: int = 0
    credentials_expiring_at: datetime | None = None
    """Set while the CREDENTIALS_EXPIRING warning is in force: when the credentials expire."""
    credentials: str | None = None
    """Fingerprint of the credentials NetSuite refused (`auth_failed` only; see `refuses`)."""

    @property
    def breaker_open(self) -> bool:
        return self.state in BREAKER_OPEN

    def refuses(self, credentials: str | None) -> bool:
        """Whether the open breaker holds for requests made with `credentials` (a fingerprint).

        A refused login is a fact about the credentials that were refused: requests with other
        credentials (the supplier re-authorised) are not refused by it, and their first answer
        closes the breaker. `unreachable` holds whatever the credentials.
        """
        if not self.breaker_open:
            return False
        stale = self.state == "auth_failed" and None not in (credentials, self.credentials)
        return not (stale and credentials != self.credentials)


@dataclass(frozen=True)
class Signal:
    """What one request told about the connection."""

    kind: SignalKind
    detail: str | None = None
    record_type: str | None = None
    code: str | None = None
    message: str | None = None
    credentials: str | None = None
    """Fingerprint of the credentials the request was made with (kept for `auth_failed`)."""


def next_state(current: Status, signal: Signal, now: datetime, *, rate_dwell: timedelta) -> Signal | None:
    """The signal that changes `current` (its kind is the new state, `answered`/`rate_ok` meaning
    `connected`), or None when `signal` changes nothing (module docstring)."""
    state = current.state
    kind = signal.kind
    if kind == "auth_failed":
        other = signal.credentials is not None and signal.credentials != current.credentials
        return signal if state != "auth_failed" or other else None
    if kind == "unreachable":
        return signal if state not in BREAKER_OPEN else None
    if kind == "permission_missing":
        same = state == "permission_missing" and current.detail == signal.detail
        return None if same else signal
    if kind == "rate_limited":
        return signal if state == "connected" else None
    if kind == "rate_ok":
        dwelt = current.since is None or current.since + rate_dwell <= now
        return signal if state == "rate_limited" and dwelt else None
    # answered: the login works
    if state in BREAKER_OPEN:
        return signal
    if state == "permission_missing" and signal.record_type and signal.record_type == current.record_type:
        return signal
    return None


def state_of(signal: Signal) -> ConnectionState:
    """The state a changing signal leads to."""
    if signal.kind in ("answered", "rate_ok"):
        return "connected"
    return signal.kind  # type: ignore[return-value]  # the remaining kinds are states


def recovers(old: ConnectionState, new: ConnectionState) -> bool:
    """Whether moving from `old` to `new` should re-run what was parked or failed meanwhile: the
    breaker closed, or a missing permission was granted (records that still lack one fail again)."""
    return old in BROKEN and new not in BREAKER_OPEN and old != new


# -- the view the schedulers and use cases get ------------------------------------------------


@dataclass(frozen=True)
class ConnectionSettings:
    """The breaker's and prober's knobs (ServiceSettings `NETSUITE_*`, see the README)."""

    auth_failed_after: int = 3
    unreachable_after_s: float = 60.0
    rate_limited_share: float = 0.5
    rate_limited_window_s: float = 60.0
    probe_interval_s: float = 180.0
    probe_max_interval_s: float = 1800.0
    status_poll_s: float = 2.0
    publish_claim_s: float = 30.0
    """How long a process holds the publication of a change before another may publish it."""
    credentials_warning_days: float = 30.0
    """The CREDENTIALS_EXPIRING warning starts this many days before the credentials expire."""


class ConnectionView(Protocol):
    """What schedulers and use cases ask of the monitor (a port; `AlwaysConnected` in unit tests)."""

    def is_open(self, supplier_id: str, credentials: str | None = None) -> bool:
        """Whether the supplier's breaker is open: its work would be refused, so it waits.

        `credentials` (a `credentials_fingerprint`): asked for work that will use these; a refused
        login recorded for other credentials does not hold it back (`Status.refuses`).
        """
        ...

    async def refresh(self, supplier_id: str) -> None:
        """Read the supplier's shared state now (an operator's command acts on it, not on a cache)."""
        ...


class AlwaysConnected:
    """A `ConnectionView` whose breakers never open."""

    def is_open(self, _supplier_id: str, _credentials: str | None = None) -> bool:
        return False

    async def refresh(self, _supplier_id: str) -> None:
        return None


def credentials_fingerprint(settings: IntegrationSettings) -> str:
    """A digest of the account and its sealed credentials: equal exactly when the credentials are.

    Sealed values only (never opened), whatever kind of credentials the integration carries.
    """
    sealed = settings.credentials.model_dump(mode="json")
    text = json.dumps([settings.account_id, sealed], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ConnectionDown(TransientFailure):
    """The supplier's NetSuite connection is down (its breaker is open): nothing was sent."""

    def __init__(self, supplier_id: str, state: ConnectionState, since: datetime | None) -> None:
        when = f" since {since.isoformat()}" if since else ""
        super().__init__(f"NetSuite connection of {supplier_id} is {state}{when}; nothing sent")
        self.supplier_id = supplier_id
        self.state = state
        self.since = since

    @property
    def code(self) -> str:
        """The failure code a parked record carries."""
        return "NETSUITE_AUTH_FAILED" if self.state == "auth_failed" else "NETSUITE_UNAVAILABLE"


def status_event(status: Status) -> NetSuiteIntegrationStatus:
    """The event of one stored change; its id is derived from (supplier, version), so publishing
    the same change twice (a lapsed claim) yields the same event id for consumers to deduplicate."""
    digest = hashlib.sha256(f"{status.supplier_id}\x00{status.version}".encode()).hexdigest()[:32]
    since = status.since or datetime.now(UTC)
    error = (
        StatusError(code=status.error_code, message=status.error_message or "")
        if status.error_code and status.state != "connected"
        else None
    )
    return NetSuiteIntegrationStatus(
        event_id=f"evt_status_{digest}",
        occurred_at=since,
        supplier_id=status.supplier_id,
        data=IntegrationStatus(
            state=status.state,
            since=since,
            service=status.service or "unknown",
            previous_state=status.previous_state,
            detail=status.detail,
            record_type=status.record_type,
            account_id=status.account_id,
            last_error=error,
            warnings=_warnings(status),
        ),
    )


def _warnings(status: Status) -> tuple[StatusWarning, ...]:
    expires = status.credentials_expiring_at
    if expires is None:
        return ()
    return (
        StatusWarning(
            code="CREDENTIALS_EXPIRING",
            message=(
                f"The NetSuite OAuth 2.0 certificate expires on {expires.date().isoformat()}: upload a "
                "new certificate to the integration's OAuth 2.0 Client Credentials (M2M) mapping and "
                "save its certificate id and private key in the Ordermentum integration."
            ),
            expires_at=expires,
        ),
    )
