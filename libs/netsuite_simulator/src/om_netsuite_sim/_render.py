"""Record documents rendered as NetSuite REST JSON (Help section_1545142037, section_1545141947)."""

from __future__ import annotations

from typing import Any

from ._applications import listed_apply_lines
from ._records import RecordStore
from ._responses import ApiError
from ._sql import display_name
from ._types import RECORD_TYPES, REF_FIELDS, STATUS_LABELS, RecordType

__all__ = ["iso", "render_record", "sublist_resource"]

Record = dict[str, Any]
_FAMILY_DEFAULT_TYPE = {
    "customer": "customer",
    "item": "inventoryItem",
    "location": "location",
    "transaction": "salesOrder",
}


def iso(internal: str) -> str:
    """Internal ``YYYY-MM-DDTHH:MM:SS`` to the REST datetime form (UTC, ``Z``)."""
    return f"{internal}Z"


def _ref(store: RecordStore, field: str, value: dict[str, str], base: str) -> Record:
    family = REF_FIELDS.get(field, field)
    target = store.find(family, value["id"])
    type_name = target["_type"] if target else _FAMILY_DEFAULT_TYPE.get(family, family)
    out: Record = {
        "links": [{"rel": "self", "href": f"{base}/{type_name}/{value['id']}"}],
        "id": value["id"],
    }
    if target is not None:
        out["refName"] = display_name(target, RECORD_TYPES[type_name.lower()])
    return out


def _line(store: RecordStore, line: Record, base: str) -> Record:
    out: Record = {"links": []}
    for key, value in line.items():
        if isinstance(value, dict) and "id" in value:
            out[key] = _ref(store, key, value, base)
        else:
            out[key] = value
    return out


def render_record(
    store: RecordStore,
    rtype: RecordType,
    record: Record,
    base: str,
    *,
    fields: set[str] | None = None,
    expand: bool = False,
) -> Record:
    """The GET body: ``links``, body fields, references as ``{links,id,refName}``, sublists."""
    self_href = f"{base}/{rtype.name}/{record['id']}"
    out: Record = {"links": [{"rel": "self", "href": self_href}]}
    wanted = {f.lower() for f in fields} if fields else None
    if rtype.name == "customerPayment":
        # NetSuite lists every open invoice of the customer on the apply sublist (``_ledger``).
        record = {**record, "apply": listed_apply_lines(store, record)}
    for key, value in record.items():
        if key.startswith("_"):
            continue
        if wanted is not None and key != "id" and key.lower() not in wanted:
            continue
        if isinstance(value, list):
            if wanted is not None:
                continue  # fields= selects body fields only
            sub: Record = {"links": [{"rel": "self", "href": f"{self_href}/{key}"}]}
            if expand:
                sub.update(
                    {
                        "items": [_line(store, line, base) for line in value],
                        "count": len(value),
                        "hasMore": False,
                        "offset": 0,
                        "totalResults": len(value),
                    }
                )
            out[key] = sub
        elif key == "status" and rtype.family == "transaction":
            out[key] = {"id": value, "refName": STATUS_LABELS.get(rtype.code, {}).get(value, value)}
        elif isinstance(value, dict) and "id" in value:
            out[key] = _ref(store, key, value, base)
        else:
            out[key] = value
    if wanted is None or "createddate" in wanted:
        out["createdDate"] = iso(record["_created"])
    if wanted is None or "lastmodifieddate" in wanted:
        out["lastModifiedDate"] = iso(record["_modified"])
    return out


def sublist_resource(
    store: RecordStore, rtype: RecordType, record: Record, base: str, parts: list[str]
) -> Record:
    """``GET /{type}/{id}/{sublist}[/{line}]`` (Help section_159894563219)."""
    name = next((k for k in record if k.lower() == parts[0].lower()), None)
    lines = record.get(name) if name else None
    if name is None or not isinstance(lines, list):
        raise ApiError(404, "NONEXISTENT_ID", f"The sub-resource {parts[0]} does not exist.")
    href = f"{base}/{rtype.name}/{record['id']}/{name}"
    if len(parts) == 1:
        items = [{"links": [{"rel": "self", "href": f"{href}/{line['line']}"}]} for line in lines]
        return {
            "links": [{"rel": "self", "href": href}],
            "items": items,
            "count": len(items),
            "hasMore": False,
            "offset": 0,
            "totalResults": len(items),
        }
    line = next((x for x in lines if str(x.get("line")) == parts[1]), None)
    if line is None:
        raise ApiError(404, "NONEXISTENT_ID", f"The line {parts[1]} does not exist.")
    out = _line(store, line, base)
    out["links"] = [{"rel": "self", "href": f"{href}/{parts[1]}"}]
    return out
