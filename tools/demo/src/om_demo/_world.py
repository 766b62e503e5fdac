"""The demo supplier: a coffee roaster with three warehouses, its NetSuite account and its Ordermentum catalog.

Pure data and event builders; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

SUPPLIER = "sup_bean_co"
ACCOUNT = "7654321_SB1"
CURRENCY = "AUD"


@dataclass(frozen=True)
class Location:
    key: str
    name: str


GST, GST_FREE = "7", "8"  # the simulator's seeded tax codes
FEES_ACCOUNT = "640"  # the supplier's "Merchant Fees" expense account


@dataclass(frozen=True)
class Item:
    product_id: str
    sku: str
    name: str
    price: Decimal
    stock: tuple[int, int, int]  # on hand at Sydney, Melbourne, Brisbane
    mapped: bool = True
    netsuite_tax_code: str = GST  # the item's default tax code in NetSuite


@dataclass(frozen=True)
class Venue:
    customer_id: str
    name: str
    email: str
    mapped: bool = True


LOCATIONS = (Location("syd", "Sydney DC"), Location("mel", "Melbourne DC"), Location("bne", "Brisbane DC"))

ITEMS = (
    Item("prd_house_1kg", "COF-HOUSE-1KG", "House Blend 1kg", Decimal("42.50"), (120, 60, 35)),
    Item("prd_single_1kg", "COF-SO-1KG", "Single Origin Ethiopia 1kg", Decimal("54.00"), (40, 22, 10)),
    Item("prd_decaf_1kg", "COF-DECAF-1KG", "Swiss Water Decaf 1kg", Decimal("48.75"), (25, 12, 8)),
    Item("prd_cold_brew", "CB-CONC-2L", "Cold Brew Concentrate 2L", Decimal("31.20"), (80, 45, 30)),
    Item("prd_chai_1kg", "CHAI-1KG", "Spiced Chai 1kg", Decimal("36.90"), (50, 18, 12)),
    # Set up GST-free in NetSuite by mistake: Ordermentum charges GST on it, and the supplier has
    # no tax_codes mapping, so NetSuite books less tax than Ordermentum (a TOTALS_MISMATCH).
    Item(
        "prd_cups_8oz",
        "CUP-8OZ-1000",
        "Compostable Cups 8oz x1000",
        Decimal("119.00"),
        (30, 20, 15),
        netsuite_tax_code=GST_FREE,
    ),
    # Launched this week: not yet mapped to a NetSuite item when the first order arrives.
    Item(
        "prd_seasonal_500g",
        "COF-SEASON-500G",
        "Seasonal Espresso 500g",
        Decimal("27.40"),
        (60, 0, 0),
        mapped=False,
    ),
)

VENUES = (
    Venue("cus_cafe_luna", "Café Luna", "accounts@cafeluna.example"),
    Venue("cus_harbour_eats", "Harbour Eats", "ap@harbour.example"),
    Venue("cus_the_grind", "The Grind", "finance@thegrind.example"),
    Venue("cus_milk_bar", "Corner Milk Bar", "owner@milkbar.example"),
)


def envelope(event_type: str, event_id: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": at.isoformat(),
        "supplier_id": SUPPLIER,
        "data": data,
    }


def customer_payload(venue: Venue, netsuite_id: str | None) -> dict[str, Any]:
    props = {"netsuite_id": netsuite_id} if netsuite_id else {}
    return {"id": venue.customer_id, "name": venue.name, "email": venue.email, "properties": props}


def product_payload(item: Item, netsuite_id: str | None) -> dict[str, Any]:
    props = {"netsuite_id": netsuite_id} if netsuite_id else {}
    return {"id": item.product_id, "sku": item.sku, "name": item.name, "properties": props}


def order_payload(
    order_id: str,
    number: str,
    venue: Venue,
    lines: list[tuple[Item, int]],
    *,
    placed_at: datetime,
    freight: Decimal | None = Decimal("15.00"),
    surcharge: Decimal | None = None,
    notes: str | None = None,
    customer_properties: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An Ordermentum order with exact totals (GST 10% on lines and freight)."""
    subtotal = sum((item.price * qty for item, qty in lines), Decimal("0"))
    freight_amount = freight or Decimal("0")
    tax = ((subtotal + freight_amount) * Decimal("0.10")).quantize(Decimal("0.01"))
    surcharge_amount = surcharge or Decimal("0")
    return {
        "id": order_id,
        "number": number,
        "purchase_order_number": f"PO-{number[-4:]}",
        "placed_at": placed_at.isoformat(),
        "delivery_date": (placed_at + timedelta(days=2)).date().isoformat(),
        "currency": CURRENCY,
        "customer": {
            "id": venue.customer_id,
            "name": venue.name,
            "properties": dict(customer_properties or {}),
        },
        "lines": [
            {
                "id": f"{order_id}_ln{n}",
                "quantity": str(qty),
                "unit_price": str(item.price),
                "tax_rate": "0.10",
                "description": None,
                "product": {"id": item.product_id, "sku": item.sku, "name": item.name, "properties": {}},
            }
            for n, (item, qty) in enumerate(lines, start=1)
        ],
        "freight": {"amount": str(freight), "tax_rate": "0.10"} if freight else None,
        "surcharge": {"amount": str(surcharge), "description": "Card surcharge"} if surcharge else None,
        "notes": notes,
        "properties": {},
        "totals": {
            "subtotal": str(subtotal),
            "freight": str(freight_amount),
            "surcharge": str(surcharge_amount),
            "tax": str(tax),
            "total": str(subtotal + freight_amount + surcharge_amount + tax),
        },
    }
