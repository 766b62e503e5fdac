"""The ASGI application: routing, authentication, governance, faults, then the REST handlers."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import _admin, _oauth2
from ._catalog import check_query
from ._jobs import accepted, idempotency_conflict, job_resource
from ._listing import list_ids
from ._records import record_type
from ._render import render_record, sublist_resource
from ._responses import (
    COLLECTION,
    ApiError,
    concurrency_response,
    error_response,
    invalid_login_response,
    json_response,
    unexpected_error,
)
from ._roles import check_record, check_suiteql
from ._schema import check_body, header_mode
from ._simulator import Account, AuthFailure, SchemaViolation, Simulator
from ._suiteql import run_suiteql
from ._tba import TbaFailure, parse_authorization, verify

__all__ = ["SimulatorApp"]

log = logging.getLogger("om_netsuite_sim")
_REST = "/services/rest"
_RECORD = "/services/rest/record/v1"
_JOBS = "/services/rest/async/v1/job"
_BEARER_CHALLENGE = (
    'Bearer realm="{realm}", error="invalid_token", error_description="Invalid login attempt."'
)


class _Drop(Exception):
    """Close the connection without a response."""


def _query(scope: Scope) -> dict[str, list[str]]:
    return parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "INVALID_PARAMETER", f"Invalid value for the parameter {name}: {raw}.") from None


class SimulatorApp:
    """ASGI callable serving every account of one ``Simulator``."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        # uvicorn passes its protocol's bound methods; keep the transport to drop connections.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        request = Request(scope, receive)
        try:
            response = await self._handle(request, receive)
        except _Drop:
            if transport is not None:
                transport.abort()
                await asyncio.sleep(0)  # let the protocol notice the disconnect before we return
                return
            response = unexpected_error()
        await response(scope, receive, send)

    async def _handle(self, request: Request, receive: Receive) -> Response:
        path = request.url.path
        if path.startswith("/_sim/"):
            return await _admin.handle(self.sim, request)
        if path == f"{_REST}/auth/oauth2/v1/token":
            return await _oauth2.token_endpoint(self.sim, request)
        if not path.startswith(_REST):
            return error_response(ApiError(404, "INVALID_REQUEST", f"Unknown path {path}."))
        account = self._authenticate(request)
        if account is None:
            return self._login_failed(request)
        return await self._governed(account, request, receive)

    # ---- authentication -----------------------------------------------------------------
    def _authenticate(self, request: Request) -> Account | None:
        header = request.headers.get("authorization", "")
        method, path = request.method, request.url.path
        if header[:7].lower() == "bearer ":
            entry = self.sim.bearer_tokens.get(header[7:].strip())
            if entry is None:
                return None
            account = self.sim.accounts.get(entry[0])
            if account is None or entry[1] <= self.sim.clock():
                if account is not None:
                    account.auth_failures.append(AuthFailure("token_expired", self.sim.clock(), method, path))
                return None
            return account
        try:
            params = parse_authorization(header)
        except TbaFailure:
            return None
        realm = params.get("realm", "")
        account = self.sim.account_for_realm(realm)
        if account is None:
            other = self.sim.account_for_realm_ignoring_case(realm)
            if other is not None:
                other.auth_failures.append(AuthFailure("InvalidRealm", self.sim.clock(), method, path))
            return None
        scope = request.scope
        host = request.headers.get("host", "")
        raw_path = scope.get("raw_path") or path.encode()
        url = f"{scope.get('scheme', 'http')}://{host}{raw_path.decode('latin-1')}"
        query = scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        try:
            verify(method, url, params, account.credentials, self.sim.clock(), account.nonce_seen)
        except TbaFailure as failure:
            account.auth_failures.append(AuthFailure(failure.reason, self.sim.clock(), method, path))
            log.info("tba rejected", extra={"account_id": account.account_id, "reason": failure.reason})
            return None
        return account

    def _login_failed(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return invalid_login_response(_BEARER_CHALLENGE.format(realm=""))
        return invalid_login_response()

    # ---- governance and faults ----------------------------------------------------------
    async def _governed(self, account: Account, request: Request, receive: Receive) -> Response:
        method, path = request.method, request.url.path
        if account.in_flight >= account.concurrency_limit:
            account.counters["rejected_concurrency"] += 1
            account.request_log.append((method, path, 429))
            return concurrency_response()
        account.in_flight += 1
        account.peak_in_flight = max(account.peak_in_flight, account.in_flight)
        status = 0
        try:
            delay = account.faults.delay()
            if delay > 0:
                await asyncio.sleep(delay)
            response = await self._with_faults(account, request, receive)
            status = response.status_code
            return response
        finally:
            account.in_flight -= 1
            account.request_log.append((method, path, status))

    async def _with_faults(self, account: Account, request: Request, receive: Receive) -> Response:
        fault = account.faults.pick(request.method, request.url.path)
        if fault is None:
            return await self._dispatch(account, request)
        account.counters[f"fault_{fault.kind}"] += 1
        if fault.kind == "429":
            return concurrency_response()
        if fault.kind == "5xx":
            return unexpected_error(fault.status, fault.error_id)
        if fault.kind == "timeout":
            await _wait_disconnect(receive, fault.delay)
            raise _Drop
        if fault.kind == "drop":
            raise _Drop
        if fault.kind == "slow_401":
            await asyncio.sleep(fault.delay)
            return invalid_login_response()
        await self._dispatch(account, request)  # commit_then_*: the write happens, then is lost
        if fault.kind == "commit_then_drop":
            raise _Drop
        return unexpected_error(500, fault.error_id)

    # ---- REST dispatch ------------------------------------------------------------------
    async def _dispatch(self, account: Account, request: Request) -> Response:
        prefer = request.headers.get("prefer", "").lower()
        if "respond-async" in prefer and request.url.path.startswith(_RECORD + "/"):
            return await self._async(account, request)
        return await self._sync(account, request)

    async def _async(self, account: Account, request: Request) -> Response:
        origin = f"{request.url.scheme}://{request.headers.get('host', '')}"
        key = request.headers.get("x-netsuite-idempotency-key")
        if key and key in account.jobs.by_key:
            return idempotency_conflict(origin, account.jobs.by_key[key])
        response = await self._sync(account, request)
        return accepted(origin, account.jobs.record(response, key))

    async def _sync(self, account: Account, request: Request) -> Response:
        try:
            return await self._route(account, request)
        except ApiError as error:
            return error_response(error)
        except Exception:
            # NetSuite answers its own failures as UNEXPECTED_ERROR with an error id.
            log.exception("simulator handler failed", extra={"account_id": account.account_id})
            return unexpected_error()

    async def _route(self, account: Account, request: Request) -> Response:
        path, method = request.url.path, request.method
        host = request.headers.get("host", "")
        origin = f"{request.url.scheme}://{host}"
        query = _query(request.scope)
        if path == f"{_REST}/query/v1/suiteql":
            account.counters["suiteql"] += 1
            return await self._suiteql(account, request, query, origin)
        if path == f"{_REST}/system/v1/governanceLimits" and method == "GET":
            account.counters["governanceLimits"] += 1
            return json_response(account.governance)
        if path.startswith(_JOBS + "/") and method == "GET":
            account.counters["async job"] += 1
            return job_resource(account.jobs, origin, path[len(_JOBS) + 1 :].split("/"))
        if not path.startswith(_RECORD + "/"):
            raise ApiError(404, "INVALID_REQUEST", f"Unknown path {path}.")
        parts = path[len(_RECORD) + 1 :].split("/")
        base = origin + _RECORD
        store = account.store
        rtype = record_type(parts[0])
        check_record(account.denied_permissions, rtype.name)
        op = f"{method} {rtype.name}"
        if len(parts) == 1:
            account.counters[f"{'list' if method == 'GET' else 'create'} {rtype.name}"] += 1
            if method == "GET":
                return self._list(account, rtype.name, query, base)
            if method == "POST":
                body = _checked(account, request, rtype.name, await _body(request))
                rid = store.create(rtype, body)
                return _created(base, rtype.name, rid)
        elif len(parts) == 2:
            account.counters[op] += 1
            key = parts[1]
            if method == "GET":
                record = store.get(rtype, key)
                fields = _one(query, "fields")
                expand = (_one(query, "expandSubResources") or "").lower() == "true"
                body = render_record(
                    store, rtype, record, base,
                    fields=set(fields.split(",")) if fields else None, expand=expand,
                )  # fmt: skip
                return json_response(body)
            if method == "PATCH":
                replace = {p for v in query.get("replace", []) for p in v.split(",") if p}
                body = _checked(account, request, rtype.name, await _body(request))
                rid = store.update(rtype, key, body, replace)
                return _created(base, rtype.name, rid)
            if method == "PUT":
                if not key.startswith("eid:"):
                    raise ApiError(
                        405, "INVALID_REQUEST", "PUT is supported only with an external ID (eid:)."
                    )
                body = _checked(account, request, rtype.name, await _body(request))
                rid = store.upsert(rtype, key[4:], body)
                return _created(base, rtype.name, rid)
            if method == "DELETE":
                store.delete(rtype, key)
                return Response(status_code=204)
        elif len(parts) in (3, 4) and parts[2] != "!transform" and method == "GET":
            account.counters[f"GET {rtype.name} sublist"] += 1
            record = store.get(rtype, parts[1])
            return json_response(sublist_resource(store, rtype, record, base, parts[2:]))
        elif len(parts) == 4 and parts[2] == "!transform" and method == "POST":
            account.counters[f"transform {rtype.name}->{parts[3]}"] += 1
            source_id = store.resolve(rtype, parts[1])
            target = record_type(parts[3]).name
            body = _checked(account, request, target, await _body(request, {}))
            rid = account.transform(rtype.name, source_id, parts[3], body)
            return _created(base, record_type(parts[3]).name, rid)
        raise ApiError(405, "INVALID_REQUEST", f"{method} is not supported on {path}.")

    def _list(self, account: Account, type_name: str, query: dict[str, list[str]], base: str) -> Response:
        limit = _int_param(query, "limit", 1000)
        offset = _int_param(query, "offset", 0)
        if limit < 1 or limit > 1000 or offset < 0 or offset % limit:
            raise ApiError(
                400, "INVALID_PARAMETER",
                "Invalid paging parameters: limit must be 1-1000 and offset a multiple of limit.",
            )  # fmt: skip
        rtype = record_type(type_name)
        ids = sorted(list_ids(account.store, rtype, _one(query, "q")), key=int)
        page = ids[offset : offset + limit]
        href = f"{base}/{rtype.name}"
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

    async def _suiteql(
        self, account: Account, request: Request, query: dict[str, list[str]], origin: str
    ) -> Response:
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
        self_url = f"{origin}{_REST}/query/v1/suiteql?limit={limit}&offset={offset}"
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


def _created(base: str, type_name: str, rid: str) -> Response:
    return Response(status_code=204, headers={"Location": f"{base}/{type_name}/{rid}"})


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


async def _wait_disconnect(receive: Receive, limit: float) -> None:
    async def _until() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(_until(), limit)
    except TimeoutError:
        return


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
