"""SuiteQL over REST (Help section_157909186990) translated onto the account's SQLite tables.

Supported Oracle/NetSuite forms: ``BUILTIN.DF``/``BUILTIN.CF``, ``TO_DATE``/``TO_TIMESTAMP``/
``TO_CHAR`` with Oracle masks, ``NVL``, ``SYSDATE``, ``DATE 'yyyy-mm-dd'`` literals,
``ROWNUM <= n`` and ``FETCH FIRST n ROWS ONLY``, ``?`` parameters bound from ``params``.
Paging follows Collection Paging (section_156414087576): ``limit`` at most 1000, ``offset`` a
multiple of ``limit``, at most 100,000 rows reachable.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

from ._db import is_stored_datetime, user_date
from ._responses import ApiError

__all__ = ["MAX_LIMIT", "MAX_REACHABLE", "run_suiteql", "translate"]

MAX_LIMIT = 1000
MAX_REACHABLE = 100_000
_DF_RE = re.compile(r"BUILTIN\.(DF|CF)\s*\(\s*((?:\w+\.)?)(\w+)\s*\)", re.IGNORECASE)
_REF_KINDS = {
    "entity": "customer",
    "customer": "customer",
    "item": "item",
    "location": "location",
    "department": "department",
    "class": "classification",
    "salesrep": "employee",
    "currency": "currency",
    "subsidiary": "subsidiary",
    "account": "account",
    "createdfrom": "transaction",
    "transaction": "transaction",
    "terms": "term",
}
_ITEM_TYPES = {
    "InvtPart": "Inventory Item",
    "NonInvtPart": "Non-inventory Item",
    "Service": "Service",
    "OthCharge": "Other Charge",
    "Discount": "Discount",
}
_TRAN_TYPES = {
    "SalesOrd": "Sales Order",
    "CustInvc": "Invoice",
    "CustCred": "Credit Memo",
    "CustPymt": "Payment",
    "CustDep": "Customer Deposit",
    "Deposit": "Deposit",
}


def _builtin(match: re.Match[str]) -> str:
    func, prefix, column = match.group(1).upper(), match.group(2), match.group(3).lower()
    target = f"{prefix}{column}"
    if column == "status":
        return f"{prefix}status_{func.lower()}"
    if func == "CF":
        return target
    if column == "itemtype":
        labels = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _ITEM_TYPES.items())
        return f"(CASE {target} {labels} ELSE {target} END)"
    if column == "type":
        labels = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _TRAN_TYPES.items())
        return f"(CASE {target} {labels} ELSE {target} END)"
    kind = _REF_KINDS.get(column)
    if kind is None:
        return target
    # kind comes from the fixed table above and target is an identifier matched by _DF_RE.
    return (
        f"(SELECT ns_r.name FROM ns_refnames ns_r WHERE ns_r.kind = '{kind}' "  # noqa: S608
        f"AND ns_r.id = {target})"
    )


def translate(query: str) -> str:
    """Rewrite the NetSuite/Oracle dialect into SQLite."""
    sql = query.strip().rstrip(";")
    sql = _DF_RE.sub(_builtin, sql)
    # TRANSACTION is an SQLite keyword; NetSuite uses it as a table and a column name.
    sql = re.sub(r"(?<![\w\"'])transaction(?![\w\"'])", '"transaction"', sql, flags=re.IGNORECASE)
    sql = re.sub(r"\bSYSDATE\b", "ns_sysdate()", sql, flags=re.IGNORECASE)
    sql = re.sub(r"\bDATE\s+'(\d{4}-\d\d-\d\d)'", r"'\1T00:00:00'", sql, flags=re.IGNORECASE)
    limit: int | None = None
    fetch = re.search(r"\s+FETCH\s+FIRST\s+(\d+)\s+ROWS?\s+ONLY\s*$", sql, flags=re.IGNORECASE)
    if fetch:
        limit = int(fetch.group(1))
        sql = sql[: fetch.start()]
    rownum = re.search(r"\bROWNUM\s*(<=|<)\s*(\d+)", sql, flags=re.IGNORECASE)
    if rownum:
        limit = int(rownum.group(2)) - (1 if rownum.group(1) == "<" else 0)
        sql = sql[: rownum.start()] + "1 = 1" + sql[rownum.end() :]
    if limit is not None:
        sql = f"{sql} LIMIT {limit}"
    return sql


def _text(value: Any, zone: ZoneInfo | None = None) -> str:
    if isinstance(value, float):
        text = f"{value:.10f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    if is_stored_datetime(value):
        return user_date(value, zone)  # date-times in the user's time zone (``_db``)
    return str(value)


def _bad_query(detail: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_PARAMETER",
        "Invalid search query. Detailed unprocessed description follows. " + detail,
    )


def check_paging(limit: int, offset: int) -> None:
    if limit < 1 or limit > MAX_LIMIT:
        raise ApiError(
            400, "INVALID_PARAMETER", f"Invalid value for the parameter limit: {limit}. "
            f"The value must be between 1 and {MAX_LIMIT}.",
        )  # fmt: skip
    if offset < 0 or offset % limit:
        raise ApiError(
            400, "INVALID_PARAMETER",
            f"Invalid value for the parameter offset: {offset}. The offset must be a multiple "
            "of the limit.",
        )  # fmt: skip
    if offset + limit > MAX_REACHABLE:
        raise ApiError(
            400, "INVALID_PARAMETER",
            f"Invalid value for the parameter offset: {offset}. Only the first {MAX_REACHABLE} "
            "results can be retrieved.",
        )  # fmt: skip


def run_suiteql(
    db: sqlite3.Connection, query: Any, params: Any, limit: int, offset: int, self_url: str
) -> dict[str, Any]:
    """Execute one page; returns NetSuite's collection shape with string values, nulls omitted."""
    check_paging(limit, offset)
    if not isinstance(query, str) or not query.strip():
        raise ApiError(400, "INVALID_PARAMETER", "The request body must contain a query in 'q'.")
    if not re.match(r"^\s*SELECT\b", query, flags=re.IGNORECASE):
        raise _bad_query("Only SELECT statements are supported.")
    if query.count("[") or re.search(r"^\s*WITH\b", query, flags=re.IGNORECASE):
        raise _bad_query("Search error occurred: Invalid or unsupported search.")
    bound = [str(p) if isinstance(p, int | float) else p for p in params or []]
    sql = translate(query)
    try:
        total = db.execute(f"SELECT COUNT(*) FROM ({sql})", bound).fetchone()[0]  # noqa: S608
        cursor = db.execute(f"SELECT * FROM ({sql}) LIMIT ? OFFSET ?", [*bound, limit, offset])  # noqa: S608
        rows = cursor.fetchall()
    except (sqlite3.Error, ValueError) as exc:
        raise _bad_query(f"Search error occurred: {exc}") from None
    names = [d[0].lower().split(".")[-1] for d in cursor.description]
    zone: ZoneInfo | None = getattr(db, "zone", None)
    items = [
        {"links": [], **{n: _text(v, zone) for n, v in zip(names, row, strict=True) if v is not None}}
        for row in rows
    ]
    return {
        "links": [{"rel": "self", "href": self_url}],
        "count": len(items),
        "hasMore": offset + len(items) < total,
        "items": items,
        "offset": offset,
        "totalResults": total,
    }
