"""Collection listing with the ``q`` filter (Help section_1545222128, section_156414087576)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ._records import RecordStore
from ._responses import ApiError
from ._types import RecordType, canonical_field

__all__ = ["list_ids"]

Record = dict[str, Any]
_CLAUSE_RE = re.compile(r'\s*(\w+)\s+([A-Z_]+)\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^\s]+)?\s*', re.IGNORECASE)


def _parse_value(raw: str | None) -> Any:
    if raw is None:
        return None
    if raw.startswith('"'):
        return raw[1:-1].replace('\\"', '"')
    if raw.startswith("["):
        return [_parse_value(part.strip()) for part in raw[1:-1].split(",") if part.strip()]
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


_DATE_FIELDS = {"lastmodifieddate": "_modified", "createddate": "_created", "datecreated": "_created"}


def _date(value: Any) -> str | None:
    """A ``q`` date in the user's format (``M/D/YYYY``) or ISO, as ``YYYY-MM-DD``."""
    text = str(value).strip()
    for pattern in ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %I:%M %p", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, pattern).strftime("%Y-%m-%d")  # noqa: DTZ007
        except ValueError:
            continue
    return None


def _match_date(record: Record, field: str, base: str, value: Any) -> bool:
    raw = record.get(_DATE_FIELDS.get(field.lower(), field))
    wanted = _date(value)
    if wanted is None:
        raise ApiError(400, "INVALID_PARAMETER", f"Unparseable date: {value}")
    if not isinstance(raw, str):
        return False
    actual = raw[:10]
    return {
        "AFTER": actual > wanted,
        "BEFORE": actual < wanted,
        "ON": actual == wanted,
        "ON_OR_AFTER": actual >= wanted,
    }.get(base, actual <= wanted)


def _match(record: Record, field: str, op: str, value: Any) -> bool:
    actual = _plain(record.get(field))
    if field.lower() == "id":
        actual = record["id"]
    negate = op.endswith("_NOT")
    base = op[:-4] if negate else op
    if base in ("AFTER", "BEFORE", "ON", "ON_OR_AFTER", "ON_OR_BEFORE"):
        result = _match_date(record, field, base, value)
    elif base == "EMPTY":
        result = actual in (None, "")
    elif base in ("IS", "EQUAL"):
        if isinstance(value, bool):
            result = bool(actual) == value
        elif base == "EQUAL":
            result = _number(actual) == _number(value) if actual is not None else False
        else:
            result = str(actual) == str(value) if actual is not None else False
    elif base == "ANY_OF":
        values = value if isinstance(value, list) else [value]
        result = str(actual) in {str(v) for v in values}
    elif base in ("START_WITH", "CONTAIN", "END_WITH", "ENDWITH"):
        text, needle = str(actual or "").lower(), str(value).lower()
        result = {
            "START_WITH": text.startswith(needle),
            "CONTAIN": needle in text,
        }.get(base, text.endswith(needle))
    elif base in ("GREATER", "GREATER_OR_EQUAL", "LESS", "LESS_OR_EQUAL"):
        a, b = _number(actual), _number(value)
        if a is None or b is None:
            return False
        result = {"GREATER": a > b, "GREATER_OR_EQUAL": a >= b, "LESS": a < b}.get(base, a <= b)
    else:
        raise ApiError(400, "INVALID_PARAMETER", f"Invalid query operator: {op}.", flat=False)
    return result != negate


def _parse(q: str) -> list[list[tuple[str, str, Any]]]:
    """Disjunctive normal form: OR of AND-groups (AND binds tighter, as on NetSuite)."""
    groups: list[list[tuple[str, str, Any]]] = []
    for or_part in re.split(r"\s+OR\s+", q.strip()):
        group = []
        for clause in re.split(r"\s+AND\s+", or_part):
            match = _CLAUSE_RE.fullmatch(clause)
            if match is None:
                raise ApiError(400, "INVALID_PARAMETER", f"Invalid query: {q}")
            field, op, raw = match.groups()
            group.append((canonical_field(field), op.upper(), _parse_value(raw)))
        groups.append(group)
    return groups


def list_ids(store: RecordStore, rtype: RecordType, q: str | None) -> list[str]:
    """Ids of the records of ``rtype`` that match ``q`` (external-id equality uses the index)."""
    if q:
        groups = _parse(q)
        if len(groups) == 1 and len(groups[0]) == 1:
            field, op, value = groups[0][0]
            if field == "externalId" and op in ("IS", "EQUAL"):
                rid = store.eids.get(rtype.name, {}).get(str(value))
                return [rid] if rid is not None else []
    else:
        groups = []
    family = store.by_family.get(rtype.family, {})
    out = []
    for rid, record in family.items():
        if record["_type"] != rtype.name:
            continue
        if groups and not any(all(_match(record, *c) for c in group) for group in groups):
            continue
        out.append(rid)
    return out
