"""SuiteQL: response shape, dialect, paging rules and a keyset scan over 25,000 rows."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from om_netsuite_sim import Account

pytestmark = pytest.mark.integration
SUITEQL = "/services/rest/query/v1/suiteql"


async def test_rows_come_back_as_strings_with_lower_case_columns_and_no_nulls(
    ns: Any, account: Account
) -> None:
    cid = account.add_customer("Cafe", email=None)
    response = await ns.suiteql("SELECT id AS ID, companyName AS CompanyName, email FROM customer")
    assert response.status_code == 200
    body = response.json()
    assert body["items"] == [{"links": [], "id": cid, "companyname": "Cafe"}]
    assert {k: body[k] for k in ("count", "hasMore", "offset", "totalResults")} == {
        "count": 1, "hasMore": False, "offset": 0, "totalResults": 1,
    }  # fmt: skip
    assert body["links"][0]["rel"] == "self"


async def test_dates_need_to_date_and_come_back_through_to_char(ns: Any, account: Account) -> None:
    account.add_customer("Cafe")
    # TO_CHAR shows the date in the user's time zone (the account's, not UTC).
    today = datetime.now(UTC).astimezone(ZoneInfo(account.time_zone)).strftime("%Y-%m-%d")
    response = await ns.suiteql(
        "SELECT TO_CHAR(lastmodifieddate, 'YYYY-MM-DD') AS d FROM customer "
        "WHERE lastmodifieddate >= TO_DATE('2020-01-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS')"
    )
    assert [row["d"] for row in response.json()["items"]] == [today]
    none = await ns.suiteql(
        "SELECT id FROM customer WHERE lastmodifieddate > TO_DATE('2999-01-01', 'YYYY-MM-DD')"
    )
    assert none.json()["totalResults"] == 0


async def test_stock_per_location_is_queryable_with_item_names(ns: Any, account: Account) -> None:
    item = account.add_item("SKU-9", "Beans")
    first, second = account.add_location("Sydney"), account.add_location("Perth")
    account.set_stock(item, first, on_hand=10, available=7)
    account.set_stock(item, second, on_hand="2.5", available="2.5")
    response = await ns.suiteql(
        "SELECT iil.item, BUILTIN.DF(iil.item) AS sku, iil.location, iil.quantityonhand, "
        "iil.quantityavailable FROM inventoryitemlocations iil JOIN item i ON i.id = iil.item "
        "WHERE i.itemtype = 'InvtPart' AND i.isinactive = 'F' AND iil.item > ? "
        "ORDER BY iil.item, iil.location", params=[0],
    )  # fmt: skip
    rows = [{k: v for k, v in r.items() if k != "links"} for r in response.json()["items"]]
    assert rows == [
        {"item": item, "sku": "SKU-9", "location": first, "quantityonhand": "10", "quantityavailable": "7"},
        {
            "item": item,
            "sku": "SKU-9",
            "location": second,
            "quantityonhand": "2.5",
            "quantityavailable": "2.5",
        },
    ]


async def test_fetch_first_and_rownum_limit_rows(ns: Any, account: Account) -> None:
    for n in range(5):
        account.add_customer(f"C{n}")
    fetch = await ns.suiteql("SELECT id FROM customer ORDER BY id FETCH FIRST 2 ROWS ONLY")
    assert fetch.json()["totalResults"] == 2
    rownum = await ns.suiteql("SELECT id FROM customer WHERE ROWNUM <= 3")
    assert rownum.json()["totalResults"] == 3


@pytest.mark.parametrize(
    ("limit", "offset"),
    [(1001, 0), (0, 0), (10, 5), (1000, 99_500), (1000, 100_000)],
)
async def test_paging_outside_netsuites_rules_is_refused(ns: Any, limit: int, offset: int) -> None:
    response = await ns.suiteql("SELECT id FROM customer", limit=limit, offset=offset)
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


async def test_the_last_reachable_page_is_allowed(ns: Any) -> None:
    response = await ns.suiteql("SELECT id FROM customer", limit=1000, offset=99_000)
    assert response.status_code == 200


async def test_a_query_without_prefer_transient_is_refused(ns: Any) -> None:
    response = await ns.request("POST", f"{SUITEQL}?limit=10&offset=0", json={"q": "SELECT id FROM customer"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "q", ["SELECT nosuchcolumn FROM customer", "DELETE FROM customer", "SELECT [id] FROM customer"]
)
async def test_an_invalid_query_is_a_400_invalid_search(ns: Any, q: str) -> None:
    response = await ns.suiteql(q)
    assert response.status_code == 400
    assert "Invalid search query" in response.json()["o:errorDetails"][0]["detail"]


async def test_a_keyset_scan_reads_25000_rows_each_exactly_once(ns: Any, account: Account) -> None:
    expected = {account.add_customer(f"Bulk {n}") for n in range(25_000)}
    seen: list[str] = []
    last = "0"
    started = time.perf_counter()
    while True:
        response = await ns.suiteql(
            "SELECT id, companyname FROM customer WHERE id > ? ORDER BY id", params=[last]
        )
        assert response.status_code == 200, response.text
        rows = response.json()["items"]
        seen.extend(row["id"] for row in rows)
        if len(rows) < 1000:
            break
        last = rows[-1]["id"]
    elapsed = time.perf_counter() - started
    assert len(seen) == len(set(seen)) == 25_000
    assert set(seen) == expected
    assert elapsed < 10, f"keyset scan took {elapsed:.1f}s"
