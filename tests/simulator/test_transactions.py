"""Transaction behaviour: transforms, sales order status, invoices paid and credited, deposits."""

from __future__ import annotations

from typing import Any

import pytest

from om_netsuite_sim import Account, Simulator

pytestmark = pytest.mark.integration
RECORD = "/services/rest/record/v1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_764_000_000.0

    def __call__(self) -> float:
        return self.now


async def _order(ns: Any, account: Account, quantities: tuple[int, ...] = (2, 4)) -> dict[str, str]:
    customer = account.add_customer("Cafe Luna")
    item = account.add_item("SKU-1", "Beans")
    lines = [{"item": {"id": item}, "quantity": q, "rate": 2.5} for q in quantities]
    so_id = await ns.create("salesOrder", {"entity": {"id": customer}, "item": {"items": lines}})
    return {"customer": customer, "item": item, "so": so_id}


async def _transform(ns: Any, source: str, rid: str, target: str, body: Any = None) -> str:
    response = await ns.request("POST", f"{RECORD}/{source}/{rid}/!transform/{target}", json=body)
    assert response.status_code == 204, response.text
    return str(response.headers["location"].rsplit("/", 1)[1])


async def test_a_sales_order_becomes_an_invoice_linked_by_created_from(ns: Any, account: Account) -> None:
    ids = await _order(ns, account)
    assert (await ns.get("salesOrder", ids["so"]))["status"] == {"id": "B", "refName": "Pending Fulfillment"}
    invoice_id = await _transform(ns, "salesOrder", ids["so"], "invoice")
    invoice = await ns.get("invoice", invoice_id, "?expandSubResources=true")
    assert invoice["createdFrom"]["id"] == ids["so"]
    assert invoice["entity"]["id"] == ids["customer"]
    assert [line["quantity"] for line in invoice["item"]["items"]] == [2, 4]
    assert (invoice["total"], invoice["amountRemaining"], invoice["status"]["id"]) == (15, 15, "A")
    assert (await ns.get("salesOrder", ids["so"]))["status"]["id"] == "G"
    rows = await ns.suiteql(
        "SELECT DISTINCT t.id FROM transaction t JOIN transactionline tl ON tl.transaction = t.id "
        "WHERE t.type = 'CustInvc' AND tl.createdfrom = ?", params=[ids["so"]],
    )  # fmt: skip
    assert [r["id"] for r in rows.json()["items"]] == [invoice_id]


async def test_a_partial_invoice_bills_chosen_lines_and_leaves_the_order_partly_billed(
    ns: Any, account: Account
) -> None:
    ids = await _order(ns, account)
    body = {"item": {"items": [{"orderLine": 1, "quantity": 1}, {"orderLine": 2, "quantity": 0}]}}
    invoice_id = await _transform(ns, "salesOrder", ids["so"], "invoice", body)
    assert (await ns.get("invoice", invoice_id))["total"] == 2.5
    assert (await ns.get("salesOrder", ids["so"]))["status"]["id"] == "E"
    await _transform(ns, "salesOrder", ids["so"], "invoice")
    assert (await ns.get("salesOrder", ids["so"]))["status"]["id"] == "G"
    again = await ns.request("POST", f"{RECORD}/salesOrder/{ids['so']}/!transform/invoice")
    assert again.status_code == 400
    assert again.json()["o:errorDetails"][0]["o:errorCode"] == "USER_ERROR"


async def test_closing_every_line_closes_the_order_but_a_billed_order_cannot_be_closed(
    ns: Any, account: Account
) -> None:
    open_order = await _order(ns, account)
    lines = (await ns.get("salesOrder", open_order["so"], "?expandSubResources=true"))["item"]["items"]
    closing = {"item": {"items": [{"item": {"id": open_order["item"]}, "quantity": line["quantity"],
                                   "rate": 2.5, "isClosed": True} for line in lines]}}  # fmt: skip
    closed = await ns.request("PATCH", f"{RECORD}/salesOrder/{open_order['so']}?replace=item", json=closing)
    assert closed.status_code == 204
    assert (await ns.get("salesOrder", open_order["so"]))["status"] == {"id": "H", "refName": "Closed"}
    rows = await ns.suiteql(
        "SELECT BUILTIN.CF(status) AS s, BUILTIN.DF(status) AS label FROM transaction WHERE id = ?",
        params=[open_order["so"]],
    )
    assert rows.json()["items"][0] | {"links": []} == {"links": [], "s": "SalesOrd:H", "label": "Closed"}

    billed = await _order(ns, account)
    await _transform(ns, "salesOrder", billed["so"], "invoice")
    refused = await ns.request("PATCH", f"{RECORD}/salesOrder/{billed['so']}?replace=item", json=closing)
    assert refused.status_code == 400
    assert refused.json()["o:errorDetails"][0]["o:errorCode"] == "USER_ERROR"
    assert (await ns.get("salesOrder", billed["so"]))["status"]["id"] == "G"


async def test_payments_and_credits_reduce_the_amount_due_until_paid_in_full(
    ns: Any, account: Account
) -> None:
    ids = await _order(ns, account)
    invoice_id = await _transform(ns, "salesOrder", ids["so"], "invoice")
    payment_id = await ns.create("customerPayment", {
        "customer": {"id": ids["customer"]}, "payment": 10,
        "apply": {"items": [{"doc": {"id": invoice_id}, "apply": True, "amount": 6}]},
    })  # fmt: skip
    payment = await ns.get("customerPayment", payment_id)
    assert (payment["applied"], payment["unapplied"], payment["status"]["id"]) == (6, 4, "B")
    invoice = await ns.get("invoice", invoice_id)
    assert (invoice["amountPaid"], invoice["amountRemaining"], invoice["status"]["id"]) == (6, 9, "A")
    credit_id = await _transform(ns, "invoice", invoice_id, "creditMemo")
    credit = await ns.get("creditMemo", credit_id)
    assert credit["createdFrom"]["id"] == invoice_id
    assert (credit["total"], credit["applied"], credit["unapplied"]) == (15, 9, 6)
    invoice = await ns.get("invoice", invoice_id)
    assert (invoice["amountRemaining"], invoice["status"]) == (0, {"id": "B", "refName": "Paid In Full"})
    rows = await ns.suiteql(
        "SELECT id, foreignamountunpaid FROM transaction WHERE BUILTIN.CF(status) = 'CustInvc:B'"
    )
    assert [(r["id"], r["foreignamountunpaid"]) for r in rows.json()["items"]] == [(invoice_id, "0")]


async def test_an_over_application_is_refused(ns: Any, account: Account) -> None:
    ids = await _order(ns, account)
    invoice_id = await _transform(ns, "salesOrder", ids["so"], "invoice")
    response = await ns.request("POST", f"{RECORD}/customerPayment", json={
        "customer": {"id": ids["customer"]}, "payment": 100,
        "apply": {"items": [{"doc": {"id": invoice_id}, "apply": True, "amount": 16}]},
    })  # fmt: skip
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorPath"] == "apply.items[0].amount"


async def test_applying_a_payment_leaves_the_invoices_last_modified_date_alone() -> None:
    import httpx2

    from om_netsuite_sim import SimulatorServer

    from .conftest import REALM, NetSuiteSession

    clock = Clock()
    sim = Simulator(clock=clock)
    creds = sim.add_account(REALM)
    account = sim.account(REALM)
    async with SimulatorServer(sim) as server, httpx2.AsyncClient() as http:
        ns = NetSuiteSession(http, server.base_url, REALM, creds)
        ns_stamp = {"timestamp": int(clock.now)}
        customer = account.add_customer("A")
        item = account.add_item("SKU")
        so = account.create("salesOrder", {"entity": {"id": customer}, "item": {"items": [
            {"item": {"id": item}, "quantity": 1, "rate": 10}]}})  # fmt: skip
        invoice_id = account.bill_sales_order(so)
        before = (await ns.request("GET", f"{RECORD}/invoice/{invoice_id}", **ns_stamp)).json()
        clock.now += 3600
        account.record_customer_payment(customer, "10", {invoice_id: "10"})
        after = (await ns.request("GET", f"{RECORD}/invoice/{invoice_id}", timestamp=int(clock.now))).json()
        assert after["amountRemaining"] == 0
        assert after["status"]["id"] == "B"
        assert after["lastModifiedDate"] == before["lastModifiedDate"]


async def test_a_deposit_holds_payments_and_marks_them_deposited(ns: Any, account: Account) -> None:
    ids = await _order(ns, account)
    invoice_id = await _transform(ns, "salesOrder", ids["so"], "invoice")
    payment_id = await _transform(ns, "invoice", invoice_id, "customerPayment")
    assert (await ns.get("customerPayment", payment_id))["payment"] == 15
    deposit_id = await ns.create("deposit", {
        "account": {"id": "112"}, "department": {"id": "2"},
        "payment": {"items": [{"id": int(payment_id), "deposit": True}]},
    })  # fmt: skip
    assert (await ns.get("deposit", deposit_id))["total"] == 15
    assert (await ns.get("customerPayment", payment_id))["status"]["refName"] == "Deposited"
    twice = await ns.request("POST", f"{RECORD}/deposit", json={
        "account": {"id": "112"}, "payment": {"items": [{"id": int(payment_id), "deposit": True}]}})  # fmt: skip
    assert twice.status_code == 400
    unknown_bank = await ns.request("POST", f"{RECORD}/deposit", json={"account": {"id": "999"}})
    assert unknown_bank.json()["o:errorDetails"][0]["o:errorPath"] == "account"


async def test_a_customer_deposit_is_recorded_against_a_sales_order(ns: Any, account: Account) -> None:
    ids = await _order(ns, account)
    dep_id = await ns.create("customerDeposit", {
        "customer": {"id": ids["customer"]}, "salesOrder": {"id": ids["so"]}, "payment": 5})  # fmt: skip
    deposit = await ns.get("customerDeposit", dep_id)
    assert (deposit["status"]["id"], deposit["salesOrder"]["id"]) == ("A", ids["so"])


async def test_a_line_named_by_its_number_is_updated_in_place_keeping_its_billed_quantity(
    ns: Any, account: Account
) -> None:
    ids = await _order(ns, account, (2, 4))
    await _transform(ns, "salesOrder", ids["so"], "invoice", {"item": {"items": [
        {"orderLine": 1, "quantity": 2}, {"orderLine": 2, "quantity": 0}]}})  # fmt: skip
    close_second = {"item": {"items": [{"line": 2, "isClosed": True}]}}
    response = await ns.request("PATCH", f"{RECORD}/salesOrder/{ids['so']}", json=close_second)
    assert response.status_code == 204, response.text
    order = await ns.get("salesOrder", ids["so"], "?expandSubResources=true")
    lines = order["item"]["items"]
    assert [(x["line"], x.get("isClosed", False)) for x in lines] == [
        (1, False),
        (2, True),
    ]
    assert lines[0]["quantityBilled"] == 2
    assert order["status"]["id"] == "G"  # the only open line is fully billed
