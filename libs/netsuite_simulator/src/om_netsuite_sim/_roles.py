"""The token's role: which permissions it lacks, and how NetSuite refuses what they govern.

A role without the permission a record type needs gets 403 ``INSUFFICIENT_PERMISSION`` with
NetSuite's wording, which names the permission by its subtab and name ("Permission Violation: You
need  the 'Transactions -> Customer Deposit' permission to access this page. Please contact your
account administrator.", as SOAP and SuiteScript report it; reference §4.2). SuiteQL needs
SuiteAnalytics Workbook (same 403), and a table the role may not read answers 400 "Record 'x'
was not found." (reference §5.2: SuiteQL enforces the role's access like Workbook does).

Permissions are named as NetSuite's Manage Roles page names them; matching is case-insensitive.
"""

from __future__ import annotations

import re

from ._responses import ApiError

__all__ = ["RECORD_PERMISSIONS", "check_record", "check_suiteql"]

RECORD_PERMISSIONS: dict[str, tuple[str, str]] = {
    "salesorder": ("Transactions", "Sales Order"),
    "invoice": ("Transactions", "Invoice"),
    "creditmemo": ("Transactions", "Credit Memo"),
    "customerpayment": ("Transactions", "Customer Payment"),
    "customerdeposit": ("Transactions", "Customer Deposit"),
    "deposit": ("Transactions", "Make Deposits"),
    "customer": ("Lists", "Customers"),
    "inventoryitem": ("Lists", "Items"),
    "noninventorysaleitem": ("Lists", "Items"),
    "noninventoryresaleitem": ("Lists", "Items"),
    "servicesaleitem": ("Lists", "Items"),
    "otherchargesaleitem": ("Lists", "Items"),
    "discountitem": ("Lists", "Items"),
    "location": ("Lists", "Locations"),
    "currency": ("Lists", "Currency"),
}
"""REST record type (lower case) -> (subtab, permission) the role needs for it."""

TABLE_PERMISSIONS: dict[str, str] = {
    "transaction": "Find Transaction",
    "transactionline": "Find Transaction",
    "transactionaccountingline": "Find Transaction",
    "customer": "Customers",
    "item": "Items",
    "inventoryitemlocations": "Items",
    "aggregateitemlocation": "Items",
    "inventorybalance": "Items",
    "location": "Locations",
}
"""SuiteQL table -> the permission that lets the role read it."""

WORKBOOK = ("Reports", "SuiteAnalytics Workbook")
_TABLES = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def _refused(subtab: str, name: str) -> ApiError:
    return ApiError(
        403,
        "INSUFFICIENT_PERMISSION",
        f"Permission Violation: You need  the '{subtab} -> {name}' permission to access this page. "
        "Please contact your account administrator.",
    )


def _denied(denied: set[str], name: str) -> bool:
    return name.lower() in denied


def check_record(denied: set[str], type_name: str) -> None:
    """Raise the 403 NetSuite answers when the role lacks the record type's permission."""
    needed = RECORD_PERMISSIONS.get(type_name.lower())
    if needed is not None and _denied(denied, needed[1]):
        raise _refused(*needed)


def check_suiteql(denied: set[str], query: object) -> None:
    """Raise what NetSuite answers when the role may not run the query or read one of its tables."""
    if _denied(denied, WORKBOOK[1]):
        raise _refused(*WORKBOOK)
    for table in _TABLES.findall(query if isinstance(query, str) else ""):
        needed = TABLE_PERMISSIONS.get(table.lower())
        if needed is not None and _denied(denied, needed):
            raise ApiError(400, "INVALID_PARAMETER", f"Record '{table}' was not found.")
