"""Record storage and REST semantics of one account (Help "Working with Records", 3.1-3.4).

Records are kept as documents (field name -> value, references as ``{"id": ...}``, sublists as
lists of line dicts) indexed by family and id, with an external-id index per type; every write
also refreshes the account's SuiteQL rows through ``_sql``. Business rules (status, amounts
due, applications of payments and credits) live in ``_ledger``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from . import _ledger, _sql
from ._responses import ApiError
from ._types import MONEY_FIELDS, RECORD_TYPES, REF_FIELDS, RecordType, canonical_field

__all__ = ["RecordStore", "record_type"]

Record = dict[str, Any]
_EID_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


def record_type(name: str) -> RecordType:
    """Resolve a record type name from a URL (case-insensitive) or raise 404."""
    found = RECORD_TYPES.get(name.lower())
    if found is None:
        raise ApiError(404, "NONEXISTENT_ID", f"Record type '{name}' does not exist.", flat=False)
    return found


def _missing(key: str) -> ApiError:
    return ApiError(404, "NONEXISTENT_ID", f"The record instance does not exist. Provided id: {key}")


def _invalid_value(value: Any, field: str, path: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_CONTENT",
        "Error while accessing a resource. You have entered an Invalid Field Value "
        f"{value} for the following field: {field}",
        path,
    )


class RecordStore:
    """All records of one account. ``clock`` returns internal UTC ``YYYY-MM-DDTHH:MM:SS`` text."""

    def __init__(self, sql: _sql.SqlMirror, now: Callable[[], str]) -> None:
        self.sql = sql
        self.now = now
        self.by_family: dict[str, dict[str, Record]] = {}
        self.eids: dict[str, dict[str, str]] = {}
        self._counters: dict[str, int] = {}
        self._tranids: dict[str, int] = {}
        self.applied: dict[str, dict[str, Decimal]] = {}
        self.deposited: dict[str, str] = {}
        self.deposit_applied: dict[str, dict[str, Decimal]] = {}
        """customer deposit id -> {deposit application id -> amount} (``_ledger``)."""
        self.open_invoices: dict[str, dict[str, dict[str, Any]]] = {}
        """customer id -> {invoice id: invoice with an amount remaining} (``_ledger``)."""
        """customer deposit id -> {deposit application id -> amount} (``_ledger``)."""

    # ---- lookup -------------------------------------------------------------------------
    def _next_id(self, family: str) -> str:
        start = {"transaction": 1000, "customer": 100, "item": 200, "salestaxitem": 100}.get(family, 0)
        value = self._counters.get(family, start) + 1
        self._counters[family] = value
        return str(value)

    def find(self, family: str, rid: str) -> Record | None:
        return self.by_family.get(family, {}).get(rid)

    def resolve(self, rtype: RecordType, key: str) -> str:
        """Map ``123`` or ``eid:X`` to an internal id of this type, or raise 404."""
        if key.startswith("eid:"):
            rid = self.eids.get(rtype.name, {}).get(key[4:])
            if rid is None:
                raise _missing(key)
            return rid
        record = self.find(rtype.family, key)
        if record is None or record["_type"] != rtype.name:
            raise _missing(key)
        return key

    def get(self, rtype: RecordType, key: str) -> Record:
        rid = self.resolve(rtype, key)
        return self.by_family[rtype.family][rid]

    def records(self, type_name: str) -> list[Record]:
        """Every record of a type, in id order (for the admin API and tests)."""
        rtype = record_type(type_name)
        found = [r for r in self.by_family.get(rtype.family, {}).values() if r["_type"] == rtype.name]
        return sorted(found, key=lambda r: int(r["id"]))

    # ---- input normalisation ------------------------------------------------------------
    def _ref(self, field: str, value: Any, path: str) -> dict[str, str] | None:
        if value is None:
            return None
        family = REF_FIELDS[field]
        if isinstance(value, dict):
            if value.get("id") is not None:
                rid = str(value["id"])
            elif value.get("externalId") is not None:
                rid = self._eid_in_family(family, str(value["externalId"])) or ""
                if not rid:
                    raise _invalid_value(value["externalId"], field, path)
            else:
                raise _invalid_value(value, field, path)
        elif isinstance(value, str | int) and not isinstance(value, bool):
            rid = str(value)
        else:
            raise _invalid_value(value, field, path)
        if self.find(family, rid) is None:
            raise _invalid_value(rid, field, path)
        return {"id": rid}

    def _eid_in_family(self, family: str, eid: str) -> str | None:
        for type_name, index in self.eids.items():
            if RECORD_TYPES[type_name.lower()].family == family and eid in index:
                return index[eid]
        return None

    def _value(self, field: str, value: Any, path: str) -> Any:
        if field in REF_FIELDS and not (field == "item" and isinstance(value, dict) and "items" in value):
            return self._ref(field, value, path)
        if field in MONEY_FIELDS and value is not None:
            try:
                return Decimal(str(value))
            except InvalidOperation:
                raise _invalid_value(value, field, path) from None
        return value

    def _normalise_line(self, line: Any, path: str) -> Record:
        if not isinstance(line, dict):
            raise ApiError(400, "INVALID_CONTENT", "Invalid sublist line.", path)
        out: Record = {}
        for key, value in line.items():
            field = canonical_field(key)
            out[field] = self._value(field, value, f"{path}.{field}")
        return out

    def normalise(self, body: Any) -> Record:
        """Body fields in schema case, references checked, sublists as ``{"items": [...]}``."""
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_REQUEST", "The request body must be a JSON object.")
        out: Record = {}
        for key, value in body.items():
            field = canonical_field(key)
            if field in ("id", "links", "_type") or field.startswith("_"):
                continue
            if isinstance(value, dict) and "items" in value:
                items = value["items"]
                if items is None:
                    out[field] = None
                    continue
                if not isinstance(items, list):
                    raise ApiError(400, "INVALID_CONTENT", "items must be a list.", f"{field}.items")
                out[field] = [
                    self._normalise_line(line, f"{field}.items[{i}]") for i, line in enumerate(items)
                ]
            else:
                out[field] = self._value(field, value, field)
        if "externalId" in out and out["externalId"] is not None:
            eid = str(out["externalId"])
            if not _EID_RE.match(eid):
                raise _invalid_value(eid, "externalId", "externalId")
            out["externalId"] = eid
        return out

    # ---- writes -------------------------------------------------------------------------
    def create(self, rtype: RecordType, body: Any, *, external_id: str | None = None) -> str:
        data = self.normalise(body)
        if external_id is not None:
            data["externalId"] = external_id
        eid = data.get("externalId")
        if eid is not None and eid in self.eids.get(rtype.name, {}):
            raise ApiError(
                400,
                "USER_ERROR",
                "Error while accessing a resource. A record with the same external ID "
                f"already exists: {eid}.",
                "externalId",
            )
        rid = self._next_id(rtype.family)
        now = self.now()
        record: Record = {"_type": rtype.name, "id": rid, "_created": now, "_modified": now}
        if rtype.family == "transaction":
            seq = self._tranids.get(rtype.name, 0) + 1
            self._tranids[rtype.name] = seq
            record["tranId"] = f"{rtype.prefix}{seq}"
            record["tranDate"] = now[:10]
        self._merge(record, data, replace=set(), creating=True)
        _ledger.before_save(self, rtype, record, None)
        self.by_family.setdefault(rtype.family, {})[rid] = record
        if eid is not None:
            self.eids.setdefault(rtype.name, {})[eid] = rid
        _ledger.after_save(self, rtype, record)
        self.sql.save(self, rtype, record)
        return rid

    def update(self, rtype: RecordType, key: str, body: Any, replace: set[str]) -> str:
        record = self.get(rtype, key)
        data = self.normalise(body)
        before = _ledger.snapshot(record)
        candidate = {k: (list(v) if isinstance(v, list) else v) for k, v in record.items()}
        self._merge(candidate, data, replace=replace, creating=False)
        _ledger.before_save(self, rtype, candidate, before)
        old_eid: str | None = record.get("externalId")
        new_eid = candidate.get("externalId")
        new_eid = None if new_eid is None else str(new_eid)
        if new_eid != old_eid:
            index = self.eids.setdefault(rtype.name, {})
            if new_eid is not None and new_eid in index:
                raise ApiError(400, "USER_ERROR", f"Duplicate external ID {new_eid}.", "externalId")
            if old_eid is not None:
                index.pop(old_eid, None)
            if new_eid is not None:
                index[new_eid] = record["id"]
        candidate["_modified"] = self.now()
        record.clear()
        record.update(candidate)
        _ledger.after_save(self, rtype, record)
        self.sql.save(self, rtype, record)
        return str(record["id"])

    def upsert(self, rtype: RecordType, external_id: str, body: Any) -> str:
        rid = self.eids.get(rtype.name, {}).get(external_id)
        if rid is None:
            if not _EID_RE.match(external_id):
                raise _invalid_value(external_id, "externalId", "externalId")
            return self.create(rtype, body, external_id=external_id)
        # PUT replaces the sublists it sends rather than appending (upsert semantics).
        data = body if isinstance(body, dict) else {}
        sublists = {canonical_field(k) for k, v in data.items() if isinstance(v, dict) and "items" in v}
        return self.update(rtype, rid, body, sublists)

    def delete(self, rtype: RecordType, key: str) -> None:
        record = self.get(rtype, key)
        _ledger.before_delete(self, rtype, record)
        del self.by_family[rtype.family][record["id"]]
        eid = record.get("externalId")
        if eid is not None:
            self.eids.get(rtype.name, {}).pop(eid, None)
        self.sql.delete(rtype, record, self.now())

    def touch_derived(self, rtype: RecordType, record: Record) -> None:
        """Re-save derived fields (status, amounts) without changing lastModifiedDate."""
        self.sql.save(self, rtype, record)

    def _merge(self, record: Record, data: Record, *, replace: set[str], creating: bool) -> None:
        for field, value in data.items():
            if isinstance(value, list):
                record[field] = self._merge_lines(
                    [] if creating else (record.get(field) or []), value, field in replace
                )
            elif value is None:
                record.pop(field, None)
            else:
                record[field] = value

    @staticmethod
    def _merge_lines(existing: list[Record], incoming: list[Record], replace: bool) -> list[Record]:
        """Lines that name an existing ``line`` update it (keeping read-only state such as
        ``quantityBilled``); other lines are appended, or with ``replace`` they become the
        whole list (Help section_1545142420)."""
        by_line = {int(line["line"]): line for line in existing if "line" in line}
        next_line = max(by_line, default=0)
        kept: list[Record] = [] if replace else [dict(line) for line in existing]
        index = {int(line["line"]): i for i, line in enumerate(kept) if "line" in line}
        for line in incoming:
            number = line.get("line")
            key = int(number) if isinstance(number, int | str) and str(number).isdigit() else None
            if key is not None and key in by_line:
                updated = {**by_line[key], **{k: v for k, v in line.items() if k != "quantityBilled"}}
                if key in index:
                    kept[index[key]] = updated
                else:
                    index[key] = len(kept)
                    kept.append(updated)
                continue
            next_line += 1
            fresh = {k: v for k, v in line.items() if k != "quantityBilled"}
            fresh["line"] = next_line
            kept.append(fresh)
        return kept
