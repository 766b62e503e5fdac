"""NetSuite error bodies of both shapes become typed, classified errors."""

from __future__ import annotations

import json

import httpx2
import pytest

from om_netsuite import (
    AuthenticationFailed,
    NetSuiteHTTPError,
    PermanentError,
    RateLimited,
    RequestInfo,
    Transient,
    error_from_response,
)

NESTED = {
    "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
    "title": "Bad Request",
    "status": 400,
    "o:errorDetails": [
        {
            "detail": "You have entered an Invalid Field Value 9999 for the following field: item",
            "o:errorCode": "INVALID_CONTENT",
            "o:errorPath": "item.items[0].item",
        }
    ],
}
FLAT = {
    "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
    "title": "Payment already declined",
    "detail": "This payment was already declined.",
    "status": 400,
    "o:errorCode": "USER_ERROR",
}
TOO_MANY = {
    "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
    "title": "Bad Request",
    "status": 429,
    "o:errorCode": "USER_ERROR",
    "o:errorDetails": [
        {
            "detail": "Concurrent request limit exceeded. Request blocked.",
            "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED",
        }
    ],
}
REQUEST = RequestInfo(
    "POST",
    "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1/salesOrder",
    "salesOrder.create",
)


def test_the_nested_shape_carries_code_detail_path_and_request() -> None:
    error = error_from_response(400, json.dumps(NESTED).encode(), None, REQUEST)
    assert isinstance(error, PermanentError)
    assert (error.status, error.code, error.error_path) == (400, "INVALID_CONTENT", "item.items[0].item")
    assert error.detail is not None
    assert "Invalid Field Value" in error.detail
    assert error.request == REQUEST
    assert (error.kind, error.retryable) == ("permanent", False)
    assert "INVALID_CONTENT" in str(error)
    assert "item.items[0].item" in str(error)


def test_the_flat_shape_of_record_actions_is_understood() -> None:
    error = error_from_response(400, json.dumps(FLAT).encode())
    assert (error.code, error.detail, error.error_path) == (
        "USER_ERROR",
        "This payment was already declined.",
        None,
    )
    assert error.title == "Payment already declined"


def test_the_concurrency_429_prefers_the_detail_code_and_is_retryable() -> None:
    error = error_from_response(429, json.dumps(TOO_MANY).encode(), httpx2.Headers({"Retry-After": "3"}))
    assert isinstance(error, RateLimited)
    assert (error.code, error.top_code, error.retry_after) == (
        "CONCURRENCY_LIMIT_EXCEEDED",
        "USER_ERROR",
        3.0,
    )
    assert (error.kind, error.retryable) == ("rate_limited", True)


@pytest.mark.parametrize(
    ("status", "cls", "kind", "retryable"),
    [
        (500, Transient, "transient", True),
        (502, Transient, "transient", True),
        (503, Transient, "transient", True),
        (504, Transient, "transient", True),
        (401, AuthenticationFailed, "auth", False),
        (403, AuthenticationFailed, "auth", False),
        (400, PermanentError, "permanent", False),
        (404, PermanentError, "permanent", False),
        (409, PermanentError, "permanent", False),
    ],
)
def test_statuses_are_classified(
    status: int, cls: type[NetSuiteHTTPError], kind: str, retryable: bool
) -> None:
    error = error_from_response(status, b"")
    assert type(error) is cls
    assert (error.kind, error.retryable, error.status) == (kind, retryable, status)


@pytest.mark.parametrize("body", [b"", b"<html>gateway</html>", b"[]", b'{"o:errorDetails": "x"}', b"null"])
def test_unparseable_bodies_still_give_a_typed_error(body: bytes) -> None:
    error = error_from_response(502, body)
    assert isinstance(error, Transient)
    assert error.code is None
    assert error.details == ()


def test_the_invalid_login_body_is_an_authentication_failure() -> None:
    body = {
        "title": "Unauthorized",
        "status": 401,
        "o:errorDetails": [{"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}],
    }
    error = error_from_response(401, json.dumps(body).encode())
    assert isinstance(error, AuthenticationFailed)
    assert error.code == "INVALID_LOGIN"
