"""The REST handlers behind authentication, governance and faults: records (Record REST API
v1: collection, instance, sublist, ``!transform``) and SuiteQL (``/query/v1/suiteql``)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._catalog import check_query
from ._jobs import job_resource
from ._listing import list_ids
from ._records import record_type
from ._render import render_record, sublist_resource
from ._responses import COLLECTION, ApiError, json_response
from ._roles import check_record, check_suiteql
from ._schema import check_body, header_mode
from ._simulator import Account, SchemaViolation
from ._suiteql import run_suiteql
from ._types import RecordType

__all__ = ["JOBS", "RECORD", "route"]

REST = "/services/rest"
RECORD = "/services/rest/record/v1"
JOBS = "/services/rest/async/v1/job"
Query = dict[str, list[str]]


def _one(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _int_param(query: Query, name: str, default: int) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "INVALID_PARAMETER", f"Invalid value for the parameter {name}: {raw}.") from None


async def route(account: Account, request: Request, query: Query) -> Response:
    """Everything under /services/rest once the caller is authenticated and admitted."""
    path, method = request.url.path, request.method
    origin = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if path == f"{REST}/query/v1/suiteql":
        account.counters["suiteql"] += 1
        return await _suiteql(account, request, query, origin)
    if path == f"{REST}/system/v1/governanceLimits" and method == "GET":
        account.counters["governanceLimits"] += 1
        return json_response(account.governance)
    if path.startswith(JOBS + "/") and method == "GET":
        account.counters["async job"] += 1
        return job_resource(account.jobs, origin, path[len(JOBS) + 1 :].split("/"))
    if not path.startswith(RECORD + "/"):
        raise ApiError(404, "INVALID_REQUEST", f"Unknown path {path}.")
    parts = path[len(RECORD) + 1 :].split("/")
    rtype = record_type(parts[0])
    check_record(account.denied_permissions, rtype.name)
    call = _Call(account, request, query, rtype, origin + RECORD)
    if len(parts) == 1:
        account.counters[f"{'list' if method == 'GET' else 'create'} {rtype.name}"] += 1
        if method in ("GET", "POST"):
            return _list(call) if method == "GET" else await _create(call)
    elif len(parts) == 2:
        account.counters[f"{method} {rtype.name}"] += 1
        if method in _INSTANCE:
            return await _INSTANCE[method](call, parts[1])
    elif len(parts) in (3, 4) and parts[2] != "!transform" and method == "GET":
        account.counters[f"GET {rtype.name} sublist"] += 1
        record = account.store.get(rtype, parts[1])
        return json_response(sublist_resource(account.store, rtype, record, call.base, parts[2:]))
    elif len(parts) == 4 and parts[2] == "!transform" and method == "POST":
        account.counters[f"transform {rtype.name}->{parts[3]}"] += 1
        return await _transform(call, parts[1], parts[3])
    raise ApiError(405, "INVALID_REQUEST", f"{method} is not supported on {path}.")


class _Call:
    """One record request: who, what, and the base its links start with."""

    def __init__(
        self, account: Account, request: Request, query: Query, rtype: RecordType, base: str
    ) -> None:
        self.account, self.request, self.query, self.rtype, self.base = account, request, query, rtype, base

    async def checked_body(self, type_name: str | None = None, default: Any = None) -> Any:
        return _checked(
            self.account, self.request, type_name or self.rtype.name, await _body(self.request, default)
        )

    def created(self, rid: str, type_name: str | None = None) -> Response:
        location = f"{self.base}/{type_name or self.rtype.name}/{rid}"
        return Response(status_code=204, headers={"Location": location})


async def _create(call: _Call) -> Response:
    return call.created(call.account.store.create(call.rtype, await call.checked_body()))


async def _get(call: _Call, key: str) -> Response:
    store = call.account.store
    record = store.get(call.rtype, key)
    fields = _one(call.query, "fields")
    expand = (_one(call.query, "expandSubResources") or "").lower() == "true"
    body = render_record(
        store, call.rtype, record, call.base, fields=set(fields.split(",")) if fields else None, expand=expand
    )
    return json_response(body)


async def _patch(call: _Call, key: str) -> Response:
    replace = {p for v in call.query.get("replace", []) for p in v.split(",") if p}
    body = await call.checked_body()
    return call.created(call.account.store.update(call.rtype, key, body, replace))


async def _put(call: _Call, key: str) -> Response:
    if not key.startswith("eid:"):
        raise ApiError(405, "INVALID_REQUEST", "PUT is supported only with an external ID (eid:).")
    body = await call.checked_body()
    return call.created(call.account.store.upsert(call.rtype, key[4:], body))


async def _delete(call: _Call, key: str) -> Response:
    call.account.store.delete(call.rtype, key)
    return Response(status_code=204)


_INSTANCE = {"GET": _get, "PATCH": _patch, "PUT": _put, "DELETE": _delete}


async def _transform(call: _Call, key: str, target_name: str) -> Response:
    source_id = call.account.store.resolve(call.rtype, key)
    target = record_type(target_name).name
    body = await call.checked_body(target, {})
    rid = call.account.transform(call.rtype.name, source_id, target_name, body)
    return call.created(rid, target)


def _list(call: _Call) -> Response:
    query = call.query
    limit = _int_param(query, "limit", 1000)
    offset = _int_param(query, "offset", 0)
    if limit < 1 or limit > 1000 or offset < 0 or offset % limit:
        raise ApiError(
            400, "INVALID_PARAMETER",
            "Invalid paging parameters: limit must be 1-1000 and offset a multiple of limit.",
        )  # fmt: skip
    rtype = call.rtype
    ids = sorted(list_ids(call.account.store, rtype, _one(query, "q")), key=int)
    page = ids[offset : offset + limit]
    href = f"{call.base}/{rtype.name}"
    q = _one(query, "q")
    suffix = f"&q={q}" if q else ""
    links = [{"rel": "self", "href": f"{href}?limit={limit}&offset={offset}{suffix}"}]
    if offset + limit < len(ids):
        links.insert(0, {"rel": "next", "href": f"{href}?limit={limit}&offset={offset + limit}{suffix}"})
    body = {
        "links": links,
        "count": len(page),
        "hasMore": offset + len(page) < len(ids),
        "items": [{"links": [{"rel": "self", "href": f"{href}/{rid}"}], "id": rid} for rid in page],
        "offset": offset,
        "totalResults": len(ids),
    }
    return json_response(body, media_type=COLLECTION)


async def _suiteql(account: Account, request: Request, query: Query, origin: str) -> Response:
    if request.method != "POST":
        raise ApiError(405, "INVALID_REQUEST", "SuiteQL requires POST.")
    if "transient" not in request.headers.get("prefer", "").lower():
        raise ApiError(
            400, "INVALID_REQUEST",
            "The request header 'Prefer: transient' is required for SuiteQL queries.",
            flat=False,
        )  # fmt: skip
    limit = _int_param(query, "limit", 1000)
    offset = _int_param(query, "offset", 0)
    body = await _body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_REQUEST", "The request body must be a JSON object.")
    check_suiteql(account.denied_permissions, body.get("q"))
    if isinstance(body.get("q"), str):
        try:
            check_query(body["q"])
        except ApiError as error:
            account.schema_violations.append(
                SchemaViolation("suiteql", "POST", request.url.path, error.code, error.detail, "q")
            )
            account.counters["schema_violation"] += 1
            raise
    self_url = f"{origin}{REST}/query/v1/suiteql?limit={limit}&offset={offset}"
    result = await asyncio.to_thread(
        _locked_suiteql, account, body.get("q"), body.get("params"), limit, offset, self_url
    )
    return json_response(result, media_type=COLLECTION)


def _locked_suiteql(
    account: Account, q: Any, params: Any, limit: int, offset: int, self_url: str
) -> dict[str, Any]:
    with account.store.sql.lock:
        return run_suiteql(account.db, q, params, limit, offset, self_url)


def _checked(account: Account, request: Request, type_name: str, body: Any) -> Any:
    """Refuse a body that breaks the record's published schema (``_schema``), as NetSuite does
    under the request's ``X-NetSuite-Property{Name,Value}Validation`` headers; every refusal is
    kept on ``account.schema_violations``."""
    found = check_body(
        type_name,
        body,
        names=header_mode(request.headers.get("x-netsuite-propertynamevalidation"), "Warning"),
        values=header_mode(request.headers.get("x-netsuite-propertyvaluevalidation"), "Error"),
    )
    if not found:
        return body
    method, path = request.method, request.url.path
    account.schema_violations.extend(
        SchemaViolation("record", method, path, v.code, v.detail, v.path) for v in found
    )
    account.counters["schema_violation"] += 1
    first = found[0]
    raise ApiError(400, first.code, first.detail, first.path or None)


async def _body(request: Request, default: Any = None) -> Any:
    raw = await request.body()
    if not raw.strip():
        if default is not None:
            return default
        raise ApiError(400, "INVALID_REQUEST", "The request body is empty.")
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise ApiError(400, "INVALID_REQUEST", "The request body is not valid JSON.") from None
