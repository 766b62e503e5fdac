"""The session builds one `Request` value per operation; whatever sends it never calls the session back."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx2

from om_netsuite import NetSuiteError, NetSuiteSession
from om_netsuite._request import Request, encode_query


@dataclass
class _Auth:
    realm: str = "1234567"

    async def prepare(self, http: httpx2.AsyncClient, base_url: str) -> None:
        return None

    def authorization(self, method: str, url: str) -> str:
        return "test"

    def invalidate(self, signed_at: float | None = None) -> bool:
        return False


@dataclass
class RecordingSender:
    """A `RequestSender` that answers every request with `response` and keeps the requests."""

    base_url_override: str | None = "http://ns.test"
    property_name_validation: str = "Error"
    sent: list[Request] = field(default_factory=list)
    response: httpx2.Response = field(
        default_factory=lambda: httpx2.Response(204, headers={"location": "http://ns.test/x/42"})
    )

    async def execute(self, request: Request) -> httpx2.Response:
        self.sent.append(request)
        return self.response


class _Guard:
    """A `RequestGuard` that admits everything."""

    def admit(self, operation: str) -> None:
        return None

    def attempted(self, operation: str, error: NetSuiteError | None) -> None:
        return None

    async def finished(self, operation: str, error: BaseException | None) -> None:
        return None


async def test_an_operation_is_one_request_value_with_everything_the_client_needs() -> None:
    sender = RecordingSender()
    guard = _Guard()
    session = NetSuiteSession(sender, "1234567", _Auth(), 3, guard=guard)
    new_id = await session.upsert("salesOrder", "om-ord_1", {"memo": "a b"}, replace=["item"])
    assert new_id == "42"
    (request,) = sender.sent
    assert request == Request(
        account_id="1234567",
        auth=session.auth,
        limit=3,
        method="PUT",
        path="/services/rest/record/v1/salesOrder/eid:om-ord_1",
        operation="salesOrder.upsert",
        idempotent=True,
        query=[("replace", "item")],
        body={"memo": "a b"},
        headers={"X-NetSuite-PropertyNameValidation": "Error"},
        guard=guard,
    )
    assert request.url("http://ns.test") == (
        "http://ns.test/services/rest/record/v1/salesOrder/eid:om-ord_1?replace=item"
    )
    assert request.content() == b'{"memo":"a b"}'
    assert request.send_headers()["Content-Type"] == "application/json"
    prepared = session.prepare_upsert("salesOrder", "om-ord_1", {"memo": "a b"}, replace=["item"])
    assert prepared.url == request.url("http://ns.test")  # the dry run and the request agree


def test_queries_are_encoded_the_way_they_are_signed() -> None:
    assert encode_query([("q", "name IS a b"), ("limit", "5")]) == "q=name%20IS%20a%20b&limit=5"
