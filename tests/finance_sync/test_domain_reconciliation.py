"""The reconciliation cascade, for both sync types, with exact amounts (pure functions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from finance_sync.domain.reconciliation import (
    AllocationMatch,
    FeeBooking,
    FoundOrder,
    OpenInvoice,
    PaymentPlan,
    adopt_recorded,
    customer_deposit_body,
    customer_payment_body,
    deposit_body,
    fee_booking,
    plan_payment,
    reconciliation_data,
)
from om_contracts import Allocation, Payment, SyncType, TransactionClassification


def payment(*allocations: dict[str, Any], amount: str = "159.10") -> Payment:
    return Payment.model_validate(
        {
            "id": "pay_31c0",
            "customer": {"id": "cus_19ab", "name": "Cafe Luna", "properties": {}},
            "amount": amount,
            "currency": "AUD",
            "paid_at": "2026-11-27T10:02:11+11:00",
            "reference": "OMP-88231",
            "allocations": list(allocations),
        }
    )


def alloc(amount: str, **ids: str) -> dict[str, Any]:
    return {"amount": amount, **ids}


def match(
    allocation: Allocation, *invoices: tuple[str, str], entity: str | None = "812", found: bool = True
) -> AllocationMatch:
    return AllocationMatch(
        allocation,
        "label",
        found,
        entity,
        tuple(OpenInvoice(ns_id, entity, Decimal(due)) for ns_id, due in invoices),
    )


def test_invoice_sync_applies_a_payment_to_the_invoice_found_by_number() -> None:
    pay = payment(alloc("159.10", invoice_id="inv_77d1", invoice_number="INV-100231"))
    plan = plan_payment(pay, SyncType.INVOICES, [match(pay.allocations[0], ("1002", "159.10"))], "812")
    assert plan.outcome == "applied"
    assert plan.customer_id == "812"
    assert [(a.invoice_id, a.netsuite_invoice_id, a.amount) for a in plan.applications] == [
        ("inv_77d1", "1002", Decimal("159.10"))
    ]
    assert plan.reason is None


def test_invoice_sync_records_an_unapplied_payment_when_the_invoice_is_missing() -> None:
    pay = payment(alloc("159.10", invoice_number="INV-404"))
    plan = plan_payment(pay, SyncType.INVOICES, [match(pay.allocations[0], found=False, entity=None)], "812")
    assert (plan.outcome, plan.customer_id, plan.applications) == ("unapplied", "812", ())
    assert plan.reason is not None
    assert "not found" in plan.reason


def test_order_sync_applies_to_the_invoice_of_the_order() -> None:
    pay = payment(alloc("159.10", order_id="ord_1"))
    plan = plan_payment(pay, SyncType.ORDERS, [match(pay.allocations[0], ("1002", "200.00"))], None)
    assert plan.outcome == "applied"
    assert plan.customer_id == "812"  # taken from the order when the customer is not mapped
    assert plan.applications[0].amount == Decimal("159.10")


def unbilled(allocation: Allocation, so_id: str) -> AllocationMatch:
    order = FoundOrder("812", (), netsuite_id=so_id, currency_id="2")
    return AllocationMatch(allocation, f"order {allocation.order_id}", True, "812", (), order)


def test_order_sync_records_a_payment_for_an_unbilled_order_as_a_customer_deposit_on_it() -> None:
    pay = payment(alloc("159.10", order_id="ord_1"))
    plan = plan_payment(pay, SyncType.ORDERS, [unbilled(pay.allocations[0], "1001")], None)
    body = customer_deposit_body(pay, plan, TransactionClassification(class_id="4"))
    data = reconciliation_data(pay.id, plan, "1010")

    assert (plan.outcome, plan.customer_id, plan.sales_order_id) == ("deposited", "812", "1001")
    assert PaymentPlan.from_document(plan.to_document()) == plan
    assert body == {
        "customer": {"id": "812"}, "salesOrder": {"id": "1001"}, "payment": Decimal("159.10"),
        "tranDate": "2026-11-27", "memo": "Ordermentum payment OMP-88231", "currency": {"id": "2"},
        "class": {"id": "4"},
    }  # fmt: skip
    assert (data.outcome, data.netsuite_customer_deposit_id, data.netsuite_payment_id) == (
        "deposited", "1010", None,
    )  # fmt: skip
    adopted = adopt_recorded("812", (), {}, sales_order_id="1001", customer_deposit=True)
    assert (adopted.outcome, adopted.sales_order_id) == ("deposited", "1001")


def test_a_payment_over_several_unbilled_orders_stays_unapplied() -> None:
    pay = payment(alloc("100.00", order_id="ord_1"), alloc("59.10", order_id="ord_2"))
    matches = [unbilled(pay.allocations[0], "1001"), unbilled(pay.allocations[1], "1002")]
    plan = plan_payment(pay, SyncType.ORDERS, matches, None)
    assert (plan.outcome, plan.customer_id) == ("unapplied", "812")
    assert "not invoiced" in (plan.reason or "")


def test_a_missing_order_with_a_mapped_customer_is_recorded_unapplied() -> None:
    pay = payment(alloc("159.10", order_id="ord_404"))
    plan = plan_payment(pay, SyncType.ORDERS, [match(pay.allocations[0], found=False, entity=None)], "812")
    assert (plan.outcome, plan.customer_id) == ("unapplied", "812")


def test_no_customer_means_unmatched_and_nothing_to_record() -> None:
    pay = payment(alloc("159.10", order_id="ord_404"))
    plan = plan_payment(pay, SyncType.ORDERS, [match(pay.allocations[0], found=False, entity=None)], None)
    assert (plan.outcome, plan.customer_id, plan.applications) == ("unmatched", None, ())
    assert plan.reason is not None
    assert "cus_19ab" in plan.reason


def test_a_payment_over_several_invoices_is_applied_line_by_line() -> None:
    pay = payment(alloc("100.05", invoice_id="inv_a"), alloc("59.05", invoice_id="inv_b"))
    matches = [match(pay.allocations[0], ("11", "100.05")), match(pay.allocations[1], ("12", "80.00"))]
    plan = plan_payment(pay, SyncType.INVOICES, matches, "812")
    assert [(a.netsuite_invoice_id, a.amount) for a in plan.applications] == [
        ("11", Decimal("100.05")),
        ("12", Decimal("59.05")),
    ]
    assert sum(a.amount for a in plan.applications) == pay.amount


def test_a_partial_payment_applies_only_its_allocation() -> None:
    pay = payment(alloc("50.00", invoice_id="inv_a"), amount="50.00")
    plan = plan_payment(pay, SyncType.INVOICES, [match(pay.allocations[0], ("11", "159.10"))], "812")
    assert [(a.netsuite_invoice_id, a.amount) for a in plan.applications] == [("11", Decimal("50.00"))]


def test_an_allocation_above_the_amount_due_applies_the_due_and_leaves_the_rest_unapplied() -> None:
    pay = payment(alloc("159.10", invoice_id="inv_a"))
    plan = plan_payment(pay, SyncType.INVOICES, [match(pay.allocations[0], ("11", "100.00"))], "812")
    assert plan.applications[0].amount == Decimal("100.00")
    assert plan.reason is not None
    assert "59.10" in plan.reason


def test_an_order_billed_in_two_invoices_is_paid_across_both() -> None:
    pay = payment(alloc("159.10", order_id="ord_1"))
    plan = plan_payment(
        pay, SyncType.ORDERS, [match(pay.allocations[0], ("11", "100.00"), ("12", "59.10"))], "812"
    )
    assert [(a.netsuite_invoice_id, a.amount) for a in plan.applications] == [
        ("11", Decimal("100.00")),
        ("12", Decimal("59.10")),
    ]


def test_an_invoice_of_another_customer_is_never_applied() -> None:
    pay = payment(alloc("159.10", invoice_id="inv_a"))
    plan = plan_payment(
        pay, SyncType.INVOICES, [match(pay.allocations[0], ("11", "159.10"), entity="999")], "812"
    )
    assert (plan.outcome, plan.applications) == ("unapplied", ())
    assert plan.reason is not None
    assert "another NetSuite customer" in plan.reason


def test_a_plan_survives_its_round_trip_through_the_ledger_exactly() -> None:
    pay = payment(alloc("159.10", invoice_id="inv_a"))
    plan = plan_payment(pay, SyncType.INVOICES, [match(pay.allocations[0], ("11", "159.10"))], "812")
    assert PaymentPlan.from_document(plan.to_document()) == plan


def test_the_customer_payment_carries_the_classification_and_the_applications() -> None:
    pay = payment(alloc("159.10", invoice_id="inv_a"))
    plan = plan_payment(pay, SyncType.INVOICES, [match(pay.allocations[0], ("11", "159.10"))], "812")
    body = customer_payment_body(
        pay, plan, TransactionClassification(class_id="4", location_id="3", department_id="2")
    )
    assert body["customer"] == {"id": "812"}
    assert body["payment"] == Decimal("159.10")
    assert (body["class"], body["location"], body["department"]) == ({"id": "4"}, {"id": "3"}, {"id": "2"})
    assert body["apply"]["items"] == [{"doc": {"id": "11"}, "apply": True, "amount": Decimal("159.10")}]
    # NetSuite pre-fills the apply sublist and applies to the oldest unless told not to.
    assert body["autoApply"] is False
    # 2026.1 browser: undepFunds is an object, never a boolean (left out: NetSuite's default).
    assert "undepFunds" not in body


def test_a_payment_is_booked_on_the_date_of_its_own_offset_not_the_utc_date() -> None:
    pay = Payment.model_validate(
        {**payment().model_dump(mode="json"), "paid_at": "2026-11-27T08:02:11+11:00"}
    )  # 2026-11-26T21:02:11Z
    plan = plan_payment(pay, SyncType.INVOICES, [], "812")
    assert customer_payment_body(pay, plan, TransactionClassification())["tranDate"] == "2026-11-27"


def test_a_deposit_holds_each_payment_once() -> None:
    body = deposit_body("112", ["1004", "1005"], "2026-11-28", "payout", TransactionClassification())
    assert body["account"] == {"id": "112"}
    # 2026.1 browser deposit-paymentElement: keyed by an integer id (it has no doc).
    assert body["payment"]["items"] == [{"id": 1004, "deposit": True}, {"id": 1005, "deposit": True}]
    assert "class" not in body


def test_with_a_fees_account_the_fees_are_cash_back_so_the_deposit_is_net() -> None:
    classification = TransactionClassification(class_id="4")
    body = deposit_body(
        "112",
        ["1004"],
        "2026-11-28",
        "payout po_1",
        classification,
        fees=Decimal("12.16"),
        fees_account_id="640",
    )
    assert "other" not in body
    assert body["cashback"]["items"] == [
        {
            "account": {"id": "640"},
            "amount": Decimal("12.16"),
            "memo": "Fees: payout po_1",
            "class": {"id": "4"},
        }
    ]
    assert fee_booking(Decimal("12.16"), "640") == FeeBooking(True)


def test_without_a_fees_account_the_deposit_stays_gross_and_says_why() -> None:
    body = deposit_body(
        "112", ["1004"], "2026-11-28", "payout", TransactionClassification(), fees=Decimal("1.20")
    )
    assert "cashback" not in body
    booking = fee_booking(Decimal("1.20"), None)
    assert booking.booked is False
    assert "fees_account_id" in (booking.reason or "")


def test_a_payout_without_fees_books_no_fee_line_either_way() -> None:
    body = deposit_body(
        "112", ["1004"], "2026-11-28", "payout", TransactionClassification(), fees_account_id="640"
    )
    assert "cashback" not in body
    assert fee_booking(Decimal(0), "640") == FeeBooking(None)
