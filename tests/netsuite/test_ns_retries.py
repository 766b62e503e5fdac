"""Retries: which requests, how often, and with fresh signatures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx2
import pytest

from om_netsuite import (
    NetSuiteClient,
    NetSuiteNetworkError,
    NetSuiteTimeout,
    RateLimited,
    RequestRetryPolicy,
    TbaAuth,
    Transient,
)

from .conftest import ACCOUNT

CONCURRENCY = {
    "status": 429,
    "o:errorDetails": [
        {"detail": "Concurrent request limit exceeded.", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}
    ],
}
CREATED = {"Location": "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/salesOrder/42"}

Handler = Callable[[httpx2.Request], httpx2.Response]


def scripted(*responses: httpx2.Response | Exception) -> tuple[Handler, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []
    queue = list(responses)

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def _nonce(request: httpx2.Request) -> str:
    return request.headers["authorization"].split('oauth_nonce="')[1].split('"')[0]


async def test_a_429_then_200_succeeds_with_a_fresh_nonce(
    tba: TbaAuth, fast_retry: RequestRetryPolicy
) -> None:
    handler, seen = scripted(httpx2.Response(429, json=CONCURRENCY), httpx2.Response(200, json={"id": "5"}))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        record = await client.session(ACCOUNT, tba).get("customer", 5)
    assert record == {"id": "5"}
    assert len(seen) == 2
    assert _nonce(seen[0]) != _nonce(seen[1])


async def test_5xx_responses_are_retried_until_attempts_run_out(
    tba: TbaAuth, fast_retry: RequestRetryPolicy
) -> None:
    handler, seen = scripted(*(httpx2.Response(503, json={"status": 503}) for _ in range(4)))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        with pytest.raises(Transient) as caught:
            await client.session(ACCOUNT, tba).get("customer", 5)
    assert len(seen) == fast_retry.max_attempts == 4
    assert caught.value.status == 503
    assert caught.value.retryable


async def test_a_create_is_not_retried_after_a_5xx_and_its_outcome_is_unknown(
    tba: TbaAuth, fast_retry: RequestRetryPolicy
) -> None:
    handler, seen = scripted(
        httpx2.Response(500, json={"status": 500}), httpx2.Response(204, headers=CREATED)
    )
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        with pytest.raises(Transient) as caught:
            await client.session(ACCOUNT, tba).create("salesOrder", {"entity": {"id": "1"}})
    assert len(seen) == 1
    assert caught.value.outcome_unknown


async def test_a_create_whose_response_was_lost_is_not_retried(
    tba: TbaAuth, fast_retry: RequestRetryPolicy
) -> None:
    handler, seen = scripted(httpx2.ReadTimeout("lost"), httpx2.Response(204, headers=CREATED))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        with pytest.raises(NetSuiteTimeout) as caught:
            await client.session(ACCOUNT, tba).create("salesOrder", {"entity": {"id": "1"}})
    assert len(seen) == 1
    assert caught.value.outcome_unknown
    assert caught.value.retryable


async def test_a_create_that_never_connected_is_retried(tba: TbaAuth, fast_retry: RequestRetryPolicy) -> None:
    handler, seen = scripted(httpx2.ConnectError("refused"), httpx2.Response(204, headers=CREATED))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        assert await client.session(ACCOUNT, tba).create("salesOrder", {"entity": {"id": "1"}}) == "42"
    assert len(seen) == 2


async def test_a_create_blocked_by_the_concurrency_limit_is_sent_again(
    tba: TbaAuth, fast_retry: RequestRetryPolicy
) -> None:
    handler, seen = scripted(httpx2.Response(429, json=CONCURRENCY), httpx2.Response(204, headers=CREATED))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        assert await client.session(ACCOUNT, tba).create("salesOrder", {"entity": {"id": "1"}}) == "42"
    assert len(seen) == 2


async def test_a_create_is_never_retried_when_the_policy_forbids_it_even_on_429(tba: TbaAuth) -> None:
    policy = RequestRetryPolicy(max_attempts=4, base=0.001, cap=0.001, retry_unsafe_on_429=False)
    handler, seen = scripted(httpx2.Response(429, json=CONCURRENCY), httpx2.Response(204, headers=CREATED))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=policy) as client:
        with pytest.raises(RateLimited):
            await client.session(ACCOUNT, tba).create("salesOrder", {"entity": {"id": "1"}})
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("PATCH", lambda ns: ns.update("salesOrder", 1, {"memo": "x"}, replace=["item"])),
        ("PUT", lambda ns: ns.upsert("salesOrder", "OM-1", {"memo": "x"})),
        ("DELETE", lambda ns: ns.delete("salesOrder", 1)),
    ],
)
async def test_idempotent_writes_are_retried_after_network_errors(
    tba: TbaAuth, fast_retry: RequestRetryPolicy, method: str, call: Callable[..., object]
) -> None:
    handler, seen = scripted(httpx2.ReadError("reset"), httpx2.Response(204, headers=CREATED))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        await call(client.session(ACCOUNT, tba))  # type: ignore[misc]  # lambdas return coroutines
    assert [r.method for r in seen] == [method, method]
    assert _nonce(seen[0]) != _nonce(seen[1])


async def test_network_errors_exhaust_into_a_network_error(
    tba: TbaAuth, fast_retry: RequestRetryPolicy
) -> None:
    handler, seen = scripted(*(httpx2.ConnectError("down") for _ in range(4)))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        with pytest.raises(NetSuiteNetworkError) as caught:
            await client.session(ACCOUNT, tba).get("customer", 1)
    assert len(seen) == 4
    assert not caught.value.outcome_unknown


async def test_permanent_errors_are_not_retried(tba: TbaAuth, fast_retry: RequestRetryPolicy) -> None:
    handler, seen = scripted(httpx2.Response(404, json={"status": 404}))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=fast_retry) as client:
        with pytest.raises(Exception, match="404"):
            await client.session(ACCOUNT, tba).get("customer", 1)
    assert len(seen) == 1


async def test_retry_after_is_a_lower_bound_for_the_wait(tba: TbaAuth) -> None:
    policy = RequestRetryPolicy(max_attempts=2, base=0.0, cap=0.0)
    handler, _ = scripted(
        httpx2.Response(429, json=CONCURRENCY, headers={"Retry-After": "0.2"}), httpx2.Response(200, json={})
    )
    loop = asyncio.get_running_loop()
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=policy) as client:
        started = loop.time()
        await client.session(ACCOUNT, tba).get("customer", 1)
    assert loop.time() - started >= 0.2


async def test_the_total_time_bound_stops_retries_early(tba: TbaAuth) -> None:
    policy = RequestRetryPolicy(max_attempts=10, max_elapsed=0.05, base=1.0, cap=1.0, random=lambda: 1.0)
    handler, seen = scripted(*(httpx2.Response(503) for _ in range(10)))
    async with NetSuiteClient(transport=httpx2.MockTransport(handler), retry=policy) as client:
        with pytest.raises(Transient):
            await client.session(ACCOUNT, tba).get("customer", 1)
    assert len(seen) == 1


def test_backoff_is_full_jitter_capped_exponential() -> None:
    top = RequestRetryPolicy(base=0.5, cap=4.0, random=lambda: 0.999999)
    assert [round(top.backoff(n), 3) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    bottom = RequestRetryPolicy(base=0.5, cap=4.0, random=lambda: 0.0)
    assert bottom.backoff(3) == 0.0
    assert bottom.backoff(3, retry_after=1.5) == 1.5


async def test_every_attempt_reports_to_the_request_hook(
    tba: TbaAuth, fast_retry: RequestRetryPolicy
) -> None:
    calls: list[tuple[str, int | None, str]] = []
    handler, _ = scripted(
        httpx2.ReadError("x"), httpx2.Response(429, json=CONCURRENCY), httpx2.Response(200, json={})
    )
    async with NetSuiteClient(
        transport=httpx2.MockTransport(handler),
        retry=fast_retry,
        on_request=lambda op, status, duration, account: calls.append((op, status, account)),
    ) as client:
        await client.session(ACCOUNT, tba).get("customer", 1)
    assert calls == [
        ("customer.get", None, "1234567_SB1"),
        ("customer.get", 429, "1234567_SB1"),
        ("customer.get", 200, "1234567_SB1"),
    ]


async def test_a_request_sleeping_in_backoff_does_not_hold_its_budget_slot(tba: TbaAuth) -> None:
    order: list[str] = []
    first_refused = asyncio.Event()

    def handler(request: httpx2.Request) -> httpx2.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        if name == "1" and "1" not in order:
            order.append("1")
            return httpx2.Response(429, json=CONCURRENCY)
        order.append(name)
        return httpx2.Response(200, json={"id": name})

    def on_request(operation: str, status: int | None, duration: float, account: str) -> None:
        if status == 429:
            first_refused.set()

    policy = RequestRetryPolicy(max_attempts=3, base=0.3, cap=0.3, random=lambda: 1.0)
    async with NetSuiteClient(
        transport=httpx2.MockTransport(handler), retry=policy, on_request=on_request
    ) as client:
        ns = client.session(ACCOUNT, tba, concurrency_limit=1)
        retried = asyncio.create_task(ns.get("customer", 1))
        await first_refused.wait()
        # With limit 1, this only completes now if the backing-off request released its slot.
        assert await ns.get("customer", 2) == {"id": "2"}
        assert await retried == {"id": "1"}
    assert order == ["1", "2", "1"]
