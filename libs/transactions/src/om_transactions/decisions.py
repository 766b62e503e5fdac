"""Where each NetSuite id of a body comes from, in words: what `omctl preview` shows next to the body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from om_contracts import Invoice, Order
from om_transactions.mapping import CLASSIFICATION, Mappings, code_for, line_rates


@dataclass(frozen=True)
class Decision:
    """Where one NetSuite id of the body came from (for `omctl preview`)."""

    field: str
    value: str | None
    source: str


_SOURCE_TEXT = {
    "tab": "{kind} mapping tab of the integration",
    "property": "netsuite_id property on the {kind} in the event",
    "upserted": "latest {kind}.upserted event",
    "operator": "operator import (omctl mappings import)",
}


def source_text(kind: str, source: str | None) -> str:
    """A resolution source of `om_platform.mappings` in words; None means unmapped."""
    if source is None:
        return "unmapped"
    return _SOURCE_TEXT.get(source, source).format(kind=kind)


def id_sources(
    transaction: Order | Invoice,
    mappings: Mappings,
    *,
    customer_source: str | None,
    product_sources: Mapping[str, str | None],
    surcharge_item_id: str | None,
) -> list[Decision]:
    """Every NetSuite id the body would carry and where it came from (None value: unmapped)."""
    out = [Decision("entity", mappings.customer, source_text("customer", customer_source))]
    for index, line in enumerate(transaction.lines):
        product_id = line.product.id
        out.append(
            Decision(
                f"item.items[{index}].item ({product_id})",
                mappings.products.get(product_id),
                source_text("product", product_sources.get(product_id)),
            )
        )
    for field_name, prop in (*CLASSIFICATION, ("freight item", "netsuite_freight_item_id")):
        own = transaction.property(prop)
        value = transaction.resolved_property(prop)
        if value is not None:
            whose = "order" if isinstance(transaction, Order) else "invoice"
            where = (
                f"{prop} property on the {whose}" if own is not None else f"{prop} property on the customer"
            )
            out.append(Decision(field_name, value, where))
    if transaction.surcharge is not None:
        out.append(Decision("surcharge item", surcharge_item_id, "surcharge_item_id of the integration"))
    out.append(
        Decision("currency", mappings.currency, f"NetSuite currency with symbol {transaction.currency}")
    )
    if mappings.tax_codes is not None:
        for path, rate in line_rates(transaction):
            out.append(Decision(f"taxCode of {path}", code_for(mappings, rate), f"tax_codes[{rate}]"))
    return out
