"""Transaction behaviours held to NetSuite's published shapes (issue 21): line-level createdfrom,
the user's time zone in SuiteQL, COGS lines, payment apply pre-fill, deposits with cash back,
customer deposits applied when their sales order is billed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from om_netsuite_sim import Account

from .test_transactions import RECORD, _order, _transform

pytestmark = pytest.mark.integration


async def _rows(ns: Any, query: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    response = await ns.suiteql(query, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_createdfrom_is_a_line_field_not_a_header_one(ns: Any, account: Account) -> None:
    ids = await _order(ns, account)
    invoice_id = await _transform(ns, "salesOrder", ids["so"], "invoice")

    header = await ns.suiteql("SELECT t.createdfrom FROM transaction t WHERE t.id = ?", params=[invoice_id])
    main = await _rows(
        ns,
        "SELECT tl.createdfrom AS so FROM transactionline tl WHERE tl.transaction = ? AND tl.mainline = 'T'",
        [invoice_id],
    )
    links = await _rows(
        ns,
        "SELECT previousdoc, nextdoc, linktype FROM previoustransactionlinelink WHERE nextdoc = ?",
        [invoice_id],
    )

    assert header.status_code == 400
    assert main == [{"links": [], "so": ids["so"]}]
    assert {(r["previousdoc"], r["nextdoc"], r["linktype"]) for r in links} == {
        (ids["so"], invoice_id, "OrdBill")
    }


@pytest.mark.parametrize(
    ("zone", "hours"), [("Australia/Sydney", (10, 11)), ("America/Los_Angeles", (-8, -7))]
)
async def test_suiteql_shows_and_reads_date_times_in_the_user_time_zone(
    ns: Any, account: Account, zone: str, hours: tuple[int, int]
) -> None:
    account.set_time_zone(zone)
    customer = account.add_customer("Cafe")
    rest = await ns.get("customer", customer)
    utc = datetime.fromisoformat(rest["lastModifiedDate"])  # REST: UTC, with Z
    local = utc.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")

    shown = await _rows(
        ns, "SELECT TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS at FROM customer WHERE id = ?",
        [customer],
    )  # fmt: skip
    found = await _rows(
        ns, "SELECT id FROM customer WHERE lastmodifieddate = TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS')",
        [local],
    )  # fmt: skip

    assert rest["lastModifiedDate"].endswith("Z")
    assert shown[0]["at"] == local
    offset = datetime.fromisoformat(local) - utc.replace(tzinfo=None)
    assert offset.total_seconds() / 3600 in hours
    assert [r["id"] for r in found] == [customer]


async def test_an_invoice_of_inventory_items_keeps_cogs_and_tax_lines(ns: Any, account: Account) -> None:
    customer = account.add_customer("Cafe")
    item = account.add_item("SKU-C", "Cups", cost="1.50", tax_code="7")
    so_id = await ns.create("salesOrder", {
        "entity": {"id": customer}, "item": {"items": [{"item": {"id": item}, "quantity": 2, "rate": 4}]}})  # fmt: skip
    invoice_id = await _transform(ns, "salesOrder", so_id, "invoice")

    lines = await _rows(
        ns,
        "SELECT mainline, taxline, iscogs, netamount FROM transactionline WHERE transaction = ? ORDER BY id",
        [invoice_id],
    )
    items = await _rows(
        ns,
        "SELECT id FROM transactionline WHERE transaction = ? AND mainline = 'F' AND taxline = 'F' "
        "AND iscogs = 'F'",
        [invoice_id],
    )

    assert [(r["mainline"], r["taxline"], r["iscogs"]) for r in lines] == [
        ("T", "F", "F"), ("F", "F", "F"), ("F", "T", "F"), ("F", "F", "T"), ("F", "F", "T"),
    ]  # fmt: skip
    assert [r["netamount"] for r in lines if r["iscogs"] == "T"] == ["3", "-3"]
    assert len(items) == 1


async def test_a_new_payment_lists_every_open_invoice_and_applies_only_those_sent(
    ns: Any, account: Account
) -> None:
    first = await _order(ns, account)
    invoice_a = await _transform(ns, "salesOrder", first["so"], "invoice")
    so_b = await ns.create("salesOrder", {"entity": {"id": first["customer"]},
        "item": {"items": [{"item": {"id": first["item"]}, "quantity": 1, "rate": 10}]}})  # fmt: skip
    invoice_b = await _transform(ns, "salesOrder", so_b, "invoice")

    payment_id = await ns.create("customerPayment", {
        "customer": {"id": first["customer"]}, "payment": 10, "autoApply": False,
        "apply": {"items": [{"doc": {"id": invoice_b}, "apply": True, "amount": 10}]}})  # fmt: skip
    payment = await ns.get("customerPayment", payment_id, "?expandSubResources=true")
    auto_id = await ns.create("customerPayment", {
        "customer": {"id": first["customer"]}, "payment": 5, "autoApply": True})  # fmt: skip
    auto = await ns.get("customerPayment", auto_id, "?expandSubResources=true")

    assert {(x["doc"]["id"], x["apply"]) for x in payment["apply"]["items"]} == {
        (invoice_a, False), (invoice_b, True),
    }  # fmt: skip
    assert (payment["applied"], payment["unapplied"]) == (10, 0)
    assert [(x["doc"]["id"], x["amount"]) for x in auto["apply"]["items"] if x["apply"]] == [(invoice_a, 5)]


async def test_a_deposit_of_payments_by_id_with_cash_back_equals_the_bank_amount(
    ns: Any, account: Account
) -> None:
    ids = await _order(ns, account)
    invoice_id = await _transform(ns, "salesOrder", ids["so"], "invoice")
    payment_id = await _transform(ns, "invoice", invoice_id, "customerPayment")

    deposit_id = await ns.create("deposit", {
        "account": {"id": "112"},
        "payment": {"items": [{"id": int(payment_id), "deposit": True, "paymentAmount": 15}]},
        "cashback": {"items": [{"account": {"id": "1"}, "amount": 0.45, "memo": "fees"}]},
    })  # fmt: skip
    deposit = await ns.get("deposit", deposit_id, "?expandSubResources=true")
    by_doc = await ns.request("POST", f"{RECORD}/deposit", json={
        "account": {"id": "112"}, "payment": {"items": [{"doc": {"id": payment_id}, "deposit": True}]}})  # fmt: skip

    assert deposit["total"] == 14.55
    assert [(x["id"], x["paymentAmount"]) for x in deposit["payment"]["items"]] == [(int(payment_id), 15)]
    assert by_doc.status_code == 400


async def test_a_customer_deposit_on_an_order_is_applied_to_its_invoice_when_billed(
    ns: Any, account: Account
) -> None:
    ids = await _order(ns, account)  # total 15
    dep_id = await ns.create("customerDeposit", {
        "customer": {"id": ids["customer"]}, "salesOrder": {"id": ids["so"]}, "payment": 15,
        "tranDate": "2025-11-25"})  # fmt: skip

    invoice_id = await _transform(ns, "salesOrder", ids["so"], "invoice")

    invoice = await ns.get("invoice", invoice_id)
    deposit = await ns.get("customerDeposit", dep_id)
    applications = await _rows(
        ns,
        "SELECT t.id, t.type, t.entity FROM transaction t WHERE t.type = 'DepAppl'",
    )
    assert (invoice["amountRemaining"], invoice["status"]["id"]) == (0, "B")
    assert deposit["status"]["id"] == "C"
    assert [(r["type"], r["entity"]) for r in applications] == [("DepAppl", ids["customer"])]
    application = await ns.get("depositApplication", applications[0]["id"], "?expandSubResources=true")
    assert application["deposit"]["id"] == dep_id
    assert [(x["doc"]["id"], x["amount"]) for x in application["apply"]["items"]] == [(invoice_id, 15)]
