"""Keeps the SuiteQL tables (``_db``) in step with the record documents."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._db import utc_text
from ._types import STATUS_LABELS, RecordType

if TYPE_CHECKING:
    from ._records import RecordStore

__all__ = ["SqlMirror"]

Record = dict[str, Any]
_SALES_SIDE = {"SalesOrd", "CustInvc"}
# Link types of ``previoustransactionlinelink`` (UNCONFIRMED labels: public SuiteQL shows the
# table with previousdoc/nextdoc/linktype, not the full list of its values).
_LINK_TYPES = {"invoice": "OrdBill", "creditMemo": "Payment", "customerPayment": "Payment",
               "depositApplication": "Payment"}  # fmt: skip


def _ref(record: Record, field: str) -> int | None:
    value = record.get(field)
    return int(value["id"]) if isinstance(value, dict) and value.get("id") else None


def _num(value: Any) -> Any:
    # SQLite has no decimal type; NUMERIC columns keep integers exact and money as REAL.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _tf(value: Any) -> str:
    return "T" if value else "F"


def _day(value: Any) -> str | None:
    return f"{value}T00:00:00" if isinstance(value, str) and len(value) == 10 else None


def display_name(record: Record, rtype: RecordType) -> str:
    """The ``refName`` NetSuite shows for a record."""
    if rtype.family == "customer":
        person = " ".join(str(record[k]) for k in ("firstName", "lastName") if record.get(k))
        name = record.get("companyName") or person or record.get("entityId") or ""
        return f"{record['id']} {name}".strip() if not record.get("entityId") else str(name)
    if rtype.family == "item":
        return str(record.get("itemId") or record.get("displayName") or record["id"])
    if rtype.family == "transaction":
        return f"{rtype.label} #{record.get('tranId', record['id'])}"
    return str(record.get("name") or record.get("displayName") or record["id"])


class SqlMirror:
    """Writes rows for one account's database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        # SuiteQL runs in worker threads (long scans must not stall the event loop); writes
        # from the loop and those reads take turns on the one connection.
        self.lock = threading.Lock()

    def _save(self, store: RecordStore, rtype: RecordType, record: Record) -> None:
        rid = int(record["id"])
        self.db.execute(
            "INSERT OR REPLACE INTO ns_refnames VALUES (?, ?, ?)",
            (rtype.family, rid, display_name(record, rtype)),
        )
        if rtype.family == "transaction":
            self._transaction(store, rtype, record)
        elif rtype.family == "customer":
            self._customer(record)
        elif rtype.family == "item":
            self._item(rtype, record)
        elif rtype.family == "salestaxitem":
            self.db.execute(
                "INSERT OR REPLACE INTO salestaxitem VALUES (?, ?, ?, ?, ?, ?)",
                (rid, record.get("itemId") or record.get("name"), record.get("name"),
                 _num(record.get("rate")), record.get("description"), _tf(record.get("isInactive"))),
            )  # fmt: skip
        elif rtype.family == "currency":
            self.db.execute(
                "INSERT OR REPLACE INTO currency VALUES (?, ?, ?, ?, ?)",
                (rid, record.get("name"), record.get("symbol"), _tf(rid == 1), _tf(record.get("isInactive"))),
            )
        elif rtype.family == "location":
            self.db.execute(
                "INSERT OR REPLACE INTO location VALUES (?, ?, ?, ?, ?, ?, ?)",
                (rid, record.get("name"), record.get("name"), record.get("externalId"),
                 _tf(record.get("isInactive")), _ref(record, "subsidiary"), utc_text(record["_modified"])),
            )  # fmt: skip

    def _delete(self, rtype: RecordType, record: Record, deleted_at: str) -> None:
        rid = int(record["id"])
        self.db.execute(
            "INSERT INTO deletedrecord VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rid, rtype.name.lower(), rtype.name.lower(), display_name(record, rtype),
             record.get("externalId"), utc_text(deleted_at), "WEBSERVICES", "F", "F"),
        )  # fmt: skip
        self.db.execute("DELETE FROM ns_refnames WHERE kind = ? AND id = ?", (rtype.family, rid))
        if rtype.family == "transaction":
            self.db.execute('DELETE FROM "transaction" WHERE id = ?', (rid,))
            self.db.execute('DELETE FROM transactionline WHERE "transaction" = ?', (rid,))
            self.db.execute("DELETE FROM previoustransactionlinelink WHERE nextdoc = ?", (rid,))
        elif rtype.family in ("customer", "item", "location"):
            self.db.execute(f'DELETE FROM "{rtype.family}" WHERE id = ?', (rid,))  # noqa: S608

    def _customer(self, r: Record) -> None:
        person = " ".join(str(r[k]) for k in ("firstName", "lastName") if r.get(k))
        self.db.execute(
            "INSERT OR REPLACE INTO customer VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (int(r["id"]), r.get("entityId"), r.get("companyName") or person, r.get("companyName") or person,
             r.get("companyName"), r.get("email"), r.get("phone"), r.get("firstName"),
             r.get("lastName"), _tf(r.get("isPerson")), _tf(r.get("isInactive")),
             _ref(r, "salesRep"), _ref(r, "subsidiary"), r.get("externalId"), utc_text(r["_created"]),
             utc_text(r["_modified"]), None),
        )  # fmt: skip

    def _item(self, rtype: RecordType, r: Record) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO item VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?, "
            "(SELECT SUM(quantityonhand) FROM inventoryitemlocations WHERE item = ?))",
            (int(r["id"]), r.get("itemId"), r.get("displayName"), r.get("description"), rtype.code,
             "Sale", _tf(r.get("isInactive")), r.get("externalId"), _num(r.get("cost")),
             _num(r.get("basePrice")), r.get("upcCode"), utc_text(r["_created"]),
             utc_text(r["_modified"]), int(r["id"])),
        )  # fmt: skip

    def _transaction(self, store: RecordStore, rtype: RecordType, r: Record) -> None:
        """Header row, then lines: main line (``mainline`` T, the only one holding ``createdfrom``
        as a header value), item lines, tax lines (``taxline`` T) and, on invoices, the COGS
        lines of inventory items (``iscogs`` T: accounts without Advanced Shipping post them on
        the invoice); and the ``previoustransactionlinelink`` rows this transaction is next of.

        SuiteQL has no header ``transaction.createdfrom``: the field is on ``transactionline``
        (public SuiteQL queries read it on the main line) and in the link tables.
        """
        rid = int(r["id"])
        status = r.get("status")
        labels = STATUS_LABELS.get(rtype.code, {})
        total = r.get("total")
        paid: Any = None
        unpaid: Any = None
        if rtype.name == "invoice":
            paid, unpaid = r.get("amountPaid"), r.get("amountRemaining")
        elif rtype.name in ("creditMemo", "customerPayment") or rtype.name == "customerDeposit":
            paid, unpaid = r.get("applied"), r.get("unapplied")
        entity = _ref(r, "entity") or _ref(r, "customer")
        created, modified = utc_text(r["_created"]), utc_text(r["_modified"])
        self.db.execute(
            'INSERT OR REPLACE INTO "transaction" VALUES '
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (rid, r.get("tranId"), r.get("tranId"), f"{rtype.label} #{r.get('tranId')}", rtype.code,
             rtype.name.lower(), entity, _day(r.get("tranDate")), _day(r.get("dueDate")),
             _day(r.get("closeDate")), created, modified, status,
             f"{rtype.code}:{status}" if status else None, labels.get(status or "", None),
             r.get("externalId"), _num(total), _num(paid), _num(unpaid),
             r.get("memo"), r.get("otherRefNum"), _ref(r, "currency"), _ref(r, "location"),
             _ref(r, "department"), _ref(r, "class"), _ref(r, "subsidiary"), _ref(r, "account"),
             "T", None, _num(r.get("exchangeRate")), _num(r.get("taxTotal")), _tf(r.get("voided"))),
        )  # fmt: skip
        self.db.execute('DELETE FROM transactionline WHERE "transaction" = ?', (rid,))
        sign = Decimal(-1) if rtype.code in _SALES_SIDE else Decimal(1)
        created_from = _ref(r, "createdFrom") or _ref(r, "salesOrder")
        rows: list[tuple[Any, ...]] = [
            (rid, 0, 0, "T", "F", None, None, None, None, None, _num(total), _num(total),
             created_from, entity, _ref(r, "location"), _ref(r, "department"), _ref(r, "class"),
             r.get("memo"), "F", None, modified, "F"),
        ]  # fmt: skip
        for line in r.get("item") or []:
            quantity = line.get("quantity")
            amount = line.get("amount")
            item_id = _ref(line, "item")
            rows.append(
                (rid, int(line["line"]), int(line["line"]), "F", "F", item_id, None,
                 _num(quantity * sign) if quantity is not None else None, _num(line.get("rate")),
                 _num(line.get("rate")), _num(amount * sign) if amount is not None else None,
                 _num(amount * sign) if amount is not None else None, created_from, entity,
                 _ref(line, "location") or _ref(r, "location"), _ref(line, "department"),
                 _ref(line, "class"), line.get("description"), _tf(line.get("isClosed")),
                 _num(line.get("quantityBilled")), modified, "F"),
            )  # fmt: skip
        rows.extend(self._tax_lines(r, sign, created_from, entity, len(rows)))
        if rtype.name == "invoice":
            rows.extend(self._cogs_lines(store, r, created_from, entity, rows))
        self.db.executemany(
            "INSERT INTO transactionline VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
        )
        if any(row[5] is not None for row in rows):
            self.db.execute(
                "UPDATE transactionline SET itemtype = (SELECT itemtype FROM item "
                'WHERE item.id = transactionline.item) WHERE "transaction" = ? AND item IS NOT NULL '
                "AND taxline = 'F'",
                (rid,),
            )
        self._links(rtype, r)

    def _links(self, rtype: RecordType, r: Record) -> None:
        """``previoustransactionlinelink`` rows: order line -> invoice line, invoice -> what pays it."""
        rid = int(r["id"])
        self.db.execute("DELETE FROM previoustransactionlinelink WHERE nextdoc = ?", (rid,))
        link_type = _LINK_TYPES.get(rtype.name)
        if link_type is None:
            return
        links: list[tuple[Any, ...]] = []
        source = _ref(r, "createdFrom")
        if rtype.name == "invoice" and source is not None:
            links.extend(
                (source, int(line["orderLine"]), "SalesOrd", rid, int(line["line"]), rtype.code,
                 link_type, _num(line.get("amount")))
                for line in r.get("item") or [] if line.get("orderLine")
            )  # fmt: skip
        for line in r.get("apply") or []:
            if line.get("apply") is False:
                continue  # most lines of a payment: every open invoice of the customer is listed
            doc = _ref(line, "doc")
            if doc is not None:
                links.append((doc, 0, "CustInvc", rid, 0, rtype.code, link_type, _num(line.get("amount"))))
        self.db.executemany("INSERT INTO previoustransactionlinelink VALUES (?,?,?,?,?,?,?,?)", links)

    @staticmethod
    def _cogs_lines(
        store: RecordStore, r: Record, created_from: int | None, entity: int | None,
        rows: list[tuple[Any, ...]],
    ) -> list[tuple[Any, ...]]:  # fmt: skip
        """A COGS line and an inventory-asset line (``iscogs`` T) per inventory item line, at cost."""
        out: list[tuple[Any, ...]] = []
        number = max(int(row[1]) for row in rows)
        for line in r.get("item") or []:
            item = store.find("item", (line.get("item") or {}).get("id", ""))
            if item is None or item["_type"] != "inventoryItem":
                continue
            cost = (item.get("cost") or Decimal(0)) * (line.get("quantity") or Decimal(0))
            for amount in (cost, -cost):
                number += 1
                out.append(
                    (int(r["id"]), number, number, "F", "F", _ref(line, "item"), None, None, None,
                     None, _num(amount), _num(amount), created_from, entity, _ref(r, "location"),
                     None, None, None, "F", None, utc_text(r["_modified"]), "T"),
                )  # fmt: skip
        return out

    @staticmethod
    def _tax_lines(
        r: Record, sign: Decimal, created_from: int | None, entity: int | None, first: int
    ) -> list[tuple[Any, ...]]:
        """One tax line per tax code with tax (``taxline`` T), numbered after the item lines."""
        by_code: dict[int, Decimal] = {}
        for line in r.get("item") or []:
            code, tax = _ref(line, "taxCode"), line.get("tax1Amt")
            if code is not None and tax:
                by_code[code] = by_code.get(code, Decimal(0)) + tax
        last = max((int(line["line"]) for line in r.get("item") or []), default=0)
        rows: list[tuple[Any, ...]] = []
        for n, (code, tax) in enumerate(sorted(by_code.items()), start=1):
            rows.append(
                (int(r["id"]), last + n, first + n - 1, "F", "T", code, "TaxItem", None, None, None,
                 _num(tax * sign), _num(tax * sign), created_from, entity, _ref(r, "location"), None,
                 None, None, "F", None, utc_text(r["_modified"]), "F"),
            )  # fmt: skip
        return rows

    def _set_stock(
        self, item: int, location: int, on_hand: Decimal, available: Decimal, changed: str
    ) -> None:
        committed = on_hand - available if on_hand > available else Decimal(0)
        self.db.execute(
            "INSERT OR REPLACE INTO inventoryitemlocations VALUES (?,?,?,?,?,?,?,?,?)",
            (item, location, _num(on_hand), _num(available), _num(committed), 0, 0, 0, utc_text(changed)),
        )
        self.db.execute(
            "UPDATE item SET totalquantityonhand = (SELECT SUM(quantityonhand) FROM "
            "inventoryitemlocations WHERE item = ?) WHERE id = ?",
            (item, item),
        )

    def save(self, store: RecordStore, rtype: RecordType, record: Record) -> None:
        with self.lock:
            self._save(store, rtype, record)

    def delete(self, rtype: RecordType, record: Record, deleted_at: str) -> None:
        """Remove the record's rows and log the deletion in ``deletedrecord`` (SuiteQL)."""
        with self.lock:
            self._delete(rtype, record, deleted_at)

    def set_stock(self, item: int, location: int, on_hand: Decimal, available: Decimal, changed: str) -> None:
        with self.lock:
            self._set_stock(item, location, on_hand, available, changed)
