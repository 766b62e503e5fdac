"""The connection state machine and what NetSuite's answers say about a connection (pure).

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

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from om_contracts import ConnectionState
from om_netsuite import AuthenticationFailed, NetSuiteError, NetSuiteHTTPError, PermanentError, TokenRefused

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


# -- what an answer says ---------------------------------------------------------------------

_NAMED_PERMISSION = re.compile(r"the '(?:[^'>]*-> *)?([^']+)' permission", re.IGNORECASE)
_HIGHER_PERMISSION = re.compile(r"higher permission for (?:custom record type )?([^.']+?) to access", re.I)
_TABLE_NOT_FOUND = re.compile(r"Record '([A-Za-z_][A-Za-z0-9_]*)' was not found", re.IGNORECASE)

# NetSuite's permission names (Setup > Users/Roles > Manage Roles) -> the setup guide's.
_GUIDE_NAMES = {
    "sales order": "Sales Order",
    "invoice": "Invoice",
    "customer payment": "Customer Payment",
    "customer deposit": "Customer Deposit",
    "customer deposits": "Customer Deposit",
    "make deposits": "Make Deposits",
    "credit memo": "Credit Memo",
    "credit note": "Credit Memo",
    "deleted records": "Deleted Records",
    "currency": "Currency",
    "find transaction": "Find Transaction",
    "customers": "Customers",
    "items": "Items",
    "locations": "Locations",
    "suiteanalytics workbook": "SuiteAnalytics Workbook",
}
# REST record types and SuiteQL tables -> the permission that governs them.
_RECORD_PERMISSIONS = {
    "salesorder": "Sales Order",
    "invoice": "Invoice",
    "customerpayment": "Customer Payment",
    "customerdeposit": "Customer Deposit",
    "creditmemo": "Credit Memo",
    "deletedrecord": "Deleted Records",
    "transaction": "Find Transaction",
    "transactionline": "Find Transaction",
    "customer": "Customers",
    "item": "Items",
    "inventoryitem": "Items",
    "noninventorysaleitem": "Items",
    "servicesaleitem": "Items",
    "otherchargesaleitem": "Items",
    "inventoryitemlocations": "Items",
    "location": "Locations",
    "deposit": "Make Deposits",
    "currency": "Currency",
    "suiteql": "SuiteAnalytics Workbook",
}


TOKEN_CAUSES: dict[str, str] = {
    "unknown_certificate": "unknown or revoked certificate",
    "expired_certificate": "expired certificate",
    "clock_skew": "clock skew",
}
"""`detail` of an `auth_failed` status caused by a token refusal, per `TokenRefused.cause`."""


def record_type_of(operation: str) -> str:
    """`customerDeposit.upsert` -> `customerDeposit`; `suiteql` -> `suiteql`."""
    return operation.split(".", 1)[0]


def permission_named(record_type: str, message: str | None) -> str:
    """The setup guide's name of the permission NetSuite refused (its own name if the guide has none)."""
    for pattern in (_NAMED_PERMISSION, _HIGHER_PERMISSION):
        match = pattern.search(message or "")
        if match:
            named = match.group(1).strip()
            return _GUIDE_NAMES.get(named.lower(), named)
    return _RECORD_PERMISSIONS.get(record_type.lower(), record_type)


def signal_of(operation: str, error: BaseException | None) -> Signal | None:
    """What a finished request says: `answered` (the login works), `permission_missing`, or None
    when it says nothing on its own (401s and outages are judged over several requests)."""
    if error is None:
        return Signal("answered", record_type=record_type_of(operation))
    if not isinstance(error, NetSuiteError):
        return None
    record_type = record_type_of(operation)
    if isinstance(error, TokenRefused):
        return Signal(
            "auth_failed",
            detail=TOKEN_CAUSES[error.cause],
            code=error.oauth_error,
            message=_short(str(error)),
        )
    if isinstance(error, AuthenticationFailed) and error.status == 403:
        return _permission(record_type, error)
    if isinstance(error, PermanentError):
        table = _TABLE_NOT_FOUND.search(error.detail or "") if record_type == "suiteql" else None
        if table is not None:
            # SuiteQL reports a table the role may not read as "Record 'x' was not found."
            return _permission(table.group(1), error)
        return Signal("answered", record_type=record_type)
    return None


def _permission(record_type: str, error: NetSuiteHTTPError) -> Signal:
    return Signal(
        "permission_missing",
        detail=permission_named(record_type, error.detail),
        record_type=record_type,
        code=error.code or str(error.status),
        message=_short(error.detail or str(error)),
    )


def is_login_refused(error: NetSuiteError | None) -> bool:
    """A 401 (NetSuite's generic INVALID_LOGIN, or an OAuth 2.0 bearer refused)."""
    return isinstance(error, AuthenticationFailed) and error.status == 401


def is_outage(error: NetSuiteError | None) -> bool:
    """An attempt NetSuite did not answer usefully: 5xx, timeout, connection failure."""
    return error is not None and error.kind in ("transient", "network", "timeout")


def is_rate_limited(error: NetSuiteError | None) -> bool:
    return error is not None and error.kind == "rate_limited" and isinstance(error, NetSuiteHTTPError)


def describe(error: NetSuiteError) -> tuple[str, str]:
    """(code, message) of an error for `last_error`: NetSuite's code, or the failure kind."""
    if isinstance(error, NetSuiteHTTPError):
        return error.code or str(error.status), _short(error.detail or error.title or str(error.status))
    return type(error).__name__, _short(str(error))


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
