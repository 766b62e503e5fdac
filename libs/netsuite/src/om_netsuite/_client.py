"""The pooled client: one ``httpx2.AsyncClient`` per process, one lightweight session per account.

A session builds each request as a :class:`Request` value and hands it to :meth:`NetSuiteClient.execute`;
the client sends it and never calls back into the session. Every attempt of every request: prepare auth (token exchange outside the budget), wait for a slot
of the account's budget, sign the exact URL afresh, send, release the slot, classify the outcome,
and either return, raise, or sleep (without a slot) and try again under the :class:`RequestRetryPolicy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from types import TracebackType

import httpx2
from opentelemetry import trace

from ._accounts import account_base_url, normalize_account_id
from ._auth import Auth
from ._budget import Budget, LocalBudget
from ._exceptions import (
    AuthenticationFailed,
    BudgetTimeout,
    NetSuiteError,
    NetSuiteHTTPError,
    NetSuiteTimeout,
    RequestInfo,
    error_from_response,
)
from ._guard import RequestGuard
from ._oauth2 import TokenRefused
from ._pool import ACCOUNT_EXTENSION, AccountPools
from ._request import Request
from ._retry import RequestRetryPolicy
from ._session import NetSuiteSession
from ._wire import NOT_SENT, Wire, call_hook, mark_span_failed, network_error

__all__ = ["BudgetWaitHook", "NetSuiteClient", "RequestHook"]

logger = logging.getLogger("om_netsuite")

#: ``on_request(operation, status, duration_s, account_id)``; status is None for network errors.
RequestHook = Callable[[str, int | None, float, str], None]
#: ``on_budget_wait(account_id, seconds)`` after each slot acquisition, and after each wait that
#: ended in :class:`BudgetTimeout` (then ``on_budget_timeout`` is called with it too).
BudgetWaitHook = Callable[[str, float], None]


class NetSuiteClient:
    """Process-wide NetSuite client.

    ``base_url_override`` replaces ``https://<account host>`` (simulator, tests);
    ``transport`` is any ``httpx2.AsyncBaseTransport`` (``MockTransport`` in unit tests);
    ``budget`` bounds in-flight requests per account (default: a :class:`LocalBudget`);
    ``max_connections`` per account: one pool each (:mod:`._pool`) unless ``transport`` is given;
    ``attempt_deadline`` (s) bounds one attempt from the moment it is sent to its last byte
    (``timeout`` applies per phase: connect, write, each read); an attempt the client stopped
    waiting for (a read or write timeout, the caller cancelled) keeps its budget slot
    until that deadline, since NetSuite may still be working on it (NetSuite times a request out
    after 15 minutes: Help Center subsect_1559222360; whether a disconnected request still counts
    against the account's limit is unconfirmed). Give a distributed budget the same value (for
    ``om_platform.adapters.budget.MongoBudget``: ``LeaseTiming.attempt_deadline_s``);
    ``tracer`` wraps every attempt in a ``netsuite <operation>`` span (default: the global
    OpenTelemetry tracer, a no-op unless the application installed a provider).
    """

    def __init__(
        self,
        *,
        base_url_override: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        budget: Budget | None = None,
        timeout: float | httpx2.Timeout = 60.0,
        retry: RequestRetryPolicy | None = None,
        property_name_validation: str = "Error",
        on_request: RequestHook | None = None,
        on_budget_wait: BudgetWaitHook | None = None,
        on_budget_timeout: BudgetWaitHook | None = None,
        attempt_deadline: float = 120.0,
        max_connections: int = 100,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.base_url_override = base_url_override
        self.budget: Budget = budget if budget is not None else LocalBudget()
        self.retry = retry if retry is not None else RequestRetryPolicy()
        self.property_name_validation = property_name_validation
        self.on_request = on_request
        self.on_budget_wait = on_budget_wait
        self.on_budget_timeout = on_budget_timeout
        if attempt_deadline <= 0:
            raise ValueError("attempt_deadline must be positive")
        self.attempt_deadline = attempt_deadline
        self._lingering: set[asyncio.Task[None]] = set()
        self._tracer = tracer if tracer is not None else trace.get_tracer("om_netsuite")
        limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx2.AsyncClient(
            transport=transport if transport is not None else AccountPools(limits=limits),
            timeout=timeout,
            limits=limits,
            headers={"Accept": "application/json", "User-Agent": "om-netsuite/0.1"},
        )

    async def __aenter__(self) -> NetSuiteClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool.

        Slots held for attempts whose outcome is unknown stay held: the budget does not return
        their shares (they lapse, and count until the attempt deadline, in the distributed one).
        """
        for task in list(self._lingering):
            task.cancel()
        await self._http.aclose()

    def session(
        self,
        account_id: str,
        auth: Auth,
        concurrency_limit: int = 5,
        *,
        guard: RequestGuard | None = None,
    ) -> NetSuiteSession:
        """A handle for one account; cheap, create one per use if convenient.

        ``guard`` watches (and may veto) every request of the session (:class:`RequestGuard`).
        """
        realm = normalize_account_id(account_id)
        if auth.realm != realm:
            raise ValueError(f"auth is for account {auth.realm}, not {realm}")
        if concurrency_limit < 1:
            raise ValueError("concurrency_limit must be >= 1")
        return NetSuiteSession(self, realm, auth, concurrency_limit, guard=guard)

    async def authenticate(self, account_id: str, auth: Auth) -> None:
        """Run ``auth``'s token exchange now if it needs one (``omctl integration check``)."""
        await auth.prepare(self._http, account_base_url(account_id, self.base_url_override))

    async def execute(self, request: Request) -> httpx2.Response:
        """Send one logical request with budget, signing and retries; return the 2xx response.

        ``request.guard`` (the session's) hears every attempt and the outcome, and may veto an attempt.
        """
        guard = request.guard
        if guard is None:
            return await self._execute(request)
        try:
            response = await self._execute(request)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            await self._finished(guard, request.operation, error)
            raise
        await self._finished(guard, request.operation, None)
        return response

    async def _execute(self, request: Request) -> httpx2.Response:
        base = request.base_url(self.base_url_override)
        url = request.url(self.base_url_override)
        wire = Wire(url, request.content(), request.send_headers(), request.info(url))
        auth = request.auth
        started = time.monotonic()
        attempt = 0
        reauthenticated = False
        refreshable = bool(getattr(auth, "refreshable", False))
        while True:
            attempt += 1
            wire.retries_401 = refreshable and not reauthenticated
            try:
                if request.guard is not None:
                    # An open breaker refuses before a token exchange, not only before the slot.
                    request.guard.admit(wire.info.operation)
                # Token exchanges happen here, outside the budget, and are retried like requests.
                await auth.prepare(self._http, base)
                return await self._attempt(request, wire, attempt)
            except NetSuiteError as error:
                if (
                    isinstance(error, AuthenticationFailed)
                    and not isinstance(error, TokenRefused)
                    and error.status == 401
                    and not reauthenticated
                    and auth.invalidate(wire.signed_at)
                ):
                    # An expired/revoked bearer token: one retry with a new one, no backoff. Safe
                    # for a create too: a 401 means NetSuite refused to authenticate the request
                    # and did not act on it (RFC 6750 section 3.1 invalid_token; Oracle help
                    # subsect_158521885412 "Invalid login attempt").
                    reauthenticated = True
                    continue
                if not self.retry.should_retry(error, attempt=attempt, idempotent=request.idempotent):
                    raise
                retry_after = error.retry_after if isinstance(error, NetSuiteHTTPError) else None
                delay = self.retry.backoff(attempt, retry_after)
                if time.monotonic() - started + delay > self.retry.max_elapsed:
                    raise
                logger.debug(
                    "netsuite retry scheduled",
                    extra={
                        "account_id": request.account_id,
                        "operation": request.operation,
                        "delay_s": delay,
                    },
                )
                await asyncio.sleep(delay)

    async def _attempt(self, request: Request, wire: Wire, attempt: int) -> httpx2.Response:
        info = wire.info
        # Attributes name the account and operation only: the URL may carry SuiteQL or query
        # values, and the headers carry signatures, so neither goes on a span.
        with self._tracer.start_as_current_span(
            f"netsuite {info.operation}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "netsuite.account_id": request.account_id,
                "netsuite.operation": info.operation,
                "http.request.method": info.method,
                "netsuite.attempt": attempt,
            },
            # Exception messages carry the URL; the span gets the error class and code instead.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                response = await self._send_in_slot(request, wire, attempt)
            except BaseException as error:
                mark_span_failed(span, error)
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    async def _send_in_slot(self, request: Request, wire: Wire, attempt: int) -> httpx2.Response:
        info, guard, account_id = wire.info, request.guard, request.account_id
        wait_started = time.perf_counter()
        if guard is not None:
            guard.admit(info.operation)  # a veto known already spares the wait for a slot
        holding = contextlib.AsyncExitStack()
        try:
            await holding.enter_async_context(self.budget.slot(account_id, request.limit))
        except BudgetTimeout:
            waited = time.perf_counter() - wait_started
            for hook in (self.on_budget_wait, self.on_budget_timeout):
                if hook is not None:
                    call_hook(hook, account_id, waited)
            raise
        # Until when the slot stays held after this attempt: None once NetSuite's outcome is known.
        unknown_until: float | None = None
        try:
            sent_at = time.perf_counter()
            if self.on_budget_wait is not None:
                call_hook(self.on_budget_wait, account_id, sent_at - wait_started)
            if guard is not None:
                guard.admit(info.operation)  # may veto: then nothing is sent
            unknown_until = time.monotonic() + self.attempt_deadline
            response, error = await self._send(request, wire, attempt, sent_at)
            cause = error.__cause__ if error is not None else None
            if not isinstance(cause, httpx2.TimeoutException) or isinstance(cause, NOT_SENT):
                # NetSuite answered, closed the connection, or was never reached; or the attempt
                # deadline passed. Only a client that stopped waiting keeps the slot.
                unknown_until = None
            renewed_next = (
                wire.retries_401 and isinstance(error, AuthenticationFailed) and error.status == 401
            )
            if guard is not None and not renewed_next:
                # Still in the slot: a request waiting for it already sees what this one met.
                call_hook(guard.attempted, info.operation, error)
        finally:
            if unknown_until is not None and unknown_until > time.monotonic():
                self._linger(holding, unknown_until)
            else:
                await holding.aclose()
        if error is not None:
            raise error
        assert response is not None
        return response

    async def _send(
        self, request: Request, wire: Wire, attempt: int, sent_at: float
    ) -> tuple[httpx2.Response | None, NetSuiteError | None]:
        """One attempt on the wire within the attempt deadline: the response or the typed error."""
        info, account_id = wire.info, request.account_id
        http_request = self._http.build_request(
            info.method,
            wire.url,
            content=wire.content,
            headers=wire.headers,
            extensions={ACCOUNT_EXTENSION: account_id},
        )
        # Sign the URL exactly as it will go on the wire, with a fresh nonce/timestamp.
        http_request.headers["Authorization"] = request.auth.authorization(info.method, str(http_request.url))
        wire.signed_at = time.monotonic()
        status: int | None = None
        error: NetSuiteError | None = None
        response: httpx2.Response | None = None
        try:
            async with asyncio.timeout(self.attempt_deadline):
                response = await self._http.send(http_request)
            status = response.status_code
        except TimeoutError:
            error = NetSuiteTimeout(
                f"{info}: attempt deadline of {self.attempt_deadline}s passed", request=info
            )
            error.outcome_unknown = not request.idempotent
        except httpx2.RequestError as exc:
            error = network_error(exc, info, request.idempotent)
            error.__cause__ = exc
        finally:
            self._observe(info, account_id, status, time.perf_counter() - sent_at, attempt)
        if response is not None and not response.is_success:
            error = error_from_response(response.status_code, response.content, response.headers, info)
            # A 5xx on a create may come after the record was saved.
            error.outcome_unknown = not request.idempotent and response.status_code >= 500
        return response, error

    def _linger(self, holding: contextlib.AsyncExitStack, until: float) -> None:
        """Keep an attempt's slot until ``until`` (monotonic): NetSuite may still be working on it."""

        async def hold() -> None:
            await asyncio.sleep(until - time.monotonic())
            await holding.aclose()  # not reached when the client closes: the slot stays counted

        task = asyncio.create_task(hold(), name="netsuite-slot-held")
        self._lingering.add(task)
        task.add_done_callback(self._lingering.discard)

    def _observe(
        self, info: RequestInfo, account_id: str, status: int | None, duration: float, attempt: int
    ) -> None:
        logger.info(
            "netsuite request",
            extra={
                "account_id": account_id,
                "method": info.method,
                "operation": info.operation,
                "status": status,
                "duration_ms": round(duration * 1000, 1),
                "attempt": attempt,
            },
        )
        if self.on_request is not None:
            call_hook(self.on_request, info.operation, status, duration, account_id)

    @staticmethod
    async def _finished(guard: RequestGuard, operation: str, error: BaseException | None) -> None:
        try:
            await guard.finished(operation, error)
        except Exception:
            logger.exception("netsuite request guard failed")
