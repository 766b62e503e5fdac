"""Legacy tax (SuiteTax off) as an Australian NetSuite account books it on sales transactions.

Each item line gets a tax code: the line's own ``taxCode``, else the item's default
(``salesTaxCode``), else the transaction's ``taxItem``, else the customer's ``taxItem``; a line
with none of these carries no tax (an account without tax defaults, as before tax was modelled).
The code's rate (GST 10 %, GST-free 0 %) applies to the line amount and is rounded to the cent
per line, half up; the transaction's ``taxTotal`` is the sum of the lines' tax. The code chosen
is written back on the line, as NetSuite shows it on the record. Reference §3.8 marks the exact
legacy semantics UNCONFIRMED; this is the behaviour the services must be verified against.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ._responses import ApiError

if TYPE_CHECKING:
    from ._records import RecordStore

__all__ = ["SEEDED_TAX_CODES", "apply_tax", "line_tax"]

Record = dict[str, Any]
ZERO = Decimal(0)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)

#: Seeded on every account: (internal id, name, rate in percent).
SEEDED_TAX_CODES: tuple[tuple[str, str, Decimal], ...] = (
    ("7", "GST", Decimal(10)),
    ("8", "GST-FREE", Decimal(0)),
)


def _ref_id(value: Any) -> str | None:
    return str(value["id"]) if isinstance(value, dict) and value.get("id") else None


def _default_code(store: RecordStore, record: Record) -> str | None:
    own = _ref_id(record.get("taxItem"))
    if own is not None:
        return own
    entity = _ref_id(record.get("entity"))
    customer = store.find("customer", entity) if entity else None
    return _ref_id(customer.get("taxItem")) if customer else None


def line_tax(amount: Decimal, rate_percent: Decimal) -> Decimal:
    """One line's tax, rounded to the cent, half up."""
    return (amount * rate_percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def apply_tax(store: RecordStore, record: Record) -> Decimal:
    """Set every item line's ``taxCode``, ``taxRate1`` and ``tax1Amt``; returns the tax total."""
    fallback = _default_code(store, record)
    total = ZERO
    for i, line in enumerate(record.get("item") or []):
        item_id = _ref_id(line.get("item"))
        item = store.find("item", item_id) if item_id else None
        code = (
            _ref_id(line.get("taxCode")) or (_ref_id(item.get("salesTaxCode")) if item else None) or fallback
        )
        if code is None:
            for key in ("taxCode", "taxRate1", "tax1Amt"):
                line.pop(key, None)
            continue
        tax_code = store.find("salestaxitem", code)
        if tax_code is None:
            raise ApiError(
                400,
                "INVALID_CONTENT",
                f"Invalid Field Value {code} for the following field: taxCode",
                f"item.items[{i}].taxCode",
            )
        rate = Decimal(tax_code.get("rate") or ZERO)
        tax = line_tax(line.get("amount") or ZERO, rate)
        line["taxCode"] = {"id": code}
        line["taxRate1"] = rate
        line["tax1Amt"] = tax
        total += tax
    return total
