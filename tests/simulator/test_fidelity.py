"""The simulator refuses what NetSuite's published references refuse (issue 21).

Record bodies against the generated 2026.1 REST API Browser schemas (``om_netsuite_sim/schemas``)
and SuiteQL against the column catalogue, over real HTTP; every refusal is kept on
``account.schema_violations``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from om_netsuite_sim import Account
from om_netsuite_sim._catalog import query_columns

RECORD = "/services/rest/record/v1"
STRICT = {"X-NetSuite-PropertyNameValidation": "Error"}


def _order(account: Account, **line: Any) -> dict[str, Any]:
    customer = account.add_customer("Café Luna")
    item = account.add_item("SKU-1", base_price="5.00")
    return {"entity": {"id": customer}, "item": {"items": [{"item": {"id": item}, "quantity": 2, **line}]}}


def _error(response: Any) -> tuple[str, str]:
    detail = response.json()["o:errorDetails"][0]
    return detail["o:errorCode"], detail.get("o:errorPath", "")


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        ({"bogus": 1}, "NONEXISTENT_FIELD", "bogus"),
        ({"item": {"items": [{"bogus": 1}]}}, "NONEXISTENT_FIELD", "item.items[0].bogus"),
        ({"entity": {"id": "1", "name": "x"}}, "NONEXISTENT_FIELD", "entity.name"),
        ({"links": []}, "INVALID_CONTENT", "links"),
        ({"tranDate": "27/11/2026"}, "INVALID_CONTENT", "tranDate"),
        ({"item": {"items": [{"quantity": "2"}]}}, "INVALID_CONTENT", "item.items[0].quantity"),
        ({"item": {"items": [{"line": "1"}]}}, "INVALID_CONTENT", "item.items[0].line"),
        ({"item": {"items": [{"isClosed": "T"}]}}, "INVALID_CONTENT", "item.items[0].isClosed"),
        ({"entity": {"id": 5}}, "INVALID_CONTENT", "entity.id"),
        ({"status": "A"}, "INVALID_CONTENT", "status"),
    ],
)
async def test_a_sales_order_body_outside_the_published_schema_is_refused_with_its_path(
    ns: Any, account: Account, change: dict[str, Any], code: str, path: str
) -> None:
    body = {**_order(account), **change}

    response = await ns.request("POST", f"{RECORD}/salesOrder", json=body, headers=STRICT)

    assert response.status_code == 400
    assert _error(response) == (code, path)
    assert [(v.kind, v.code, v.error_path) for v in account.schema_violations][:1] == [("record", code, path)]
    assert account.records("salesOrder") == []


async def test_unknown_properties_pass_without_the_error_header_but_wrong_types_do_not(
    ns: Any, account: Account
) -> None:
    body = _order(account)

    lenient = await ns.request("POST", f"{RECORD}/salesOrder", json={**body, "bogus": 1})
    mistyped = await ns.request("POST", f"{RECORD}/salesOrder", json={**body, "memo": 5})
    ignored = await ns.request(
        "POST", f"{RECORD}/salesOrder", json={**body, "memo": 5},
        headers={"X-NetSuite-PropertyValueValidation": "Ignore"},
    )  # fmt: skip

    assert (lenient.status_code, mistyped.status_code, ignored.status_code) == (204, 400, 204)


@pytest.mark.parametrize(
    ("record", "body", "path"),
    [
        ("customerPayment", {"undepFunds": True}, "undepFunds"),
        ("deposit", {"payment": {"items": [{"doc": {"id": "1"}, "deposit": True}]}}, "payment.items[0].doc"),
        ("deposit", {"payment": {"items": [{"id": "1003", "deposit": True}]}}, "payment.items[0].id"),
    ],
)
async def test_the_finance_shapes_issue_21_names_are_refused(
    ns: Any, account: Account, record: str, body: dict[str, Any], path: str
) -> None:
    response = await ns.request("POST", f"{RECORD}/{record}", json=body, headers=STRICT)

    assert response.status_code == 400
    assert _error(response)[1] == path


async def test_a_customer_address_line_is_checked_at_every_level(ns: Any, account: Account) -> None:
    address = {"addressBookAddress": {"city": "Sydney", "country": {"id": "AU"}, "suburb": "Surry Hills"}}
    body = {"companyName": "Cafe", "addressBook": {"items": [address]}}

    response = await ns.request("POST", f"{RECORD}/customer", json=body, headers=STRICT)

    assert response.status_code == 400
    assert _error(response) == ("NONEXISTENT_FIELD", "addressBook.items[0].addressBookAddress.suburb")


async def test_a_transform_body_is_checked_against_the_target_schema(ns: Any, account: Account) -> None:
    so = await ns.create("salesOrder", _order(account, rate=5))

    refused = await ns.request(
        "POST", f"{RECORD}/salesOrder/{so}/!transform/invoice", json={"bogus": 1}, headers=STRICT
    )

    assert refused.status_code == 400
    assert _error(refused) == ("NONEXISTENT_FIELD", "bogus")
    assert account.records("invoice") == []


def test_every_schema_file_names_its_public_source() -> None:
    folder = resources.files("om_netsuite_sim").joinpath("schemas")
    records = [f for f in folder.iterdir() if f.name.endswith(".json") and f.name != "suiteql_catalog.json"]
    assert {f.name[:-5] for f in records} == {
        "salesOrder", "invoice", "creditMemo", "customerPayment", "customerDeposit", "deposit",
        "depositApplication", "customer", "inventoryItem", "serviceSaleItem", "otherChargeSaleItem",
        "nonInventorySaleItem", "discountItem", "currency",
    }  # fmt: skip
    for entry in records:
        source = json.loads(entry.read_text("utf-8"))["source"]
        assert source["repository"] == "wsjmnh/netsuite-record-rest-docs"
        assert len(source["commit"]) == 40


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT t.createdfrom FROM transaction t", "Field 'createdfrom' for record 'transaction'"),
        ("SELECT t.taxtotal FROM transaction t", "Field 'taxtotal' for record 'transaction'"),
        ("SELECT bogus FROM item", "Field 'bogus' for record 'item'"),
        ("SELECT id FROM nosuchtable", "Record 'nosuchtable' was not found"),
    ],
)
async def test_a_query_naming_a_column_outside_the_catalogue_is_refused(
    ns: Any, account: Account, query: str, message: str
) -> None:
    response = await ns.suiteql(query)

    assert response.status_code == 400
    assert message in response.json()["o:errorDetails"][0]["detail"]
    assert [v.kind for v in account.schema_violations] == ["suiteql"]


async def test_catalogue_columns_answer_including_line_links(ns: Any, account: Account) -> None:
    response = await ns.suiteql(
        "SELECT tl.transaction, tl.createdfrom, tl.mainline, tl.taxline, t.foreigntotal, c.symbol "
        "FROM transaction t JOIN transactionline tl ON tl.transaction = t.id "
        "LEFT JOIN currency c ON c.id = t.currency WHERE tl.mainline = 'T'"
    )

    assert response.status_code == 200, response.text
    assert account.schema_violations == []


async def test_in_lists_of_more_than_1000_items_are_refused(ns: Any, account: Account) -> None:
    ids = ", ".join(str(i) for i in range(1, 1002))

    refused = await ns.suiteql(f"SELECT id FROM item WHERE id IN ({ids})")
    allowed = await ns.suiteql(f"SELECT id FROM item WHERE id IN ({ids.rsplit(', ', 1)[0]})")

    assert refused.status_code == 400
    assert "ORA-01795" in refused.json()["o:errorDetails"][0]["detail"]
    assert allowed.status_code == 200


def test_query_columns_resolves_aliases_and_skips_output_names_and_functions() -> None:
    tables, qualified, bare = query_columns(
        "SELECT t.id, TO_CHAR(t.lastmodifieddate, 'YYYY') AS lmd, BUILTIN.DF(t.status) AS s "
        "FROM transaction t LEFT JOIN transactionline tl ON tl.transaction = t.id "
        "WHERE type = 'CustInvc' ORDER BY lmd"
    )

    assert tables == {"transaction", "transactionline"}
    assert qualified == {("transaction", "id"), ("transaction", "lastmodifieddate"),
                         ("transaction", "status"), ("transactionline", "transaction")}  # fmt: skip
    assert bare == {"type"}
