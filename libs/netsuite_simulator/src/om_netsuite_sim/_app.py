"""The ASGI application: routing, authentication, governance, faults, then the REST handlers."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import _admin, _oauth2, _rest
from ._jobs import accepted, idempotency_conflict
from ._responses import (
    ApiError,
    concurrency_response,
    error_response,
    invalid_login_response,
    unexpected_error,
)
from ._simulator import Account, AuthFailure, Simulator
from ._tba import TbaFailure, parse_authorization, verify

__all__ = ["SimulatorApp"]

log = logging.getLogger("om_netsuite_sim")
_REST = "/services/rest"
_BEARER_CHALLENGE = (
    'Bearer realm="{realm}", error="invalid_token", error_description="Invalid login attempt."'
)


class _Drop(Exception):
    """Close the connection without a response."""


def _query(scope: Scope) -> dict[str, list[str]]:
    return parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


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
        if "respond-async" in prefer and request.url.path.startswith(_rest.RECORD + "/"):
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
            return await _rest.route(account, request, _query(request.scope))
        except ApiError as error:
            return error_response(error)
        except Exception:
            # NetSuite answers its own failures as UNEXPECTED_ERROR with an error id.
            log.exception("simulator handler failed", extra={"account_id": account.account_id})
            return unexpected_error()


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
