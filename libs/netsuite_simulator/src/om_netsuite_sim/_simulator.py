"""The in-memory simulator: accounts, their credentials, records, governance and statistics."""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from . import _actions, _tax
from ._db import DEFAULT_TIME_ZONE, create_database, set_time_zone
from ._faults import Faults
from ._jobs import Jobs
from ._records import RecordStore, record_type
from ._responses import ApiError
from ._sql import SqlMirror
from ._tba import TIMESTAMP_WINDOW, TbaCredentials

__all__ = ["Account", "AuthFailure", "OAuth2Client", "SchemaViolation", "Simulator"]

Record = dict[str, Any]
_REQUEST_LOG_SIZE = 10_000
MAX_ACTIVE_CERTIFICATES = 5
"""Active certificates per client-credentials integration record since 2026.1 (issue 22; the Oracle
page stating it was not found: unconfirmed)."""
_SEED_LISTS: dict[str, list[tuple[str, str]]] = {
    "subsidiary": [("1", "Parent Company")],
    "currency": [("1", "AUD"), ("2", "USD")],
    "department": [("1", "Sales"), ("2", "Operations")],
    "classification": [("1", "Wholesale"), ("4", "Online")],
    "employee": [("3", "Sam Sales")],
    "account": [("1", "Undeposited Funds"), ("112", "Operating Bank Account"), ("120", "AR")],
    "term": [("1", "Net 30")],
}


class AuthFailure(NamedTuple):
    """One login-audit-trail entry: ``reason`` as NetSuite names it, when, and how it came in.

    A tuple, so ``reason, *_ = failure`` and ``failure.reason`` both work.
    """

    reason: str
    at: float
    method: str
    path: str


class SchemaViolation(NamedTuple):
    """A request the simulator refused because it breaks a published NetSuite reference:
    ``kind`` "record" (a body against the REST API Browser schema, ``_schema``) or "suiteql"
    (a query against the column catalogue, ``_catalog``)."""

    kind: str
    method: str
    path: str
    code: str
    detail: str
    error_path: str


@dataclass
class OAuth2Certificate:
    """One certificate uploaded to an OAuth 2.0 client-credentials mapping (Oracle help
    section_162686838198: revoked or expired certificates stop working until a new mapping)."""

    certificate_id: str
    public_key_pem: str
    expires_at: float | None = None
    """Epoch seconds of the certificate's notAfter; None: never expires in the simulation."""
    revoked: bool = False


@dataclass
class OAuth2Client:
    """An OAuth 2.0 client-credentials integration record and its uploaded certificates."""

    client_id: str
    certificates: dict[str, OAuth2Certificate] = field(default_factory=dict)


class Account:
    """One NetSuite account: credentials, records, governance, faults and counters."""

    def __init__(
        self,
        account_id: str,
        credentials: TbaCredentials,
        concurrency_limit: int,
        clock: Callable[[], float],
        time_zone: str = DEFAULT_TIME_ZONE,
    ) -> None:
        self.account_id = account_id
        self.time_zone = time_zone
        """The integration user's time-zone preference: SuiteQL date-times are shown in it."""
        self.credentials = credentials
        self.concurrency_limit = concurrency_limit
        self.clock = clock
        self.faults = Faults()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.auth_failures: list[AuthFailure] = []
        self.schema_violations: list[SchemaViolation] = []
        self.request_log: deque[tuple[str, str, int]] = deque(maxlen=_REQUEST_LOG_SIZE)
        self.counters: Counter[str] = Counter()
        self.oauth2_clients: dict[str, OAuth2Client] = {}
        self.jobs = Jobs()
        self.governance: dict[str, Any] = {
            "accountConcurrencyLimit": concurrency_limit,
            "accountUnallocatedConcurrencyLimit": concurrency_limit,
            "integrationLimitType": "accountLimit",
        }
        self._nonces: dict[tuple[str, str, str], float] = {}
        self.denied_permissions: set[str] = set()
        """Lower-case names of the permissions the token's role lacks (`_roles.py`)."""
        self.db = create_database(time_zone)
        self.store = RecordStore(SqlMirror(self.db), self._now_text)
        for type_name, entries in _SEED_LISTS.items():
            for rid, name in entries:
                # A currency's symbol is its ISO code (SuiteQL `currency.symbol`).
                self._seed_list(type_name, rid, name, **({"symbol": name} if type_name == "currency" else {}))
        for rid, name, rate in _tax.SEEDED_TAX_CODES:
            self._seed_list("salesTaxItem", rid, name, itemId=name, rate=rate)

    # ---- clock and replay protection ----------------------------------------------------
    def _now_text(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def nonce_seen(self, nonce: str, timestamp: str, token: str) -> bool:
        """Record (nonce, timestamp, token); True if it was already used inside the window."""
        now = self.clock()
        if len(self._nonces) > 100_000:
            cutoff = now - 2 * TIMESTAMP_WINDOW
            self._nonces = {k: v for k, v in self._nonces.items() if v >= cutoff}
        key = (nonce, timestamp, token)
        if key in self._nonces:
            return True
        self._nonces[key] = now
        return False

    def rotate_token(self, token_id: str | None = None, token_secret: str | None = None) -> TbaCredentials:
        """Replace the access token (the old one is revoked: NetSuite answers 401 to it); returns
        the new credentials, same integration record (consumer key and secret)."""
        self.credentials = TbaCredentials(
            consumer_key=self.credentials.consumer_key,
            consumer_secret=self.credentials.consumer_secret,
            token_id=token_id or secrets.token_hex(32),
            token_secret=token_secret or secrets.token_hex(32),
        )
        return self.credentials

    def set_role(self, denied: list[str] | set[str]) -> None:
        """The permissions the token's role lacks, by NetSuite's names (e.g. 'Customer Deposit')."""
        self.denied_permissions = {name.lower() for name in denied}

    def set_time_zone(self, time_zone: str) -> None:
        """Change the user's time-zone preference (IANA name, e.g. 'America/Los_Angeles')."""
        with self.store.sql.lock:
            set_time_zone(self.db, time_zone)
        self.time_zone = time_zone

    def reset_peak(self) -> None:
        """Start measuring peak concurrency again from the current in-flight count."""
        self.peak_in_flight = self.in_flight

    def stats(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "concurrency_limit": self.concurrency_limit,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "counters": dict(self.counters),
            "auth_failures": [f.reason for f in self.auth_failures],
            "denied_permissions": sorted(self.denied_permissions),
            "requests": len(self.request_log),
            "schema_violations": [v._asdict() for v in self.schema_violations],
        }

    # ---- seeding (acting as a NetSuite user) --------------------------------------------
    def _seed_list(self, type_name: str, rid: str, name: str, **fields: Any) -> None:
        rtype = record_type(type_name)
        now = self._now_text()
        record = {"_type": rtype.name, "id": rid, "name": name, "_created": now, "_modified": now, **fields}
        self.store.by_family.setdefault(rtype.family, {})[rid] = record
        self.store.sql.save(self.store, rtype, record)

    def add_reference(self, type_name: str, rid: str, name: str) -> str:
        """Add a list entry (department, classification, employee, account, ...) with a fixed id."""
        self._seed_list(type_name, str(rid), name)
        return str(rid)

    def create(self, type_name: str, body: Record) -> str:
        """Create any record as the REST API would; returns the internal id."""
        return self.store.create(record_type(type_name), body)

    def add_customer(
        self, company_name: str, *, external_id: str | None = None, email: str | None = None,
        **fields: Any,
    ) -> str:  # fmt: skip
        body: Record = {"companyName": company_name, "subsidiary": {"id": "1"}, **fields}
        if external_id is not None:
            body["externalId"] = external_id
        if email is not None:
            body["email"] = email
        return self.create("customer", body)

    def add_tax_code(self, name: str, rate_percent: Decimal | str, *, rid: str | None = None) -> str:
        """A legacy tax code (``salesTaxItem``) with its rate in percent; fixed id or the next one."""
        if rid is None:
            rid = self.store._next_id("salestaxitem")
        self._seed_list("salesTaxItem", str(rid), name, itemId=name, rate=Decimal(str(rate_percent)))
        return str(rid)

    def add_item(
        self, item_id: str, display_name: str | None = None, *, item_type: str = "inventoryItem",
        base_price: Decimal | str | None = None, external_id: str | None = None,
        tax_code: str | None = None, **fields: Any,
    ) -> str:  # fmt: skip
        """An item; ``tax_code`` is its default (sales) tax code, e.g. "7" (GST) or "8" (GST-free)."""
        body: Record = {"itemId": item_id, "displayName": display_name or item_id, **fields}
        if tax_code is not None:
            body["salesTaxCode"] = {"id": str(tax_code)}
        if base_price is not None:
            body["basePrice"] = str(base_price)
        if external_id is not None:
            body["externalId"] = external_id
        return self.create(item_type, body)

    def add_location(self, name: str, *, external_id: str | None = None) -> str:
        body: Record = {"name": name}
        if external_id is not None:
            body["externalId"] = external_id
        return self.create("location", body)

    def set_stock(
        self, item_id: str, location_id: str, *, on_hand: Decimal | str | int,
        available: Decimal | str | int | None = None,
    ) -> None:  # fmt: skip
        """Set one item's quantities at one location (``inventoryitemlocations`` row)."""
        item = self.store.find("item", str(item_id))
        if item is None or self.store.find("location", str(location_id)) is None:
            raise ApiError(400, "INVALID_CONTENT", "Unknown item or location.")
        on_hand_d = Decimal(str(on_hand))
        available_d = on_hand_d if available is None else Decimal(str(available))
        self.store.sql.set_stock(int(item_id), int(location_id), on_hand_d, available_d, self._now_text())

    def records(self, type_name: str) -> list[Record]:
        """Every stored record of a type (documents with internal ``_`` keys)."""
        return self.store.records(type_name)

    def record(self, type_name: str, rid: str) -> Record:
        return self.store.get(record_type(type_name), str(rid))

    def bill_sales_order(self, so_id: str, body: Record | None = None) -> str:
        """Transform a sales order into an invoice (what the billing clerk does); invoice id."""
        return self.transform("salesOrder", str(so_id), "invoice", body or {})

    def create_credit_memo(self, invoice_id: str, body: Record | None = None) -> str:
        """Credit an invoice (transform invoice -> creditMemo, applied to it); credit memo id."""
        return self.transform("invoice", str(invoice_id), "creditMemo", body or {})

    def record_customer_payment(
        self, customer_id: str, amount: Decimal | str, applications: dict[str, Decimal | str]
        | None = None, **fields: Any,
    ) -> str:  # fmt: skip
        """Record a payment, applied to invoices ``{invoice_id: amount}`` (rest unapplied)."""
        body: Record = {"customer": {"id": str(customer_id)}, "payment": str(amount), **fields}
        if applications:
            body["apply"] = {
                "items": [
                    {"doc": {"id": str(k)}, "apply": True, "amount": str(v)} for k, v in applications.items()
                ]
            }
        return self.create("customerPayment", body)

    def update(self, type_name: str, rid: str, body: Record, *, replace: tuple[str, ...] = ()) -> str:
        """Edit a record as a NetSuite user (PATCH semantics; ``replace`` names sublists)."""
        return self.store.update(record_type(type_name), str(rid), body, set(replace))

    def delete(self, type_name: str, rid: str) -> None:
        """Delete a record; it is logged in SuiteQL's ``deletedrecord``."""
        self.store.delete(record_type(type_name), str(rid))

    def void_invoice(self, invoice_id: str) -> None:
        """Void an invoice (refused while payments or credits are applied)."""
        _actions.void_invoice(self.store, self.record("invoice", invoice_id))

    def close_sales_order(self, so_id: str) -> None:
        _actions.close_sales_order(self.store, self.record("salesOrder", so_id))

    def cancel_sales_order(self, so_id: str) -> None:
        _actions.cancel_sales_order(self.store, self.record("salesOrder", so_id))

    def transform(self, source_type: str, source_id: str, target: str, body: Record) -> str:
        """``POST /{source}/{id}/!transform/{target}`` semantics; returns the new record id."""
        src_type = record_type(source_type)
        source = self.store.get(src_type, source_id)
        target_type = record_type(target)
        new_body = _actions.transform(source, target_type.name, body)
        new_id = self.store.create(target_type, new_body)
        if src_type.name == "salesOrder":
            invoice = self.store.get(target_type, new_id)
            _actions.mark_billed(self.store, source, invoice)
            _actions.apply_order_deposits(self.store, source, invoice)
        return new_id


class Simulator:
    """All simulated NetSuite accounts, in memory. ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.bearer_tokens: dict[str, tuple[str, float]] = {}
        self.oauth2_token_lifetime = 3600.0
        """Seconds an OAuth 2.0 access token lives (NetSuite: 60 minutes, section_162755359851)."""
        self.tokens_issued = 0

    def add_account(
        self, account_id: str, concurrency_limit: int = 5, *,
        credentials: TbaCredentials | None = None, time_zone: str = DEFAULT_TIME_ZONE,
    ) -> TbaCredentials:  # fmt: skip
        """Create an account (realm ``account_id``, e.g. ``1234567_SB1``) and its TBA secrets;
        ``time_zone`` is its user's time-zone preference (SuiteQL date-times, default Sydney)."""
        if credentials is None:
            credentials = TbaCredentials(
                consumer_key=secrets.token_hex(32),
                consumer_secret=secrets.token_hex(32),
                token_id=secrets.token_hex(32),
                token_secret=secrets.token_hex(32),
            )
        if account_id in self.accounts:
            raise ValueError(f"account {account_id} already exists")
        self.accounts[account_id] = Account(account_id, credentials, concurrency_limit, self.clock, time_zone)
        return credentials

    def account(self, account_id: str) -> Account:
        return self.accounts[account_id]

    def add_oauth2_client(
        self,
        account_id: str,
        *,
        client_id: str,
        certificate_id: str,
        public_key_pem: str,
        expires_at: float | None = None,
    ) -> None:
        """Map a certificate to an OAuth 2.0 client-credentials integration record of an account
        (a second certificate for the same client is a rotation: both work until one is revoked)."""
        clients = self.accounts[account_id].oauth2_clients
        client = clients.setdefault(client_id, OAuth2Client(client_id))
        active = [c for c in client.certificates.values() if not c.revoked]
        if len(active) >= MAX_ACTIVE_CERTIFICATES and certificate_id not in client.certificates:
            raise ValueError(f"client {client_id} already has {MAX_ACTIVE_CERTIFICATES} active certificates")
        client.certificates[certificate_id] = OAuth2Certificate(certificate_id, public_key_pem, expires_at)

    def revoke_oauth2_certificate(self, account_id: str, *, client_id: str, certificate_id: str) -> None:
        """Revoke a certificate (the Revoke button of the M2M setup page); its assertions are refused."""
        self.accounts[account_id].oauth2_clients[client_id].certificates[certificate_id].revoked = True

    def account_for_realm(self, realm: str) -> Account | None:
        return self.accounts.get(realm)

    def account_for_realm_ignoring_case(self, realm: str) -> Account | None:
        upper = realm.upper()
        return next((a for k, a in self.accounts.items() if k.upper() == upper), None)

    def expire_bearers(self, account_id: str) -> int:
        """Expire every access token of the account now (as if their hour had passed); returns how many."""
        now = self.clock()
        mine = [
            t for t, (owner, expires) in self.bearer_tokens.items() if owner == account_id and expires > now
        ]
        for token in mine:
            self.bearer_tokens[token] = (account_id, now)
        return len(mine)

    def issue_bearer(self, account_id: str, lifetime: float = 3600.0) -> str:
        self.tokens_issued += 1
        self.accounts[account_id].counters["oauth2 token"] += 1
        token = secrets.token_urlsafe(48)
        self.bearer_tokens[token] = (account_id, self.clock() + lifetime)
        return token
