"""NetSuite invoices and credit memos turned into Ordermentum events (pure functions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from finance_sync.domain.documents import (
    CreditMemoRow,
    DeletedInvoice,
    InvoiceRow,
    InvoiceVersion,
    LineRow,
    credit_note_event,
    finalised_invoice_event,
    invoice_change_event,
    invoice_deleted_event,
    invoice_paid_event,
    known_invoice_id,
    version_of,
)
from om_contracts import NetSuiteFinalisedInvoiceVoided, derived_event_id

CREATED = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)


def invoice(**overrides: object) -> InvoiceRow:
    values: dict[str, object] = {
        "id": "1002",
        "tran_id": "INV-77",
        "created_at": CREATED,
        "entity_id": "812",
        "external_id": None,
        "order_external_id": "OM-ORDER-ord_8f3a2c",
        "currency": "AUD",
        "due_date": dt.date(2026, 12, 24),
        "total": Decimal("142.50"),
        "amount_paid": Decimal("0.00"),
        "amount_unpaid": Decimal("142.50"),
        "lines": (
            LineRow(1, "2044", "House Blend 1kg", Decimal("3"), Decimal("42.50"), Decimal("127.50")),
            LineRow(2, "2301", "Freight", Decimal("1"), None, Decimal("15.00")),
        ),
    }
    values.update(overrides)
    return InvoiceRow(**values)  # type: ignore[arg-type]  # test builder: values checked by the dataclass


def test_an_invoice_billed_from_our_order_becomes_a_finalised_event_with_lines_mapped_back() -> None:
    event = finalised_invoice_event("sup_1", invoice(), {"2044": "prd_55"}, "AUD")
    assert event is not None
    data = event.data
    assert data.order_id == "ord_8f3a2c"
    assert (data.netsuite_invoice_id, data.tran_id, data.due_date) == (
        "1002",
        "INV-77",
        dt.date(2026, 12, 24),
    )
    assert [
        (line.product_id, line.netsuite_item_id, line.quantity, line.unit_price, line.amount)
        for line in data.lines
    ] == [
        ("prd_55", "2044", Decimal("3"), Decimal("42.50"), Decimal("127.50")),
        (None, "2301", Decimal("1"), Decimal("15.00"), Decimal("15.00")),
    ]
    assert (data.totals.subtotal, data.totals.tax, data.totals.total) == (
        Decimal("142.50"),
        Decimal("0"),
        Decimal("142.50"),
    )
    assert data.amount_due == Decimal("142.50")
    assert event.model_dump(mode="json")["data"]["amount_due"] == "142.50"


def test_tax_lines_count_as_tax_not_as_invoice_lines() -> None:
    row = invoice(lines=(LineRow(1, "2044", None, Decimal("1"), Decimal("100.00"), Decimal("100.00")),
                         LineRow(2, "9", None, Decimal("1"), None, Decimal("10.00"), is_tax=True)),
                  total=Decimal("110.00"))  # fmt: skip
    event = finalised_invoice_event("sup_1", row, {}, "AUD")
    assert event is not None
    assert len(event.data.lines) == 1
    assert (event.data.totals.subtotal, event.data.totals.tax) == (Decimal("100.00"), Decimal("10.00"))


def test_an_invoice_not_created_from_our_order_is_not_finalised() -> None:
    assert finalised_invoice_event("sup_1", invoice(order_external_id="SO-FROM-ELSEWHERE"), {}, "AUD") is None
    assert finalised_invoice_event("sup_1", invoice(order_external_id=None), {}, "AUD") is None


def test_the_event_id_is_the_same_for_the_same_fact_and_differs_per_supplier() -> None:
    first = finalised_invoice_event("sup_1", invoice(), {}, "AUD")
    again = finalised_invoice_event("sup_1", invoice(), {}, "AUD")
    other = finalised_invoice_event("sup_2", invoice(), {}, "AUD")
    assert first is not None
    assert again is not None
    assert other is not None
    assert first.event_id == again.event_id != other.event_id
    assert first.event_id == derived_event_id("sup_1", "finalised", "1002")


# Ids the service published before it used `om_contracts.derived_event_id` (its own
# `deterministic_event_id`, removed): consumers de-duplicate on them, so they must never change.
PUBLISHED_IDS = {
    ("sup_1", "finalised", "1002"): "evt_eb0ea863418925aced51641c2f55957c",
    ("sup_1", "updated", "1002", "f1a2"): "evt_a1835a8ed66e306faaa2ca690cfcd13e",
    ("sup_1", "voided", "ord_1"): "evt_0e2a139536ac7fe52868be3fdaa9921c",
    ("sup_1", "credit_note", "77"): "evt_6ad5a8ed461e5f6e89b24f72e699548c",
    ("sup_1", "paid", "1002"): "evt_502e1ab876b3ad6a895cf6e95145509d",
    ("sup_1", "payment", "pay_1"): "evt_53b6628c22873f523a61b942ed7763b6",
    ("sup_1", "payout", "po_1"): "evt_047f806dfb19f2ba7aa8120cb85af309",
}


def test_event_ids_are_the_ones_published_before_the_shared_derivation() -> None:
    for parts, published in PUBLISHED_IDS.items():
        assert derived_event_id(*parts) == published
    event = finalised_invoice_event("sup_1", invoice(), {}, "AUD")
    assert event is not None
    assert event.event_id == "evt_eb0ea863418925aced51641c2f55957c"


def test_a_missing_currency_falls_back_to_the_default() -> None:
    event = finalised_invoice_event("sup_1", invoice(currency=None), {}, "NZD")
    assert event is not None
    assert event.data.currency == "NZD"


def test_known_invoices_are_ours_by_invoice_or_order_external_id() -> None:
    assert known_invoice_id("OM-INV-inv_77d1", None) == "inv_77d1"
    assert known_invoice_id(None, "OM-ORDER-ord_1") == "ord_1"
    assert known_invoice_id("INV-FROM-ELSEWHERE", "SO-9") is None


def test_a_paid_invoice_known_to_ordermentum_yields_one_paid_event() -> None:
    paid_at = CREATED + dt.timedelta(days=2)
    row = invoice(external_id="OM-INV-inv_77d1", order_external_id=None, amount_paid=Decimal("142.50"),
                  amount_unpaid=Decimal("0.00"))  # fmt: skip
    event = invoice_paid_event("sup_1", row, paid_at)
    assert event is not None
    assert (event.data.invoice_id, event.data.netsuite_invoice_id) == ("inv_77d1", "1002")
    assert (event.data.paid_at, event.data.amount_paid) == (paid_at, Decimal("142.50"))


def test_a_partly_paid_or_unknown_invoice_yields_no_paid_event() -> None:
    assert invoice_paid_event("sup_1", invoice(amount_unpaid=Decimal("0.01")), CREATED) is None
    unknown = invoice(order_external_id=None, amount_unpaid=Decimal("0"), amount_paid=Decimal("142.50"))
    assert invoice_paid_event("sup_1", unknown, CREATED) is None


def test_a_credit_memo_names_the_ordermentum_customer_and_invoice() -> None:
    memo = CreditMemoRow(
        id="1003", tran_id="CM1", created_at=CREATED, entity_id="812", currency=None, total=Decimal("42.50"),
        invoice_external_id="OM-INV-inv_77d1", invoice_order_external_id=None,
        lines=(LineRow(1, "2044", None, Decimal("1"), Decimal("42.50"), Decimal("42.50")),),
    )  # fmt: skip
    event = credit_note_event("sup_1", memo, "cus_19ab", {"2044": "prd_55"}, "AUD")
    assert event is not None
    assert (event.data.customer_id, event.data.invoice_id, event.data.total) == (
        "cus_19ab",
        "inv_77d1",
        Decimal("42.50"),
    )
    assert event.data.lines[0].product_id == "prd_55"
    assert credit_note_event("sup_1", memo, None, {}, "AUD") is None


def _published(row: InvoiceRow) -> InvoiceVersion:
    event = finalised_invoice_event("sup_1", row, {"2044": "prd_55"}, "AUD")
    assert event is not None
    return version_of(event)


def test_a_payment_or_a_new_product_mapping_is_not_an_edit_of_a_finalised_invoice() -> None:
    known = _published(invoice())
    paid = invoice(amount_paid=Decimal("42.50"), amount_unpaid=Decimal("100.00"))

    assert invoice_change_event("sup_1", paid, known, {"2044": "prd_55"}, "AUD")[1] is None
    assert invoice_change_event("sup_1", invoice(), known, {}, "AUD")[1] is None


def test_an_edited_line_or_due_date_is_an_update_with_a_stable_event_id() -> None:
    known = _published(invoice())
    edited = invoice(due_date=dt.date(2026, 12, 31), modified_at=CREATED + dt.timedelta(hours=2))

    key, event = invoice_change_event("sup_1", edited, known, {"2044": "prd_55"}, "AUD")
    again_key, again = invoice_change_event("sup_1", edited, known, {"2044": "prd_55"}, "AUD")

    assert event is not None
    assert again is not None
    assert event.event_type == "netsuite.invoice.updated"
    assert (key, event.event_id) == (again_key, again.event_id)
    assert event.occurred_at == CREATED + dt.timedelta(hours=2)
    assert version_of(event).state == "updated"


def test_an_invoice_never_published_as_finalised_is_not_news_when_it_changes() -> None:
    assert invoice_change_event("sup_1", invoice(), None, {}, "AUD")[1] is None
    assert invoice_change_event("sup_1", invoice(voided=True), None, {}, "AUD")[1] is None
    assert invoice_deleted_event("sup_1", DeletedInvoice("1002", CREATED), None)[1] is None


def test_voided_or_deleted_are_one_voided_event_per_invoice_and_then_nothing() -> None:
    known = _published(invoice())
    _, voided = invoice_change_event("sup_1", invoice(voided=True, modified_at=CREATED), known, {}, "AUD")
    _, deleted = invoice_deleted_event("sup_1", DeletedInvoice("1002", CREATED), known)

    assert isinstance(voided, NetSuiteFinalisedInvoiceVoided)
    assert deleted is not None
    assert (voided.data.reason, deleted.data.reason) == ("voided", "deleted")
    assert voided.event_id == deleted.event_id
    assert (deleted.data.order_id, deleted.data.tran_id) == ("ord_8f3a2c", "INV-77")
    gone = version_of(deleted)
    assert invoice_deleted_event("sup_1", DeletedInvoice("1002", CREATED), gone)[1] is None
    assert invoice_change_event("sup_1", invoice(), gone, {}, "AUD")[1] is None
