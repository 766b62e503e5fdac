"""What a NetSuite answer says about the connection: om_netsuite's errors turned into `Signal`s.

The edge's half of `om_platform.core.connections` (the state machine itself is driver-free).
"""

from __future__ import annotations

import re

from om_netsuite import AuthenticationFailed, NetSuiteError, NetSuiteHTTPError, PermanentError, TokenRefused
from om_platform.core.connections import Signal

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
