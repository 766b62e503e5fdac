"""SuiteQL binding, paging rules and row normalisation (no network)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from om_netsuite import NetSuiteClient, SuiteQLPagingError, TbaAuth
from om_netsuite._suiteql import bind_keyset, check_page, count_placeholders, render_params

from .conftest import ACCOUNT


def test_parameters_are_rendered_as_strings_and_non_scalars_refused() -> None:
    assert render_params(["O'Brien", 5, Decimal("1.50"), True, False, dt.date(2024, 1, 2)]) == [
        "O'Brien",
        "5",
        "1.50",
        "T",
        "F",
        "2024-01-02",
    ]
    for bad in ([1, 2], {"a": 1}, None, object(), float("nan")):
        with pytest.raises(TypeError):
            render_params([bad])
    with pytest.raises(TypeError):
        render_params("abc")


def test_placeholders_inside_literals_are_not_counted() -> None:
    assert count_placeholders("SELECT '?' AS q, \"a?\" FROM t WHERE a = ? AND b = 'it''s ?'") == 1


def test_the_keyset_marker_becomes_a_bound_parameter_in_position() -> None:
    query, params = bind_keyset(
        "SELECT id FROM t WHERE type = ? AND id > :last AND x = ? ORDER BY id", ["A", "B"], "7"
    )
    assert query == "SELECT id FROM t WHERE type = ? AND id > ? AND x = ? ORDER BY id"
    assert params == ["A", "7", "B"]
    with pytest.raises(ValueError, match=":last"):
        bind_keyset("SELECT id FROM t ORDER BY id", [], "0")
    assert (
        bind_keyset("SELECT ':last' FROM t WHERE id > :last", [], "3")[0]
        == "SELECT ':last' FROM t WHERE id > ?"
    )


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (1001, 0), (1000, 500)])
def test_pages_that_netsuite_would_reject_are_refused(limit: int, offset: int) -> None:
    with pytest.raises(ValueError):
        check_page(limit, offset)


def test_offset_paging_stops_before_the_100000_row_window() -> None:
    check_page(1000, 99_000)
    with pytest.raises(SuiteQLPagingError):
        check_page(1000, 100_000)


class FakeSuiteQL:
    """A tiny in-memory SuiteQL endpoint serving rows by offset (values as strings)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        assert request.headers["prefer"] == "transient"
        body = json.loads(request.content)
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        self.requests.append({"body": body, "limit": limit, "offset": offset})
        start = offset
        if "params" in body and "> ?" in body["q"]:
            start = int(body["params"][-1])
        rows: list[dict[str, Any]] = [
            {
                "links": [],
                "ID": str(i + 1),
                "Amount": f"{i}.50",
                "IsInactive": "T" if i % 2 else "F",
                "TranDate": "2024-01-02",
            }
            for i in range(start, min(start + limit, self.total))
        ]
        return httpx2.Response(
            200, json={"items": rows, "hasMore": start + limit < self.total, "count": len(rows)}
        )


async def test_rows_are_normalised_and_converted_by_a_type_map(tba: TbaAuth) -> None:
    fake = FakeSuiteQL(3)
    async with NetSuiteClient(transport=httpx2.MockTransport(fake)) as client:
        ns = client.session(ACCOUNT, tba)
        rows = [
            row
            async for row in ns.suiteql(
                "SELECT id FROM t WHERE a = ?",
                ["x"],
                types={"id": int, "amount": Decimal, "isinactive": bool, "trandate": dt.date},
            )
        ]
    assert rows[1] == {
        "id": 2,
        "amount": Decimal("1.50"),
        "isinactive": True,
        "trandate": dt.date(2024, 1, 2),
    }
    assert fake.requests[0]["body"] == {"q": "SELECT id FROM t WHERE a = ?", "params": ["x"]}


class Row(BaseModel):
    id: int
    amount: Decimal
    isinactive: bool
    trandate: dt.date


async def test_rows_can_be_parsed_into_a_row_model(tba: TbaAuth) -> None:
    async with NetSuiteClient(transport=httpx2.MockTransport(FakeSuiteQL(2))) as client:
        rows = [r async for r in client.session(ACCOUNT, tba).suiteql("SELECT id FROM t", row_model=Row)]
    assert rows == [
        Row(id=1, amount=Decimal("0.50"), isinactive=False, trandate=dt.date(2024, 1, 2)),
        Row(id=2, amount=Decimal("1.50"), isinactive=True, trandate=dt.date(2024, 1, 2)),
    ]


async def test_offset_paging_walks_pages_with_offsets_multiple_of_the_limit(tba: TbaAuth) -> None:
    fake = FakeSuiteQL(25)
    async with NetSuiteClient(transport=httpx2.MockTransport(fake)) as client:
        rows = [r async for r in client.session(ACCOUNT, tba).suiteql("SELECT id FROM t", page_size=10)]
    assert [r["id"] for r in rows] == [str(i) for i in range(1, 26)]
    assert [(r["limit"], r["offset"]) for r in fake.requests] == [(10, 0), (10, 10), (10, 20)]


async def test_offset_paging_errors_before_passing_100000_rows(tba: TbaAuth) -> None:
    fake = FakeSuiteQL(200_000)
    seen = 0

    async def scan() -> None:
        nonlocal seen
        async with NetSuiteClient(transport=httpx2.MockTransport(fake)) as client:
            async for _ in client.session(ACCOUNT, tba).suiteql("SELECT id FROM t"):
                seen += 1

    with pytest.raises(SuiteQLPagingError):
        await scan()
    assert seen == 100_000
    assert max(r["offset"] for r in fake.requests) == 99_000


async def test_a_query_with_the_wrong_number_of_params_is_refused_before_sending(tba: TbaAuth) -> None:
    fake = FakeSuiteQL(1)
    async with NetSuiteClient(transport=httpx2.MockTransport(fake)) as client:
        with pytest.raises(ValueError, match="placeholders"):
            _ = [r async for r in client.session(ACCOUNT, tba).suiteql("SELECT id FROM t WHERE a = ?")]
    assert fake.requests == []


async def test_a_keyset_scan_reissues_the_query_after_the_last_key(tba: TbaAuth) -> None:
    fake = FakeSuiteQL(25)
    async with NetSuiteClient(transport=httpx2.MockTransport(fake)) as client:
        rows = [
            r
            async for r in client.session(ACCOUNT, tba).suiteql_keyset(
                "SELECT id FROM t WHERE id > :last ORDER BY id", page_size=10, types={"id": int}
            )
        ]
    assert [r["id"] for r in rows] == list(range(1, 26))
    assert [(r["offset"], r["body"]["params"]) for r in fake.requests] == [
        (0, ["0"]),
        (0, ["10"]),
        (0, ["20"]),
    ]
