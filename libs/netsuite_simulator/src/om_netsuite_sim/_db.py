"""The SuiteQL side of an account: NetSuite-shaped tables in an in-memory SQLite database.

REST writes keep these rows in step with the record documents, so SuiteQL (``_suiteql``) reads
the same data with NetSuite's table and column names (Help "SuiteQL", Records Catalog).

Date-times are stored as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) and dates (``trandate``, ``duedate``)
as ``YYYY-MM-DDT00:00:00`` (no zone), so that comparisons against ``TO_DATE``/``TO_TIMESTAMP``
work as text. SuiteQL shows and parses date-times in the user's time-zone preference
(Help "Setting Personal Preferences": Time Zone; public connector reports of records missed
around account-local midnight), so ``TO_CHAR`` renders a date-time in the account's zone and
``TO_TIMESTAMP`` (or ``TO_DATE`` with a time in the mask) reads its text in that zone, DST-aware
(IANA zone). Dates carry no time zone and are never shifted. Raw date columns are rendered in
the user's date format on output, as NetSuite does.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TIME_ZONE",
    "SuiteQLDatabase",
    "create_database",
    "from_oracle_format",
    "to_char",
    "to_date",
    "utc_text",
]

DEFAULT_TIME_ZONE = "Australia/Sydney"
"""A new account's user time zone: deliberately not UTC, so that a service assuming UTC fails."""

_SCHEMA = """
CREATE TABLE "transaction" (
  id INTEGER PRIMARY KEY, tranid TEXT, transactionnumber TEXT, trandisplayname TEXT, type TEXT,
  recordtype TEXT, entity INTEGER, trandate TEXT, duedate TEXT, closedate TEXT, createddate TEXT,
  lastmodifieddate TEXT, status TEXT, status_cf TEXT, status_df TEXT, externalid TEXT,
  foreigntotal NUMERIC, foreignamountpaid NUMERIC, foreignamountunpaid NUMERIC,
  memo TEXT, otherrefnum TEXT, currency INTEGER, location INTEGER,
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
  linelastmodifieddate TEXT, iscogs TEXT, PRIMARY KEY ("transaction", id)
);
CREATE INDEX transactionline_createdfrom ON transactionline(createdfrom);
CREATE TABLE previoustransactionlinelink (
  previousdoc INTEGER, previousline INTEGER, previoustype TEXT, nextdoc INTEGER, nextline INTEGER,
  nexttype TEXT, linktype TEXT, foreignamount NUMERIC
);
CREATE INDEX ptll_next ON previoustransactionlinelink(nextdoc);
CREATE INDEX ptll_previous ON previoustransactionlinelink(previousdoc);
CREATE VIEW nexttransactionlinelink AS SELECT * FROM previoustransactionlinelink;
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
CREATE TABLE currency (
  id INTEGER PRIMARY KEY, name TEXT, symbol TEXT, isbasecurrency TEXT, isinactive TEXT
);
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
_TIME_TOKENS = re.compile(r"HH|MI|SS", re.IGNORECASE)
_UTC_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_DAY_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


def utc_text(internal: str) -> str:
    """A record's internal UTC time (``YYYY-MM-DDTHH:MM:SS``) as stored in a date-time column."""
    return f"{internal}Z"


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


def _local(value: str, zone: ZoneInfo) -> datetime:
    """A stored date-time (UTC, ``Z``) in the user's zone; a stored date as it is."""
    if value.endswith("Z"):
        return datetime.strptime(value[:-1], _INTERNAL).replace(tzinfo=UTC).astimezone(zone)
    return datetime.strptime(value, _INTERNAL)  # noqa: DTZ007 - a date has no zone


def to_date(
    value: Any, mask: Any = None, zone: ZoneInfo | None = None, *, timestamp: bool = False
) -> str | None:
    """SQL ``TO_DATE``/``TO_TIMESTAMP``: text in the user's zone to the stored form.

    With a time in the mask (or ``TO_TIMESTAMP``) the result is a UTC date-time (``...Z``);
    a bare date stays a date.
    """
    if value is None:
        return None
    text = str(value)
    parsed: datetime | None = None
    if mask is None:
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y"):
            try:
                parsed = datetime.strptime(text, pattern)  # noqa: DTZ007 - user-zone text
                break
            except ValueError:
                continue
        if parsed is None:
            raise ValueError(f"cannot parse date {text!r} without a format mask")
        with_time = timestamp or len(text) > 10
    else:
        parsed = datetime.strptime(text, from_oracle_format(str(mask)))  # noqa: DTZ007 - user-zone text
        with_time = timestamp or bool(_TIME_TOKENS.search(str(mask)))
    if not with_time:
        return parsed.strftime(_INTERNAL)
    moment = parsed.replace(tzinfo=zone or UTC).astimezone(UTC)
    return utc_text(moment.strftime(_INTERNAL))


def to_char(value: Any, mask: Any = None, zone: ZoneInfo | None = None) -> str | None:
    """SQL ``TO_CHAR``: format a stored date-time in the user's zone (numbers pass through)."""
    if value is None:
        return None
    if isinstance(value, str) and (_UTC_RE.match(value) or _DAY_RE.match(value)):
        if mask is None:
            return user_date(value, zone)
        return _local(value, zone or ZoneInfo("UTC")).strftime(from_oracle_format(str(mask)))
    return str(value)


def is_stored_datetime(value: Any) -> bool:
    return isinstance(value, str) and bool(_UTC_RE.match(value) or _DAY_RE.match(value))


def user_date(value: str, zone: ZoneInfo | None = None) -> str:
    """Render a stored date or date-time in the user's date preference (``M/D/YYYY [h:mm am]``)."""
    parsed = _local(value, zone or ZoneInfo("UTC"))
    date_part = f"{parsed.month}/{parsed.day}/{parsed.year}"
    if not value.endswith("Z") and parsed.hour == parsed.minute == parsed.second == 0:
        return date_part
    hour = parsed.hour % 12 or 12
    suffix = "am" if parsed.hour < 12 else "pm"
    return f"{date_part} {hour}:{parsed.minute:02d} {suffix}"


def _nvl(value: Any, default: Any) -> Any:
    return default if value is None else value


def _sysdate() -> str:
    return utc_text(datetime.now(UTC).strftime(_INTERNAL))


class SuiteQLDatabase(sqlite3.Connection):
    """An account's SQLite connection; ``zone`` is its user's time-zone preference."""

    zone: ZoneInfo


def create_database(time_zone: str = DEFAULT_TIME_ZONE) -> SuiteQLDatabase:
    """A fresh in-memory database with the NetSuite tables and SuiteQL helper functions."""
    db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None, factory=SuiteQLDatabase)
    db.executescript(_SCHEMA)
    db.execute("PRAGMA case_sensitive_like = ON")  # Oracle LIKE is case-sensitive
    set_time_zone(db, time_zone)
    db.create_function("nvl", 2, _nvl, deterministic=True)
    db.create_function("ns_sysdate", 0, _sysdate)
    return db


def set_time_zone(db: SuiteQLDatabase, time_zone: str) -> None:
    """Change the user's time-zone preference (an IANA name such as 'America/Los_Angeles')."""
    zone = ZoneInfo(time_zone)
    db.zone = zone

    def _to_date(value: Any, mask: Any = None) -> str | None:
        return to_date(value, mask, zone)

    def _to_timestamp(value: Any, mask: Any = None) -> str | None:
        return to_date(value, mask, zone, timestamp=True)

    def _to_char(value: Any, mask: Any = None) -> str | None:
        return to_char(value, mask, zone)

    for name, func in (("to_date", _to_date), ("to_timestamp", _to_timestamp), ("to_char", _to_char)):
        db.create_function(name, 2, func, deterministic=True)
        db.create_function(name, 1, func, deterministic=True)
