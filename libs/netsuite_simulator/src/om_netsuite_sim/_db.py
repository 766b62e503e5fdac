"""The SuiteQL side of an account: NetSuite-shaped tables in an in-memory SQLite database.

REST writes keep these rows in step with the record documents, so SuiteQL (``_suiteql``) reads
the same data with NetSuite's table and column names (Help "SuiteQL", Records Catalog).
Datetimes are stored as ``YYYY-MM-DDTHH:MM:SS`` (UTC) so that comparisons against
``TO_DATE``/``TO_TIMESTAMP`` work as text; raw date columns are rendered in the user's date
format on output, as NetSuite does.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

__all__ = ["create_database", "from_oracle_format", "to_char", "to_date"]

_SCHEMA = """
CREATE TABLE "transaction" (
  id INTEGER PRIMARY KEY, tranid TEXT, transactionnumber TEXT, trandisplayname TEXT, type TEXT,
  recordtype TEXT, entity INTEGER, trandate TEXT, duedate TEXT, closedate TEXT, createddate TEXT,
  lastmodifieddate TEXT, status TEXT, status_cf TEXT, status_df TEXT, externalid TEXT,
  foreigntotal NUMERIC, foreignamountpaid NUMERIC, foreignamountunpaid NUMERIC,
  createdfrom INTEGER, memo TEXT, otherrefnum TEXT, currency INTEGER, location INTEGER,
  department INTEGER, class INTEGER, subsidiary INTEGER, account INTEGER, posting TEXT,
  approvalstatus INTEGER, exchangerate NUMERIC, taxtotal NUMERIC, voided TEXT
);
CREATE INDEX transaction_type_id ON "transaction"(type, id);
CREATE INDEX transaction_lmd ON "transaction"(lastmodifieddate, id);
CREATE INDEX transaction_externalid ON "transaction"(externalid);
CREATE TABLE transactionline (
  "transaction" INTEGER, id INTEGER, linesequencenumber INTEGER, mainline TEXT, taxline TEXT,
  item INTEGER, itemtype TEXT, quantity NUMERIC, rate NUMERIC, rateamount NUMERIC,
  netamount NUMERIC, foreignamount NUMERIC, createdfrom INTEGER, entity INTEGER, location INTEGER,
  department INTEGER, class INTEGER, memo TEXT, isclosed TEXT, quantitybilled NUMERIC,
  linelastmodifieddate TEXT, PRIMARY KEY ("transaction", id)
);
CREATE INDEX transactionline_createdfrom ON transactionline(createdfrom);
CREATE TABLE transactionaccountingline (
  "transaction" INTEGER, transactionline INTEGER, account INTEGER, posting TEXT,
  debit NUMERIC, credit NUMERIC, amount NUMERIC, accountingbook INTEGER
);
CREATE TABLE customer (
  id INTEGER PRIMARY KEY, entityid TEXT, entitytitle TEXT, altname TEXT, companyname TEXT,
  email TEXT, phone TEXT, firstname TEXT, lastname TEXT, isperson TEXT, isinactive TEXT,
  salesrep INTEGER, subsidiary INTEGER, externalid TEXT, datecreated TEXT,
  lastmodifieddate TEXT, balance NUMERIC
);
CREATE INDEX customer_lmd ON customer(lastmodifieddate, id);
CREATE TABLE item (
  id INTEGER PRIMARY KEY, itemid TEXT, displayname TEXT, description TEXT, itemtype TEXT,
  subtype TEXT, isinactive TEXT, externalid TEXT, cost NUMERIC, baseprice NUMERIC,
  upccode TEXT, createddate TEXT, lastmodifieddate TEXT, totalquantityonhand NUMERIC
);
CREATE INDEX item_lmd ON item(lastmodifieddate, id);
CREATE TABLE location (
  id INTEGER PRIMARY KEY, name TEXT, fullname TEXT, externalid TEXT, isinactive TEXT,
  subsidiary INTEGER, lastmodifieddate TEXT
);
CREATE TABLE inventoryitemlocations (
  item INTEGER, location INTEGER, quantityonhand NUMERIC, quantityavailable NUMERIC,
  quantitycommitted NUMERIC, quantitybackordered NUMERIC, quantityonorder NUMERIC,
  quantityintransit NUMERIC, lastquantityavailablechange TEXT, PRIMARY KEY (item, location)
);
CREATE VIEW aggregateitemlocation AS SELECT * FROM inventoryitemlocations;
CREATE VIEW inventorybalance AS
  SELECT item, location, quantityonhand, quantityavailable FROM inventoryitemlocations;
CREATE TABLE salestaxitem (
  id INTEGER PRIMARY KEY, itemid TEXT, name TEXT, rate NUMERIC, description TEXT, isinactive TEXT
);
CREATE TABLE deletedrecord (
  recordid INTEGER, type TEXT, recordtypeid TEXT, name TEXT, externalid TEXT, deleteddate TEXT,
  context TEXT, iscustomrecord TEXT, iscustomlist TEXT
);
CREATE INDEX deletedrecord_date ON deletedrecord(deleteddate, recordid);
CREATE TABLE ns_refnames (kind TEXT, id INTEGER, name TEXT, PRIMARY KEY (kind, id));
"""

_ORACLE_TOKENS = [
    ("YYYY", "%Y"),
    ("HH24", "%H"),
    ("HH12", "%I"),
    ("MM", "%m"),
    ("DD", "%d"),
    ("HH", "%I"),
    ("MI", "%M"),
    ("SS", "%S"),
    ("YY", "%y"),
    ("MON", "%b"),
    ("AM", "%p"),
    ("PM", "%p"),
]
_INTERNAL = "%Y-%m-%dT%H:%M:%S"


def from_oracle_format(mask: str) -> str:
    """Translate an Oracle date mask (``YYYY-MM-DD HH24:MI:SS``) to a strftime pattern."""
    out: list[str] = []
    i = 0
    upper = mask.upper()
    while i < len(mask):
        for token, directive in _ORACLE_TOKENS:
            if upper.startswith(token, i):
                out.append(directive)
                i += len(token)
                break
        else:
            # FF / FF1..FF9 (fractional seconds) render as zeros: the store keeps whole seconds.
            match = re.match(r"FF(\d?)", upper[i:])
            if match:
                out.append("0" * int(match.group(1) or "6"))
                i += len(match.group(0))
                continue
            out.append(mask[i].replace("%", "%%"))
            i += 1
    return "".join(out)


def to_date(value: Any, mask: Any = None) -> str | None:
    """SQL ``TO_DATE``/``TO_TIMESTAMP``: parse text with an Oracle mask to the internal form."""
    if value is None:
        return None
    text = str(value)
    if mask is None:
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y"):
            try:
                return datetime.strptime(text, pattern).strftime(_INTERNAL)  # noqa: DTZ007
            except ValueError:
                continue
        raise ValueError(f"cannot parse date {text!r} without a format mask")
    parsed = datetime.strptime(text, from_oracle_format(str(mask)))  # noqa: DTZ007
    return parsed.strftime(_INTERNAL)


def to_char(value: Any, mask: Any = None) -> str | None:
    """SQL ``TO_CHAR``: format an internal datetime with an Oracle mask (numbers pass through)."""
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", value):
        parsed = datetime.strptime(value, _INTERNAL)  # noqa: DTZ007
        if mask is None:
            return user_date(value)
        return parsed.strftime(from_oracle_format(str(mask)))
    return str(value)


def user_date(value: str) -> str:
    """Render an internal datetime in the account's date preference (``M/D/YYYY [h:mm am]``)."""
    parsed = datetime.strptime(value, _INTERNAL)  # noqa: DTZ007
    date_part = f"{parsed.month}/{parsed.day}/{parsed.year}"
    if parsed.hour == parsed.minute == parsed.second == 0:
        return date_part
    hour = parsed.hour % 12 or 12
    suffix = "am" if parsed.hour < 12 else "pm"
    return f"{date_part} {hour}:{parsed.minute:02d} {suffix}"


def _nvl(value: Any, default: Any) -> Any:
    return default if value is None else value


def _sysdate() -> str:
    return datetime.now(UTC).strftime(_INTERNAL)


def create_database() -> sqlite3.Connection:
    """A fresh in-memory database with the NetSuite tables and SuiteQL helper functions."""
    db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    db.executescript(_SCHEMA)
    db.execute("PRAGMA case_sensitive_like = ON")  # Oracle LIKE is case-sensitive
    db.create_function("to_date", 2, to_date, deterministic=True)
    db.create_function("to_date", 1, to_date, deterministic=True)
    db.create_function("to_timestamp", 2, to_date, deterministic=True)
    db.create_function("to_timestamp", 1, to_date, deterministic=True)
    db.create_function("to_char", 2, to_char, deterministic=True)
    db.create_function("to_char", 1, to_char, deterministic=True)
    db.create_function("nvl", 2, _nvl, deterministic=True)
    db.create_function("ns_sysdate", 0, _sysdate)
    return db
