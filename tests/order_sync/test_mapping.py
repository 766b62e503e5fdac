"""Pure mapping of Ordermentum orders/invoices to NetSuite bodies, and the ledger rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from om_contracts import ErrorCode, IntegrationSettings, Invoice, KeyRing, NetSuiteCustomer, Order
from om_netsuite_sim._schema import check_body
from om_transactions import mapping
from order_sync.adapters.netsuite_gateway import catalog_change_of
from order_sync.domain import catalog_cursor, outcomes

SURCHARGE = "900"


def order_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "ord_1",
        "number": "100231",
        "purchase_order_number": "PO-5521",
        "placed_at": "2026-11-24T09:15:00+11:00",
        "delivery_date": "2026-11-26",
        "currency": "AUD",
        "customer": {
            "id": "cus_1",
            "name": "Café Luna",
            "properties": {
                "netsuite_freight_item_id": "2301",
                "netsuite_department_id": "2",
                "netsuite_class_id": "7",
            },
        },
        "lines": [
            {
                "id": "l1",
                "quantity": "3",
                "unit_price": "42.50",
                "product": {"id": "prd_a", "sku": "A", "name": "A"},
            },
            {
                "id": "l2",
                "quantity": "0.125",
                "unit_price": "9.99",
                "product": {"id": "prd_b", "sku": "B", "name": "B"},
            },
            {
                "id": "l3",
                "quantity": "2",
                "unit_price": "1",
                "product": {"id": "prd_c", "sku": "C", "name": "C"},
            },
        ],
        "freight": {"amount": "15.00"},
        "surcharge": {"amount": "2.35", "description": "Card surcharge"},
        "notes": "Leave at back door",
        "properties": {"netsuite_department_id": "5", "netsuite_location_id": "3"},
        "totals": {"subtotal": "0", "tax": "0", "total": "0"},
    }
    data.update(overrides)
    return data


def an_order(**overrides: Any) -> Order:
    return Order.model_validate(order_data(**overrides))


MAPPED = mapping.Mappings(customer="812", products={"prd_a": "1", "prd_b": "2", "prd_c": "3"}, currency="1")


def body(order: Order | Invoice, mappings: mapping.Mappings = MAPPED, **kwargs: Any) -> dict[str, Any]:
    kind = "invoice" if isinstance(order, Invoice) else "order"
    return mapping.build_body(
        kind, order, mappings, external_id="OM-ORDER-ord_1", surcharge_item_id=SURCHARGE, **kwargs
    ).body


def test_products_freight_and_surcharge_become_five_lines_in_order() -> None:
    lines = body(an_order())["item"]["items"]
    assert [line["item"]["id"] for line in lines] == ["1", "2", "3", "2301", SURCHARGE]


def test_quantities_rates_and_amounts_are_exact_decimals_sent_as_json_numbers() -> None:
    """The 2026.1 REST API Browser types them ``number``; strings are refused (issue 21 item 9)."""
    lines = body(an_order())["item"]["items"]
    assert [(line["quantity"], line["rate"]) for line in lines] == [
        (Decimal("3"), Decimal("42.50")),
        (Decimal("0.125"), Decimal("9.99")),
        (Decimal("2"), Decimal("1")),
        (Decimal("1"), Decimal("15.00")),
        (Decimal("1"), Decimal("2.35")),
    ]
    assert all(isinstance(line[k], Decimal) for line in lines for k in ("quantity", "rate", "amount"))


@pytest.mark.parametrize("kind", ["order", "invoice"])
def test_every_body_passes_the_published_schema_check(kind: str) -> None:
    transaction: Order | Invoice = (
        an_order()
        if kind == "order"
        else Invoice.model_validate(order_data(issued_at="2026-11-25T10:00:00+11:00", due_date="2026-12-25"))
    )
    taxed = mapping.Mappings(
        customer="812", products=MAPPED.products, currency="1", tax_codes={Decimal(0): "7"}
    )
    written = mapping.build_body(
        kind, transaction, taxed, external_id="OM-X-1", surcharge_item_id=SURCHARGE, closed=True
    )
    sent = json.loads(json.dumps(written.body, default=float), parse_float=Decimal)

    assert check_body(written.record_type, sent, names="Error", values="Error") == []


@pytest.mark.parametrize(
    ("placed_at", "booked"),
    [("2026-11-27T08:02:11+11:00", "2026-11-27"), ("2026-11-26T17:30:00-08:00", "2026-11-26")],
)
def test_tran_date_is_the_calendar_date_in_the_events_own_offset(placed_at: str, booked: str) -> None:
    assert body(an_order(placed_at=placed_at))["tranDate"] == booked


def test_line_amounts_are_rounded_half_up_to_the_cent() -> None:
    assert mapping.line_amount(Decimal("0.125"), Decimal("9.99")) == Decimal("1.25")
    assert mapping.line_amount(Decimal("3"), Decimal("0.335")) == Decimal("1.01")
    assert mapping.line_amount(Decimal("1"), Decimal("0.125")) == Decimal("0.13")


def test_the_orders_own_property_wins_over_its_customers() -> None:
    sent = body(an_order())
    assert sent["department"] == {"id": "5"}
    assert sent["class"] == {"id": "7"}
    assert sent["location"] == {"id": "3"}
    assert "salesRep" not in sent


def test_the_freight_item_of_the_order_wins_over_the_customers() -> None:
    order = an_order(properties={"netsuite_freight_item_id": "4444"})
    assert body(order)["item"]["items"][3]["item"] == {"id": "4444"}


def test_header_fields_carry_po_number_dates_currency_and_the_ordermentum_number() -> None:
    sent = body(an_order())
    assert sent["otherRefNum"] == "PO-5521"
    assert sent["tranDate"] == "2026-11-24"
    assert sent["shipDate"] == "2026-11-26"
    assert sent["currency"] == {"id": "1"}
    assert sent["entity"] == {"id": "812"}
    assert sent["externalId"] == "OM-ORDER-ord_1"
    assert sent["memo"] == "Ordermentum order 100231: Leave at back door"


def test_the_memo_is_cut_to_netsuites_length() -> None:
    assert len(body(an_order(notes="x" * 5000))["memo"]) == mapping.MEMO_MAX


def test_absent_freight_surcharge_and_po_leave_only_product_lines() -> None:
    sent = body(an_order(freight=None, surcharge=None, purchase_order_number=None))
    assert len(sent["item"]["items"]) == 3
    assert "otherRefNum" not in sent


def test_an_invoice_becomes_an_invoice_dated_when_issued_with_its_due_date() -> None:
    invoice = Invoice.model_validate(order_data(issued_at="2026-11-25T10:00:00+11:00", due_date="2026-12-25"))
    built = mapping.build_body(
        "invoice", invoice, MAPPED, external_id="OM-INV-ord_1", surcharge_item_id=SURCHARGE
    )
    assert built.record_type == "invoice"
    assert built.body["tranDate"] == "2026-11-25"
    assert built.body["dueDate"] == "2026-12-25"
    assert built.body["memo"].startswith("Ordermentum invoice 100231")


def test_closing_marks_every_line_closed() -> None:
    assert all(line["isClosed"] for line in body(an_order(), closed=True)["item"]["items"])


def test_an_unmapped_customer_and_two_unmapped_products_are_all_named_at_once() -> None:
    unmapped = mapping.Mappings(
        customer=None, products={"prd_a": None, "prd_b": None, "prd_c": "3"}, currency="1"
    )
    failure = mapping.check_mappings(an_order(), unmapped, surcharge_item_id=SURCHARGE)
    assert failure is not None
    assert failure.code is ErrorCode.UNMAPPED_CUSTOMER
    assert [d.ordermentum_id for d in failure.details] == ["cus_1", "prd_a", "prd_b"]


def test_a_product_on_two_lines_is_reported_once() -> None:
    lines = order_data()["lines"]
    lines[1]["product"] = lines[0]["product"]
    unmapped = mapping.Mappings(customer="812", products={"prd_a": None, "prd_c": "3"}, currency="1")
    failure = mapping.check_mappings(an_order(lines=lines), unmapped, surcharge_item_id=SURCHARGE)
    assert failure is not None
    assert failure.code is ErrorCode.UNMAPPED_PRODUCT
    assert [d.ordermentum_id for d in failure.details] == ["prd_a"]


def test_freight_without_a_freight_item_fails_with_missing_freight_item() -> None:
    customer = order_data()["customer"] | {"properties": {}}
    failure = mapping.check_mappings(an_order(customer=customer), MAPPED, surcharge_item_id=SURCHARGE)
    assert failure is not None
    assert failure.code is ErrorCode.MISSING_FREIGHT_ITEM


def test_a_surcharge_without_a_surcharge_item_fails_with_missing_surcharge_item() -> None:
    failure = mapping.check_mappings(an_order(), MAPPED, surcharge_item_id=None)
    assert failure is not None
    assert failure.code is ErrorCode.MISSING_SURCHARGE_ITEM


def test_no_freight_needs_no_freight_item_and_no_surcharge_needs_no_surcharge_item() -> None:
    customer = order_data()["customer"] | {"properties": {}}
    order = an_order(customer=customer, freight=None, surcharge=None)
    assert mapping.check_mappings(order, MAPPED, surcharge_item_id=None) is None


def test_a_fully_mapped_order_has_no_problem() -> None:
    assert mapping.check_mappings(an_order(), MAPPED, surcharge_item_id=SURCHARGE) is None


def test_without_tax_codes_no_line_names_a_tax_code() -> None:
    assert all("taxCode" not in line for line in body(an_order())["item"]["items"])


def _with_rates(**rates: str) -> Order:
    lines = order_data()["lines"]
    for line, rate in zip(lines, (rates.get("a"), rates.get("b"), rates.get("c")), strict=True):
        line["tax_rate"] = rate
    return an_order(lines=lines, freight={"amount": "15.00", "tax_rate": rates.get("freight")})


def _tax_mapped(order: Order, integration_codes: dict[str, str]) -> mapping.Mappings:
    sealed = KeyRing([KeyRing.generate_key()]).seal("x").token
    settings = IntegrationSettings.model_validate(
        {
            "account_id": "1",
            "credentials": dict.fromkeys(("client_id", "client_secret", "token_id", "token_secret"), sealed),
            "sync_type": "orders",
            "tax_codes": integration_codes,
        }
    )
    codes = mapping.resolve_tax_codes(order, settings)
    return mapping.Mappings(customer="812", products=MAPPED.products, currency="1", tax_codes=codes)


def test_with_tax_codes_every_line_freight_and_surcharge_carry_the_code_of_their_rate() -> None:
    order = _with_rates(a="0.10", b="0", c="0.1", freight="0.10")

    lines = body(order, _tax_mapped(order, {"0.10": "7", "0": "8"}))["item"]["items"]

    # lines a, b, c, freight (0.10), surcharge (no rate in the contract: rate 0)
    assert [line["taxCode"] for line in lines] == [{"id": c} for c in ("7", "8", "7", "7", "8")]


def test_a_line_without_a_rate_counts_as_rate_zero() -> None:
    order = _with_rates(a="0.10", freight="0.10")
    assert (
        mapping.check_mappings(
            order, _tax_mapped(order, {"0.10": "7", "0": "8"}), surcharge_item_id=SURCHARGE
        )
        is None
    )
    failure = mapping.check_mappings(order, _tax_mapped(order, {"0.10": "7"}), surcharge_item_id=SURCHARGE)
    assert failure is not None
    assert [(d.path, d.reason) for d in failure.details] == [
        ("lines[1].tax_rate", "tax rate 0 has no NetSuite tax code in the integration's tax_codes")
    ]


def test_unmapped_rates_are_listed_with_the_other_mapping_problems() -> None:
    order = _with_rates(a="0.10", b="0.15", c="0.10", freight="0.10")
    mapped = _tax_mapped(order, {"0.10": "7", "0": "8"})
    unmapped = mapping.Mappings(
        customer=None, products=MAPPED.products, currency="1", tax_codes=mapped.tax_codes
    )

    failure = mapping.check_mappings(order, unmapped, surcharge_item_id=SURCHARGE)

    assert failure is not None
    assert failure.code is ErrorCode.UNMAPPED_CUSTOMER
    assert [d.path for d in failure.details] == ["customer", "lines[1].tax_rate"]
    assert "tax rate 0.15" in failure.message


def test_ordermentum_totals_compare_with_netsuites_by_value() -> None:
    order = an_order(
        totals={
            "subtotal": "143.25",
            "freight": "15.00",
            "surcharge": "2.35",
            "tax": "15.83",
            "total": "176.43",
        }
    )
    ours = mapping.ordermentum_totals(order)
    assert (ours.subtotal, ours.tax, ours.total, ours.lines) == (
        Decimal("160.60"),
        Decimal("15.83"),
        Decimal("176.43"),
        5,
    )
    same = ours.model_copy(update={"total": Decimal("176.430"), "lines": None})
    assert mapping.totals_differ(ours, same) == []
    other = ours.model_copy(update={"tax": Decimal("16.00"), "total": Decimal("176.60")})
    assert mapping.totals_differ(ours, other) == [
        "total 176.43 in Ordermentum, 176.60 in NetSuite",
        "tax 15.83 in Ordermentum, 16.00 in NetSuite",
    ]


def test_decisions_name_where_each_netsuite_id_came_from() -> None:
    order = _with_rates(a="0.10", b="0", c="0.10", freight="0.10")
    mapped = _tax_mapped(order, {"0.10": "7", "0": "8"})
    partly = mapping.Mappings(
        customer="812",
        products={"prd_a": "1", "prd_b": None, "prd_c": "3"},
        currency="1",
        tax_codes=mapped.tax_codes,
    )

    found = mapping.decisions(
        order,
        partly,
        customer_source="tab",
        product_sources={"prd_a": "property", "prd_b": None, "prd_c": "upserted"},
        surcharge_item_id=SURCHARGE,
    )

    by_field = {d.field: (d.value, d.source) for d in found}
    assert by_field["entity"] == ("812", "customer mapping tab of the integration")
    assert by_field["item.items[0].item (prd_a)"] == ("1", "netsuite_id property on the product in the event")
    assert by_field["item.items[1].item (prd_b)"] == (None, "unmapped")
    assert by_field["item.items[2].item (prd_c)"] == ("3", "latest product.upserted event")
    assert by_field["department"] == ("5", "netsuite_department_id property on the order")
    assert by_field["class"] == ("7", "netsuite_class_id property on the customer")
    assert by_field["freight item"] == ("2301", "netsuite_freight_item_id property on the customer")
    assert by_field["surcharge item"] == (SURCHARGE, "surcharge_item_id of the integration")
    assert by_field["taxCode of surcharge"] == ("8", "tax_codes[0]")


NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_a_new_event_is_applied() -> None:
    assert (
        outcomes.decide(event_id="e2", occurred_at=NOW, applied_event_ids=["e1"], last_occurred_at=NOW)
        == "apply"
    )


def test_an_event_already_applied_is_recognised() -> None:
    decision = outcomes.decide(event_id="e1", occurred_at=NOW, applied_event_ids=["e1"], last_occurred_at=NOW)
    assert decision == "already_applied"


def test_an_event_older_than_the_one_applied_is_stale() -> None:
    decision = outcomes.decide(
        event_id="e0",
        occurred_at=NOW - timedelta(microseconds=1),
        applied_event_ids=["e1"],
        last_occurred_at=NOW,
    )
    assert decision == "stale"


def test_the_first_event_of_a_record_is_applied() -> None:
    assert (
        outcomes.decide(event_id="e1", occurred_at=NOW, applied_event_ids=[], last_occurred_at=None)
        == "apply"
    )


def test_a_failed_outcome_of_an_invoice_is_an_invoice_failed_event() -> None:
    invoice = Invoice.model_validate(order_data(issued_at="2026-11-25T10:00:00+11:00"))
    source = outcomes.SourceEvent("e1", "invoice.issued", NOW, "sup_1", "invoice", invoice)
    event = outcomes.failed(
        source, ErrorCode.UNMAPPED_PRODUCT, "x", retryable=False, attempts=1, event_id="evt_1", now=NOW
    )
    assert event.event_type == "netsuite.invoice.failed"
    assert outcomes.status_of(event) == "failed"
    assert outcomes.parse_outcome(event.model_dump_json()) == event


def test_catalog_rows_become_catalog_records_with_name_fallbacks() -> None:
    row = {"id": 7, "entityid": "CUST7", "isinactive": "T"}
    customer = catalog_change_of("customer", row).record.model_copy(update={"ordermentum_id": "cus_1"})
    assert customer == NetSuiteCustomer(
        netsuite_id="7", name="CUST7", is_inactive=True, ordermentum_id="cus_1"
    )
    item = catalog_change_of(
        "item", {"id": 9, "itemid": "SKU9", "displayname": None, "isinactive": "F"}
    ).record
    assert (item.name, item.sku, item.is_inactive) == ("SKU9", "SKU9", False)


def test_the_catalog_cursor_restarts_an_overlap_before_the_high_water_mark() -> None:
    assert catalog_cursor.start_from(None, 5) == catalog_cursor.EPOCH
    assert catalog_cursor.start_from("2026-11-24 10:00:03", 5) == "2026-11-24 09:59:58"
    assert catalog_cursor.start_from("1970-01-01 00:00:01", 5) == catalog_cursor.EPOCH
