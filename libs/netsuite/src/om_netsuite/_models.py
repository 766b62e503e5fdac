"""Typed pydantic models for the NetSuite records the services use.

Field names follow the REST record schemas of release 2026.1 (REST API Browser; Help Center
section_1545141395 for create bodies). Python names are snake_case with camelCase aliases; both
spellings are accepted on input. Every model allows extra fields, so responses carrying more than
is modelled (links, custom ``custbody*`` fields, new releases) still validate, and custom fields can
be sent by passing them as keyword arguments. Money is ``Decimal``; references are ``Ref`` (``{id}``
on writes, ``{id, refName, links}`` on reads); sublists are ``Sublist`` (``{"items": [...]}``; a
read without ``expandSubResources`` returns only ``links`` and ``items`` stays None).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "ApplyLine",
    "CreditMemo",
    "Customer",
    "CustomerDeposit",
    "CustomerPayment",
    "Deposit",
    "DepositOtherLine",
    "DepositPaymentLine",
    "DiscountItem",
    "InventoryItem",
    "Invoice",
    "ItemRecord",
    "Location",
    "NetSuiteRecord",
    "NonInventorySaleItem",
    "OtherChargeSaleItem",
    "Ref",
    "SalesOrder",
    "ServiceSaleItem",
    "Sublist",
    "TransactionLine",
]

L = TypeVar("L", bound=BaseModel)


class NetSuiteRecord(BaseModel):
    """Base of every record model: camelCase aliases, extra fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", validate_by_name=True
    )


class Ref(NetSuiteRecord):
    """A reference to another record: ``{"id": "123"}`` (reads add ``refName`` and ``links``)."""

    id: str | None = None
    ref_name: str | None = None
    external_id: str | None = None


class Sublist(NetSuiteRecord, Generic[L]):
    """A sublist, ``{"items": [...]}``."""

    items: list[L] | None = None


class TransactionLine(NetSuiteRecord):
    """A line of the ``item`` sublist of sales orders, invoices and credit memos."""

    item: Ref | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    description: str | None = None
    price: Ref | None = None
    tax_code: Ref | None = None
    location: Ref | None = None
    department: Ref | None = None
    class_: Ref | None = Field(default=None, alias="class")
    line: int | None = None
    order_line: int | None = None
    item_type: Ref | str | None = None
    is_closed: bool | None = None
    quantity_billed: Decimal | None = None
    quantity_fulfilled: Decimal | None = None


class ApplyLine(NetSuiteRecord):
    """A line of an ``apply`` / ``credit`` / ``deposit`` sublist (payments, credit memos)."""

    doc: Ref | None = None
    apply: bool | None = None
    amount: Decimal | None = None
    apply_date: dt.date | None = None
    line: int | None = None
    due: Decimal | None = None
    total: Decimal | None = None
    ref_num: str | None = None
    type: str | None = None


class _Transaction(NetSuiteRecord):
    id: str | None = None
    external_id: str | None = None
    tran_id: str | None = None
    tran_date: dt.date | None = None
    memo: str | None = None
    subsidiary: Ref | None = None
    currency: Ref | None = None
    exchange_rate: Decimal | None = None
    department: Ref | None = None
    class_: Ref | None = Field(default=None, alias="class")
    location: Ref | None = None
    status: Ref | None = None
    total: Decimal | None = None
    created_date: dt.datetime | None = None
    last_modified_date: dt.datetime | None = None


class SalesOrder(_Transaction):
    """``salesOrder``; minimal create: ``entity`` and one ``item`` line."""

    entity: Ref | None = None
    other_ref_num: str | None = None
    sales_rep: Ref | None = None
    ship_date: dt.date | None = None
    ship_method: Ref | None = None
    shipping_cost: Decimal | None = None
    order_status: Ref | None = None
    subtotal: Decimal | None = None
    tax_total: Decimal | None = None
    item: Sublist[TransactionLine] | None = None


class Invoice(_Transaction):
    """``invoice``: like a sales order plus ``createdFrom``, due date and paid/remaining amounts."""

    entity: Ref | None = None
    created_from: Ref | None = None
    other_ref_num: str | None = None
    sales_rep: Ref | None = None
    due_date: dt.date | None = None
    shipping_cost: Decimal | None = None
    subtotal: Decimal | None = None
    tax_total: Decimal | None = None
    amount_paid: Decimal | None = None
    amount_remaining: Decimal | None = None
    item: Sublist[TransactionLine] | None = None


class CreditMemo(_Transaction):
    """``creditMemo``; ``apply`` lists the invoices it is applied to."""

    entity: Ref | None = None
    created_from: Ref | None = None
    other_ref_num: str | None = None
    applied: Decimal | None = None
    unapplied: Decimal | None = None
    item: Sublist[TransactionLine] | None = None
    apply: Sublist[ApplyLine] | None = None


class CustomerPayment(_Transaction):
    """``customerPayment`` (uses ``customer``, not ``entity``)."""

    customer: Ref | None = None
    payment: Decimal | None = None
    account: Ref | None = None
    ar_acct: Ref | None = None
    undep_funds: bool | None = None
    auto_apply: bool | None = None
    applied: Decimal | None = None
    unapplied: Decimal | None = None
    check_number: str | None = None
    payment_option: Ref | None = None
    apply: Sublist[ApplyLine] | None = None
    credit: Sublist[ApplyLine] | None = None
    deposit: Sublist[ApplyLine] | None = None


class CustomerDeposit(_Transaction):
    """``customerDeposit``: a prepayment, optionally against a sales order; no line sublists."""

    customer: Ref | None = None
    sales_order: Ref | None = None
    payment: Decimal | None = None
    account: Ref | None = None
    undep_funds: bool | None = None


class DepositPaymentLine(NetSuiteRecord):
    """A line of the bank deposit ``payment`` sublist (REST names UNCONFIRMED, reference §3.8)."""

    deposit: bool | None = None
    id: str | None = None
    doc: Ref | None = None
    payment_amount: Decimal | None = None
    amount: Decimal | None = None


class DepositOtherLine(NetSuiteRecord):
    """A line of the bank deposit ``other`` sublist (other deposits, e.g. fees or payouts)."""

    entity: Ref | None = None
    account: Ref | None = None
    amount: Decimal | None = None
    memo: str | None = None
    department: Ref | None = None
    class_: Ref | None = Field(default=None, alias="class")
    location: Ref | None = None


class Deposit(_Transaction):
    """``deposit`` (bank deposit) into ``account``."""

    account: Ref | None = None
    payment: Sublist[DepositPaymentLine] | None = None
    other: Sublist[DepositOtherLine] | None = None
    cash_back: Sublist[DepositOtherLine] | None = None


class Customer(NetSuiteRecord):
    """``customer`` (company or person)."""

    id: str | None = None
    external_id: str | None = None
    entity_id: str | None = None
    company_name: str | None = None
    is_person: bool | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    subsidiary: Ref | None = None
    currency: Ref | None = None
    terms: Ref | None = None
    sales_rep: Ref | None = None
    is_inactive: bool | None = None
    last_modified_date: dt.datetime | None = None


class Location(NetSuiteRecord):
    """``location``."""

    id: str | None = None
    external_id: str | None = None
    name: str | None = None
    subsidiary: Ref | None = None
    is_inactive: bool | None = None


class ItemRecord(NetSuiteRecord):
    """Fields shared by the item record types (REST has one type per item type, no plain item)."""

    id: str | None = None
    external_id: str | None = None
    item_id: str | None = None
    display_name: str | None = None
    description: str | None = None
    upc_code: str | None = None
    is_inactive: bool | None = None
    item_type: Ref | str | None = None
    subsidiary: Ref | None = None
    last_modified_date: dt.datetime | None = None


class InventoryItem(ItemRecord):
    """``inventoryItem``."""

    cost: Decimal | None = None
    average_cost: Decimal | None = None
    costing_method: Ref | str | None = None


class NonInventorySaleItem(ItemRecord):
    """``nonInventorySaleItem``."""


class ServiceSaleItem(ItemRecord):
    """``serviceSaleItem``."""


class OtherChargeSaleItem(ItemRecord):
    """``otherChargeSaleItem`` (e.g. freight or surcharge lines)."""


class DiscountItem(ItemRecord):
    """``discountItem``."""

    rate: Decimal | str | None = None
