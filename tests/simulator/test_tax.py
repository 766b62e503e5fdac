"""Legacy tax as an Australian account books it, voided and deleted invoices, deposits with fees."""

from __future__ import annotations

from typing import Any

import pytest

from om_netsuite_sim import Account

pytestmark = pytest.mark.integration
RECORD = "/services/rest/record/v1"
GST, GST_FREE = "7", "8"


def _catalogue(account: Account) -> dict[str, str]:
    return {
        "customer": account.add_customer("Cafe Luna"),
        "coffee": account.add_item("COF-1KG", "House Blend", tax_code=GST),
        "milk": account.add_item("MILK-2L", "Milk", tax_code=GST_FREE),
        "bare": account.add_item("BARE", "No default tax code"),
    }


def _billed_untaxed_order(account: Account, ids: dict[str, str]) -> str:
    """A one-line order of an item without a tax code, billed; returns the invoice id."""
    line = {"item": {"id": ids["bare"]}, "quantity": 1, "rate": 5}
    so = account.create("salesOrder", {"entity": {"id": ids["customer"]}, "item": {"items": [line]}})
    return account.bill_sales_order(so)


async def _rows(ns: Any, query: str, params: list[Any]) -> list[dict[str, Any]]:
    response = await ns.suiteql(query, params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["items"]
    return rows


async def test_each_line_takes_its_items_default_tax_code_and_rounds_per_line(
    ns: Any, account: Account
) -> None:
    ids = _catalogue(account)
    lines = [
        {"item": {"id": ids["coffee"]}, "quantity": 1, "rate": 0.05},  # 0.005 -> 0.01
        {"item": {"id": ids["coffee"]}, "quantity": 1, "rate": 0.05},
        {"item": {"id": ids["milk"]}, "quantity": 2, "rate": 4.20},
        {"item": {"id": ids["bare"]}, "quantity": 1, "rate": 3.00},
    ]
    so = await ns.create("salesOrder", {"entity": {"id": ids["customer"]}, "item": {"items": lines}})

    record = await ns.get("salesOrder", so, "?expandSubResources=true")

    assert [line.get("taxCode", {}).get("id") for line in record["item"]["items"]] == [
        GST,
        GST,
        GST_FREE,
        None,
    ]
    assert record["item"]["items"][0]["taxCode"]["refName"] == "GST"
    assert [line.get("tax1Amt") for line in record["item"]["items"]] == [0.01, 0.01, 0, None]
    assert (record["subtotal"], record["taxTotal"], record["total"]) == (11.5, 0.02, 11.52)


async def test_a_line_tax_code_wins_over_the_item_default_and_the_customer_default_fills_gaps(
    ns: Any, account: Account
) -> None:
    ids = _catalogue(account)
    account.update("customer", ids["customer"], {"taxItem": {"id": GST}})
    lines = [
        {"item": {"id": ids["coffee"]}, "quantity": 1, "rate": 10.00, "taxCode": {"id": GST_FREE}},
        {"item": {"id": ids["bare"]}, "quantity": 1, "rate": 10.00},
    ]
    so = await ns.create("salesOrder", {"entity": {"id": ids["customer"]}, "item": {"items": lines}})

    record = await ns.get("salesOrder", so, "?expandSubResources=true")

    assert [line["taxCode"]["id"] for line in record["item"]["items"]] == [GST_FREE, GST]
    assert (record["taxTotal"], record["total"]) == (1, 21)


async def test_an_unknown_tax_code_is_refused_with_its_path(ns: Any, account: Account) -> None:
    ids = _catalogue(account)
    line = {"item": {"id": ids["coffee"]}, "quantity": 1, "rate": 1.00, "taxCode": {"id": "999"}}

    response = await ns.request(
        "POST", f"{RECORD}/salesOrder", json={"entity": {"id": ids["customer"]}, "item": {"items": [line]}}
    )

    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorPath"] == "item.items[0].taxCode"


async def test_suiteql_reads_total_tax_total_and_line_count_in_one_query(ns: Any, account: Account) -> None:
    ids = _catalogue(account)
    lines = [
        {"item": {"id": ids["coffee"]}, "quantity": 3, "rate": 42.50},
        {"item": {"id": ids["milk"]}, "quantity": 1, "rate": 5.00},
    ]
    so = await ns.create("salesOrder", {"entity": {"id": ids["customer"]}, "item": {"items": lines}})

    rows = await _rows(
        ns,
        "SELECT t.id, t.tranid, t.foreigntotal, "
        "SUM(CASE WHEN tl.taxline = 'T' THEN -tl.netamount ELSE 0 END) AS tax, "
        "SUM(CASE WHEN tl.taxline = 'F' THEN 1 ELSE 0 END) AS linecount "
        "FROM transaction t LEFT JOIN transactionline tl ON tl.transaction = t.id "
        "AND tl.mainline = 'F' WHERE t.id IN (?) "
        "GROUP BY t.id, t.tranid, t.foreigntotal",
        [so],
    )

    assert [(r["foreigntotal"], r["tax"], r["linecount"]) for r in rows] == [("145.25", "12.75", "2")]
    tax_lines = await _rows(
        ns, "SELECT item, netamount FROM transactionline WHERE transaction = ? AND taxline = 'T'", [so]
    )
    assert tax_lines == [{"links": [], "item": GST, "netamount": "-12.75"}]


async def test_an_invoice_billed_from_an_order_keeps_the_orders_tax_codes(ns: Any, account: Account) -> None:
    ids = _catalogue(account)
    line = {"item": {"id": ids["coffee"]}, "quantity": 2, "rate": 10.00, "taxCode": {"id": GST_FREE}}
    so = await ns.create("salesOrder", {"entity": {"id": ids["customer"]}, "item": {"items": [line]}})

    invoice = account.record("invoice", account.bill_sales_order(so))

    assert invoice["item"][0]["taxCode"] == {"id": GST_FREE}
    assert (invoice["taxTotal"], invoice["total"]) == (0, 20)


async def test_a_voided_invoice_has_zero_amounts_and_frees_its_order_for_billing(
    ns: Any, account: Account
) -> None:
    ids = _catalogue(account)
    line = {"item": {"id": ids["coffee"]}, "quantity": 2, "rate": 10.00}
    so = await ns.create("salesOrder", {"entity": {"id": ids["customer"]}, "item": {"items": [line]}})
    invoice_id = account.bill_sales_order(so)
    before = account.record("invoice", invoice_id)["_modified"]

    account.void_invoice(invoice_id)

    rows = await _rows(ns, "SELECT voided, foreigntotal FROM transaction WHERE id = ?", [invoice_id])
    assert rows == [{"links": [], "voided": "T", "foreigntotal": "0"}]
    assert account.record("invoice", invoice_id)["_modified"] >= before
    assert account.record("salesOrder", so)["status"] == "B"


async def test_an_invoice_with_a_payment_cannot_be_voided(account: Account) -> None:
    ids = _catalogue(account)
    invoice_id = _billed_untaxed_order(account, ids)
    account.record_customer_payment(ids["customer"], "5", {invoice_id: "5"})

    with pytest.raises(Exception, match="cannot be voided"):
        account.void_invoice(invoice_id)


async def test_a_deleted_invoice_is_listed_in_deletedrecord(ns: Any, account: Account) -> None:
    ids = _catalogue(account)
    invoice_id = _billed_untaxed_order(account, ids)

    deleted = await ns.request("DELETE", f"{RECORD}/invoice/{invoice_id}")

    assert deleted.status_code == 204
    rows = await _rows(
        ns,
        "SELECT recordid, type, TO_CHAR(deleteddate, 'YYYY-MM-DD HH24:MI:SS') AS at FROM deletedrecord "
        "WHERE type = ? AND recordid = ?",
        ["invoice", invoice_id],
    )
    assert [(r["recordid"], r["type"]) for r in rows] == [(invoice_id, "invoice")]
    assert await _rows(ns, "SELECT id FROM transaction WHERE id = ?", [invoice_id]) == []


async def test_a_deposit_with_fees_as_cash_back_totals_the_net_amount(ns: Any, account: Account) -> None:
    ids = _catalogue(account)
    payment = account.record_customer_payment(ids["customer"], "100.00")
    body = {
        "account": {"id": "112"},
        "payment": {"items": [{"id": int(payment), "deposit": True}]},
        "cashback": {"items": [{"account": {"id": "1"}, "amount": 1.20, "memo": "Ordermentum fees"}]},
    }

    deposit_id = await ns.create("deposit", body)

    assert (await ns.get("deposit", deposit_id))["total"] == 98.8
    missing = await ns.request(
        "POST", f"{RECORD}/deposit", json={**body, "cashback": {"items": [{"amount": 1.20}]}}
    )
    assert missing.status_code == 400
