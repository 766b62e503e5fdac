"""Every example payload in CONTRACTS.md validates, through the same path consumers use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from om_contracts import (
    CUSTOMERS_TOPIC,
    INTEGRATIONS_TOPIC,
    INVOICES_TOPIC,
    ORDERS_TOPIC,
    PAYMENTS_TOPIC,
    PRODUCTS_TOPIC,
    CustomerUpserted,
    IntegrationConfigured,
    InvoiceIssued,
    KeyRing,
    OrderPlaced,
    OrderUpdated,
    PaymentSucceeded,
    PayoutSettled,
    ProductUpserted,
    StockField,
    SyncType,
    Tombstone,
    UnknownEventType,
    parse_event,
)

Wrap = Callable[[str, str], bytes]
Text = Callable[[str], str]


def test_the_order_example_validates_with_exact_money_and_typed_properties(
    wrap: Wrap, fixture_text: Text
) -> None:
    event = parse_event(ORDERS_TOPIC, wrap("order.placed", fixture_text("order.json")))

    assert isinstance(event, OrderPlaced)
    assert event.event_id == "evt_01JDZ3K4X8"
    assert event.supplier_id == "sup_7c1e"
    assert event.occurred_at.utcoffset() == dt.timedelta(hours=11)
    order = event.data
    assert order.id == "ord_8f3a2c"
    assert order.purchase_order_number == "PO-5521"
    assert order.delivery_date == dt.date(2026, 11, 26)
    assert order.customer.name == "Café Luna"
    assert order.customer.property("netsuite_id") == "812"
    assert order.customer.property("netsuite_freight_item_id") == "2301"
    assert order.property("netsuite_location_id") == "3"
    assert order.property("netsuite_class_id") is None
    assert order.resolved_property("netsuite_location_id") == "3"
    assert order.resolved_property("netsuite_freight_item_id") == "2301"
    assert order.resolved_property("netsuite_sales_rep_id") is None
    line = order.lines[0]
    assert (line.quantity, line.unit_price, line.tax_rate) == (
        Decimal("3"),
        Decimal("42.50"),
        Decimal("0.10"),
    )
    assert str(line.unit_price) == "42.50"
    assert line.description is None
    assert line.product.property("netsuite_id") == "2044"
    assert order.freight is not None
    assert order.freight.amount == Decimal("15.00")
    assert order.surcharge is not None
    assert order.surcharge.description == "Card surcharge"
    assert order.totals.total == Decimal("159.10")


def test_the_invoice_shape_is_the_order_shape_plus_invoice_fields(wrap: Wrap, fixture_text: Text) -> None:
    order_text = fixture_text("order.json").strip()
    invoice_text = (
        order_text[:-1] + ', "order_id": "ord_8f3a2c", "issued_at": "2026-11-25T08:00:00+11:00",'
        ' "due_date": "2026-12-25"}'
    )
    event = parse_event(INVOICES_TOPIC, wrap("invoice.issued", invoice_text))

    assert isinstance(event, InvoiceIssued)
    assert event.data.order_id == "ord_8f3a2c"
    assert event.data.due_date == dt.date(2026, 12, 25)
    assert event.data.lines[0].unit_price == Decimal("42.50")


def test_an_order_without_optional_parts_validates(wrap: Wrap, fixture_text: Text) -> None:
    text = (
        '{"id": "ord_1", "number": "1", "placed_at": "2026-11-24T09:15:00Z", "currency": "AUD",'
        ' "customer": {"id": "cus_1", "name": "A"}, "freight": null,'
        ' "lines": [{"id": "ln_1", "quantity": 2, "unit_price": 4.5,'
        ' "product": {"id": "prd_1", "name": "P"}}],'
        ' "totals": {"subtotal": "9.00", "tax": "0", "total": "9.00"}}'
    )
    event = parse_event(ORDERS_TOPIC, wrap("order.updated", text))

    assert isinstance(event, OrderUpdated)
    assert event.data.freight is None
    assert event.data.surcharge is None
    assert event.data.lines[0].unit_price == Decimal("4.5")


def test_the_integration_example_validates_with_its_credentials_still_sealed(
    wrap: Wrap, integration_text: str, key_ring: KeyRing
) -> None:
    event = parse_event(INTEGRATIONS_TOPIC, wrap("integration.netsuite.configured", integration_text))

    assert isinstance(event, IntegrationConfigured)
    settings = event.data
    assert settings.account_id == "1234567_SB1"
    assert settings.sync_type is SyncType.ORDERS
    assert settings.concurrency_limit == 5
    assert settings.stock.field is StockField.AVAILABLE
    assert settings.stock.location_ids == ("3", "1", "2")
    assert settings.stock.default_location_id == "3"
    assert settings.stock.interval_minutes == 15
    assert settings.auto_reconciliation.bank_account_id == "112"
    assert settings.auto_reconciliation.payment.class_id == "4"
    assert settings.auto_reconciliation.deposit.department_id == "2"
    assert settings.finalised_invoice_sync is True
    assert settings.surcharge_item_id == "2399"
    assert settings.product_mappings == {"prd_55": "2044"}
    assert settings.customer_mappings == {"cus_19ab": "812"}
    assert key_ring.open(settings.credentials.token_secret).get_secret_value() == "ts-plain"


def test_the_customer_and_product_examples_validate(wrap: Wrap, fixture_text: Text) -> None:
    customer = parse_event(CUSTOMERS_TOPIC, wrap("customer.upserted", fixture_text("customer.json")))
    product = parse_event(PRODUCTS_TOPIC, wrap("product.upserted", fixture_text("product.json")))

    assert isinstance(customer, CustomerUpserted)
    assert customer.data.email == "accounts@cafeluna.example"
    assert customer.data.property("netsuite_id") == "812"
    assert isinstance(product, ProductUpserted)
    assert product.data.sku == "COF-1KG"
    assert product.data.property("netsuite_id") == "2044"


def test_the_payment_and_payout_examples_validate(wrap: Wrap, fixture_text: Text) -> None:
    payment = parse_event(PAYMENTS_TOPIC, wrap("payment.succeeded", fixture_text("payment.json")))
    payout = parse_event(PAYMENTS_TOPIC, wrap("payout.settled", fixture_text("payout.json")))

    assert isinstance(payment, PaymentSucceeded)
    assert payment.data.amount == Decimal("159.10")
    assert payment.data.allocations[0].invoice_number == "INV-100231"
    assert isinstance(payout, PayoutSettled)
    assert payout.data.payment_ids == ("pay_31c0", "pay_31c1")
    assert payout.data.fees == Decimal("12.16")


@pytest.mark.parametrize(
    ("topic", "event_type", "fixture"),
    [
        (ORDERS_TOPIC, "order.cancelled", "order.json"),
        (CUSTOMERS_TOPIC, "customer.upserted", "customer.json"),
        (PAYMENTS_TOPIC, "payout.settled", "payout.json"),
    ],
)
def test_a_parsed_inbound_event_serialises_back_to_equivalent_json(
    topic: str, event_type: str, fixture: str, wrap: Wrap, fixture_text: Text
) -> None:
    event = parse_event(topic, wrap(event_type, fixture_text(fixture)))
    assert not isinstance(event, UnknownEventType | Tombstone)

    again = parse_event(topic, event.model_dump_json())

    assert again == event
