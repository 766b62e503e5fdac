"""Record types, field names and status tables (REST API Browser 2026.1, Help section_1545141395)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RECORD_TYPES", "REF_FIELDS", "STATUS_LABELS", "RecordType", "canonical_field"]


@dataclass(frozen=True)
class RecordType:
    """One REST record type; ``family`` names the id space and SuiteQL table it lives in."""

    name: str
    family: str
    code: str = ""
    prefix: str = ""
    label: str = ""


_ALL = [
    RecordType("customer", "customer", label="Customer"),
    RecordType("inventoryItem", "item", "InvtPart", label="Inventory Item"),
    RecordType("nonInventorySaleItem", "item", "NonInvtPart", label="Non-inventory Item"),
    RecordType("nonInventoryResaleItem", "item", "NonInvtPart", label="Non-inventory Item"),
    RecordType("serviceSaleItem", "item", "Service", label="Service"),
    RecordType("otherChargeSaleItem", "item", "OthCharge", label="Other Charge"),
    RecordType("discountItem", "item", "Discount", label="Discount"),
    # Legacy tax codes (SuiteTax off): in NetSuite they are items of type TaxItem; here they have
    # their own id space and SuiteQL table (``salestaxitem``) so catalog scans never meet them.
    RecordType("salesTaxItem", "salestaxitem", "TaxItem", label="Tax Code"),
    RecordType("location", "location", label="Location"),
    RecordType("salesOrder", "transaction", "SalesOrd", "SO", "Sales Order"),
    RecordType("invoice", "transaction", "CustInvc", "INV", "Invoice"),
    RecordType("creditMemo", "transaction", "CustCred", "CM", "Credit Memo"),
    RecordType("customerPayment", "transaction", "CustPymt", "PYMT", "Payment"),
    RecordType("customerDeposit", "transaction", "CustDep", "DEP", "Customer Deposit"),
    RecordType("deposit", "transaction", "Deposit", "BD", "Deposit"),
    RecordType("depositApplication", "transaction", "DepAppl", "DA", "Deposit Application"),
    # Lists that references point at; seeded per account, editable through the admin API.
    RecordType("department", "department", label="Department"),
    RecordType("classification", "classification", label="Class"),
    RecordType("employee", "employee", label="Employee"),
    RecordType("account", "account", label="Account"),
    RecordType("subsidiary", "subsidiary", label="Subsidiary"),
    RecordType("currency", "currency", label="Currency"),
    RecordType("term", "term", label="Term"),
]
#: Keyed by lower-case name: NetSuite matches record type names case-insensitively.
RECORD_TYPES: dict[str, RecordType] = {t.name.lower(): t for t in _ALL}

#: Reference fields and the family their id must exist in.
REF_FIELDS: dict[str, str] = {
    "entity": "customer",
    "customer": "customer",
    "item": "item",
    "location": "location",
    "department": "department",
    "class": "classification",
    "salesRep": "employee",
    "account": "account",
    "arAcct": "account",
    "subsidiary": "subsidiary",
    "currency": "currency",
    "terms": "term",
    "createdFrom": "transaction",
    "salesOrder": "transaction",
    "doc": "transaction",
    "shipMethod": "item",
    "discountItem": "item",
    "taxCode": "salestaxitem",  # a transaction line's tax code
    "salesTaxCode": "salestaxitem",  # an item's default tax code
    "taxItem": "salestaxitem",  # a customer's (or transaction's) default tax code
}

MONEY_FIELDS = frozenset(
    {
        "quantity",
        "rate",
        "amount",
        "payment",
        "shippingCost",
        "handlingCost",
        "cost",
        "basePrice",
        "quantityBilled",
        "exchangeRate",
    }
)
SUBLISTS = frozenset({"item", "apply", "credit", "deposit", "payment", "addressBook", "other", "cashback"})

_KNOWN = [
    *REF_FIELDS,
    *MONEY_FIELDS,
    *SUBLISTS,
    "tranDate", "tranId", "otherRefNum", "memo", "externalId", "shipDate", "dueDate",
    "undepFunds", "autoApply", "status", "orderStatus", "companyName", "entityId", "email",
    "phone", "firstName", "lastName", "isPerson", "isInactive", "itemId", "displayName",
    "description", "upcCode", "name", "toBeEmailed", "isClosed", "orderLine", "line",
    "applyDate", "checkNumber", "approvalStatus", "closeDate", "symbol", "taxTotal", "voided",
]  # fmt: skip
_CANONICAL = {name.lower(): name for name in _KNOWN}


def canonical_field(name: str) -> str:
    """NetSuite field names are case-insensitive on input; store them in schema case."""
    return _CANONICAL.get(name.lower(), name)


STATUS_LABELS: dict[str, dict[str, str]] = {
    "SalesOrd": {
        "A": "Pending Approval",
        "B": "Pending Fulfillment",
        "C": "Cancelled",
        "D": "Partially Fulfilled",
        "E": "Pending Billing/Partially Fulfilled",
        "F": "Pending Billing",
        "G": "Billed",
        "H": "Closed",
    },
    "CustInvc": {"A": "Open", "B": "Paid In Full"},
    "CustCred": {"A": "Open", "B": "Fully Applied"},
    "CustPymt": {"A": "Unapproved Payment", "B": "Not Deposited", "C": "Deposited"},
    "CustDep": {"A": "Not Deposited", "B": "Deposited", "C": "Fully Applied"},
}
