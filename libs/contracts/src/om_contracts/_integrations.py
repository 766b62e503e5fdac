"""``ordermentum.integrations.v1`` (compacted): a supplier's NetSuite Integration settings.

CONTRACTS.md, ``integration``. Event types ``integration.netsuite.configured`` and
``integration.netsuite.disconnected``; a null value (tombstone) also disconnects.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from om_contracts._base import InboundModel
from om_contracts._credentials import AnyCredentials
from om_contracts._envelope import Envelope, Tombstone
from om_contracts._ids import AccountId, NetSuiteId, OrdermentumId
from om_contracts._json import loads
from om_contracts._limits import MAX_LOCATION_IDS, MAX_MAPPINGS, MAX_TAX_CODES
from om_contracts._properties import PropertyName


class HasIdAndProperties(Protocol):
    """A customer or product: an Ordermentum id and NetSuite properties."""

    @property
    def id(self) -> str: ...

    def property(self, name: PropertyName) -> str | None: ...


MAX_CONCURRENCY_LIMIT = 100
"""Upper bound for ``concurrency_limit``; NetSuite accounts rarely exceed a few dozen slots."""


class SyncType(StrEnum):
    """Which Ordermentum record becomes a NetSuite transaction: orders or invoices."""

    ORDERS = "orders"
    INVOICES = "invoices"


class StockField(StrEnum):
    """Which NetSuite stock figure is published: Available or On Hand."""

    AVAILABLE = "available"
    ON_HAND = "on_hand"


def _at_most(field: str, count: int, bound: int) -> None:
    """Refuse a list or map of the settings with more entries than its bound, before its entries
    are validated (CONTRACTS.md "Limits on input")."""
    if count > bound:
        raise PydanticCustomError(
            field, "has {count} entries; at most {bound} are accepted", {"count": count, "bound": bound}
        )


def _location_list(value: Any) -> Any:
    # Suppliers type "3,1,2"; a JSON list ("[3,1,2]" or an actual list) is accepted too. JSON in
    # the string goes through the same bounded decoder as the event (depth, length, numbers).
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = loads(text)
            except ValueError:
                raise PydanticCustomError(
                    "location_ids", "must be a comma-separated list of numbers such as '3,1,2'"
                ) from None
        else:
            _at_most("location_ids", text.count(",") + 1, MAX_LOCATION_IDS)
            return tuple(part.strip() for part in text.split(",") if part.strip())
    if isinstance(value, list | tuple):
        _at_most("location_ids", len(value), MAX_LOCATION_IDS)
        return tuple(str(item).strip() if isinstance(item, int | str) else item for item in value)
    return value


LocationIds = Annotated[
    tuple[NetSuiteId, ...],
    Field(
        description=(
            "NetSuite location internal ids, as a comma-separated string ('3,1,2') or a list; "
            "the first is the default location."
        )
    ),
]


class StockSettings(InboundModel):
    """Stock sync settings (NetSuite -> Ordermentum)."""

    enabled: bool = Field(default=False, description="Whether stock levels are synced.")
    field: StockField = Field(
        default=StockField.AVAILABLE, description="NetSuite figure: 'available' or 'on_hand'."
    )
    location_ids: LocationIds = Field(default=(), validate_default=True)
    interval_minutes: int = Field(
        default=15,
        ge=1,
        le=1440,
        strict=True,
        description="Minutes between stock polls (1 to 1440), a JSON integer.",
    )

    @field_validator("location_ids", mode="before")
    @classmethod
    def _parse_locations(cls, value: Any) -> Any:
        return _location_list(value)

    @field_validator("location_ids")
    @classmethod
    def _locations_when_enabled(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.data.get("enabled") and not value:
            raise PydanticCustomError(
                "location_ids", "at least one location is required when stock sync is enabled"
            )
        return value

    @property
    def default_location_id(self) -> str | None:
        """The first location, which the stock event reports ``quantity`` for."""
        return self.location_ids[0] if self.location_ids else None


class TransactionClassification(InboundModel):
    """Class, location and department put on a NetSuite transaction."""

    class_id: NetSuiteId | None = Field(default=None, description="NetSuite class internal id.")
    location_id: NetSuiteId | None = Field(default=None, description="NetSuite location internal id.")
    department_id: NetSuiteId | None = Field(default=None, description="NetSuite department internal id.")


class AutoReconciliationSettings(InboundModel):
    """How Ordermentum payments (customer payments) and payouts (deposits) are recorded."""

    enabled: bool = Field(default=False, description="Whether auto-reconciliation runs.")
    bank_account_id: NetSuiteId | None = Field(
        default=None,
        validate_default=True,
        description="NetSuite bank account internal id that payouts deposit into.",
    )
    payment: TransactionClassification = Field(
        default_factory=TransactionClassification,
        description="Classification of customer payments.",
    )
    deposit: TransactionClassification = Field(
        default_factory=TransactionClassification, description="Classification of deposits."
    )
    fees_account_id: NetSuiteId | None = Field(
        default=None,
        description=(
            "NetSuite account internal id that payout fees are booked to, as a negative line of the "
            "bank deposit, so the deposit equals the amount that reached the bank. Without it the "
            "deposit is booked gross and the netsuite.payout.deposited outcome says so."
        ),
    )

    @field_validator("bank_account_id")
    @classmethod
    def _bank_account_when_enabled(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("enabled") and value is None:
            raise PydanticCustomError("bank_account_id", "is required when auto-reconciliation is enabled")
        return value


class IntegrationSettings(InboundModel):
    """The NetSuite Integration settings a supplier saves in Ordermentum (``integration``)."""

    account_id: AccountId
    credentials: AnyCredentials = Field(
        description=(
            "TBA credentials (kind absent or 'tba') or OAuth 2.0 client credentials (kind "
            "'oauth2_m2m'), secrets sealed with NETSUITE_CREDENTIALS_KEYS."
        )
    )
    sync_type: SyncType = Field(
        description="'orders' (orders become sales orders) or 'invoices' (invoices become invoices)."
    )
    concurrency_limit: int = Field(
        default=5,
        ge=1,
        le=MAX_CONCURRENCY_LIMIT,
        strict=True,
        description=(
            "Concurrent NetSuite requests these services together may use for the account, a JSON integer."
        ),
    )
    stock: StockSettings = Field(default_factory=StockSettings, description="Stock sync settings.")
    auto_reconciliation: AutoReconciliationSettings = Field(
        default_factory=AutoReconciliationSettings,
        description="Payment and payout recording settings.",
    )
    finalised_invoice_sync: bool = Field(
        default=False,
        description="Publish NetSuite invoices finalised from synced orders; needs sync_type 'orders'.",
    )
    inbound_credit_notes: bool = Field(
        default=False, description="Publish NetSuite credit memos to Ordermentum."
    )
    mark_invoices_paid: bool = Field(default=False, description="Publish NetSuite invoices that became paid.")
    surcharge_item_id: NetSuiteId | None = Field(
        default=None, description="NetSuite item internal id used for the surcharge line."
    )
    tax_codes: dict[str, NetSuiteId] | None = Field(
        default=None,
        description=(
            "Ordermentum tax rate (decimal fraction string, 0 to 1) -> NetSuite tax code internal id, "
            "e.g. {'0.10': '7', '0': '8'}. When present every transaction line, freight and surcharge "
            "included, carries the taxCode of its rate (a line without a rate, and the surcharge, "
            "count as rate 0); a rate with no entry fails the record with UNMAPPED_TAX_RATE. Rates "
            "match by value ('0.1' is '0.10'). Absent: NetSuite applies the item's or customer's "
            "default tax code."
        ),
    )
    product_mappings: dict[OrdermentumId, NetSuiteId] = Field(
        default_factory=dict, description="Ordermentum product id -> NetSuite item internal id."
    )
    customer_mappings: dict[OrdermentumId, NetSuiteId] = Field(
        default_factory=dict,
        description="Ordermentum customer id -> NetSuite customer internal id.",
    )

    def netsuite_customer_id(self, customer: HasIdAndProperties) -> str | None:
        """NetSuite customer id from the Customer Fields tab, else the record's ``netsuite_id``.

        The third step of CONTRACTS.md's precedence (the latest ``customer.upserted`` seen)
        needs state and belongs to the service.
        """
        return self.customer_mappings.get(customer.id) or customer.property("netsuite_id")

    def netsuite_item_id(self, product: HasIdAndProperties) -> str | None:
        """NetSuite item id from the Product Fields tab, else the record's ``netsuite_id``."""
        return self.product_mappings.get(product.id) or product.property("netsuite_id")

    def tax_code_for(self, rate: Decimal | None) -> str | None:
        """The NetSuite tax code of an Ordermentum tax rate (None = rate 0), matched by value.

        None when ``tax_codes`` is absent or has no entry for the rate.
        """
        if not self.tax_codes:
            return None
        wanted = rate if rate is not None else Decimal(0)
        for text, code in self.tax_codes.items():
            if Decimal(text) == wanted:
                return code
        return None

    @field_validator("tax_codes", "product_mappings", "customer_mappings", mode="before")
    @classmethod
    def _bounded_maps(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            bound = MAX_TAX_CODES if info.field_name == "tax_codes" else MAX_MAPPINGS
            _at_most(info.field_name or "", len(value), bound)
        return value

    @field_validator("tax_codes")
    @classmethod
    def _tax_rates_are_fractions(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        seen: dict[Decimal, str] = {}
        for text in value:
            rate = _tax_rate(text)
            if rate in seen:
                raise PydanticCustomError(
                    "tax_codes",
                    "rates '{first}' and '{second}' are the same rate",
                    {"first": seen[rate], "second": text},
                )
            seen[rate] = text
        return value

    @field_validator("finalised_invoice_sync")
    @classmethod
    def _finalised_needs_orders(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("sync_type") == SyncType.INVOICES:
            raise PydanticCustomError(
                "finalised_invoice_sync",
                "requires sync_type 'orders': with 'invoices' the invoices already come from Ordermentum",
            )
        return value


_RATE_TEXT = "a decimal fraction between 0 and 1 such as '0.10' or '0'"


def _tax_rate(text: str) -> Decimal:
    """A ``tax_codes`` key as a rate; refuses anything but a plain fraction in [0, 1]."""
    stripped = text.strip()
    if stripped != text or not stripped or stripped.startswith(("+", "-")) or "e" in stripped.lower():
        raise PydanticCustomError("tax_codes", "rate '{rate}' must be " + _RATE_TEXT, {"rate": text})
    try:
        rate = Decimal(stripped)
    except InvalidOperation:
        raise PydanticCustomError(
            "tax_codes", "rate '{rate}' must be " + _RATE_TEXT, {"rate": text}
        ) from None
    if not rate.is_finite() or rate < 0 or rate > 1:
        raise PydanticCustomError("tax_codes", "rate '{rate}' must be " + _RATE_TEXT, {"rate": text})
    return rate


class DisconnectedIntegration(InboundModel):
    """Payload of ``integration.netsuite.disconnected``: only the account id, if any, is read."""

    account_id: AccountId | None = Field(
        default=None, description="NetSuite account id that was disconnected, if given."
    )


class IntegrationConfigured(Envelope[IntegrationSettings]):
    """A supplier saved (or changed) its NetSuite Integration settings."""

    event_type: Literal["integration.netsuite.configured"] = Field(
        default="integration.netsuite.configured", description="Always 'integration.netsuite.configured'."
    )


class IntegrationDisconnected(Envelope[DisconnectedIntegration]):
    """A supplier disconnected NetSuite; its settings must be forgotten."""

    event_type: Literal["integration.netsuite.disconnected"] = Field(
        default="integration.netsuite.disconnected", description="Always 'integration.netsuite.disconnected'."
    )


IntegrationEvent = Annotated[
    IntegrationConfigured | IntegrationDisconnected, Field(discriminator="event_type")
]


def integration_settings(
    record: IntegrationConfigured | IntegrationDisconnected | Tombstone,
) -> IntegrationSettings | None:
    """The settings a compacted-topic record leaves in force: ``None`` means disconnected."""
    if isinstance(record, IntegrationConfigured):
        return record.data
    return None
