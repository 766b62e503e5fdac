"""One NetSuite client per process and a session per supplier, built from its integration.

The concurrency budget lives in a MongoDB collection shared by all three services (setting
`NETSUITE_BUDGET_DATABASE`, collection `netsuite_shares`), because NetSuite's limit is per account,
whoever calls: each process holds a leased share of each account's limit (om_platform.adapters.budget.MongoBudget)
and spends it without touching MongoDB; the runtime supervises its renewal loop.
Credentials are opened from their sealed form only here, in memory, and cached as the client's
secret-typed auth objects, keyed by a digest of the sealed tokens so a credential rotation in the
integration takes effect at once. Either kind of `integration.credentials` works: TBA signs every
request (`TbaAuth`); OAuth 2.0 client credentials (`oauth2_m2m`) mint a bearer token with a signed
JWT assertion, cached per supplier until shortly before it expires and minted by one caller at a
time (`OAuth2ClientCredentials`). A rotation (new certificate id and key) builds a new auth object:
requests already sent keep the old token, which stays valid until it expires, so none fails.

Every session carries its supplier's `SupplierGuard` when a `ConnectionMonitor` is given: the
per-supplier circuit breaker of `om_platform.adapters.connections` sees every request of all three services
and refuses to send any while NetSuite refuses the supplier's login or cannot be reached.
"""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import Tracer
from pymongo.asynchronous.database import AsyncDatabase

from om_contracts import CredentialError, IntegrationSettings, KeyRing
from om_netsuite import (
    Auth,
    NetSuiteClient,
    NetSuiteSession,
    OAuth2ClientCredentials,
    RequestRetryPolicy,
    TbaAuth,
    TbaCredentials,
)
from om_platform.adapters.budget import LeaseTiming, MongoBudget
from om_platform.adapters.connections import ConnectionMonitor
from om_platform.core.connections import credentials_fingerprint
from om_platform.metrics import Metrics

#: The budget's collection in `NETSUITE_BUDGET_DATABASE`: one document per account in use.
BUDGET_COLLECTION = "netsuite_shares"


def open_auth(keyring: KeyRing, integration: IntegrationSettings) -> Auth:
    """The integration's auth, its secrets opened with `keyring` (`CredentialError` when a value does
    not open, or an M2M private key is not an RSA or EC P-256 PEM key)."""
    creds = integration.credentials
    if creds.kind == "tba":
        opened = creds.open(keyring)
        return TbaAuth(
            integration.account_id,
            TbaCredentials(
                consumer_key=opened.client_id,
                consumer_secret=opened.client_secret,
                token_id=opened.token_id,
                token_secret=opened.token_secret,
            ),
        )
    expires = creds.certificate_expires_at
    try:
        return OAuth2ClientCredentials(
            integration.account_id,
            client_id=keyring.open(creds.client_id),
            certificate_id=keyring.open(creds.certificate_id).get_secret_value(),
            private_key_pem=keyring.open(creds.private_key),
            certificate_expires_at=expires.timestamp() if expires is not None else None,
        )
    except ValueError as exc:  # the key itself is unusable: a credential problem, named
        raise CredentialError(f"cannot use the oauth2_m2m private_key: {exc}") from None


class NetSuiteAccess:
    def __init__(
        self,
        keyring: KeyRing,
        metrics: Metrics,
        *,
        base_url_override: str | None,
        timeout_s: float,
        budget_db: AsyncDatabase[dict[str, Any]],
        retry: RequestRetryPolicy | None = None,
        budget_timing: LeaseTiming | None = None,
        holder_name: str = "service",
        tracer: Tracer | None = None,
        connections: ConnectionMonitor | None = None,
    ) -> None:
        self._keyring = keyring
        self._metrics = metrics
        self._connections = connections
        self.budget = MongoBudget(
            budget_db[BUDGET_COLLECTION],
            timing=budget_timing,
            name=f"{holder_name}@{socket.gethostname()}/{os.getpid()}",
            on_operation=self._observe_budget_operation,
            on_share_change=self._observe_share_change,
        )
        metrics.budget_granted.set_function(self.budget.granted)
        metrics.budget_accounts.set_function(self.budget.accounts_held)
        self.client = NetSuiteClient(
            base_url_override=base_url_override,
            budget=self.budget,
            timeout=timeout_s,
            retry=retry,
            on_request=self._observe_request,
            on_budget_wait=self._observe_budget_wait,
            on_budget_timeout=self._observe_budget_timeout,
            attempt_deadline=self.budget.timing.attempt_deadline_s,
            tracer=tracer,
        )
        self._auth: dict[str, tuple[str, Auth]] = {}

    def session(
        self, supplier_id: str, integration: IntegrationSettings, *, probe: bool = False
    ) -> NetSuiteSession:
        """The supplier's session; a `probe` session is never refused by the open breaker it probes."""
        fingerprint = hashlib.sha256(
            f"{integration.account_id}|{integration.credentials.fingerprint()}".encode()
        ).hexdigest()
        cached = self._auth.get(supplier_id)
        if cached is None or cached[0] != fingerprint:
            cached = (fingerprint, open_auth(self._keyring, integration))
            self._auth[supplier_id] = cached
        auth = cached[1]
        expires = auth.certificate_expires_at if isinstance(auth, OAuth2ClientCredentials) else None
        guard = (
            self._connections.guard(
                supplier_id,
                integration.account_id,
                probe=probe,
                credentials_expire_at=datetime.fromtimestamp(expires, UTC) if expires is not None else None,
                credentials=credentials_fingerprint(integration),
            )
            if self._connections is not None
            else None
        )
        return self.client.session(
            integration.account_id, cached[1], integration.concurrency_limit, guard=guard
        )

    async def aclose(self) -> None:
        """Close the connection pool, then return every share of the budget (nothing is in flight)."""
        await self.client.aclose()
        await self.budget.aclose()

    def _observe_request(self, operation: str, status: int | None, seconds: float, account_id: str) -> None:
        self._metrics.netsuite_request_seconds.labels(operation, str(status or "error")).observe(seconds)
        if status == 429:
            self._metrics.netsuite_rate_limited.inc()

    def _observe_budget_wait(self, account_id: str, seconds: float) -> None:
        self._metrics.budget_wait_seconds.observe(seconds)

    def _observe_budget_timeout(self, account_id: str, seconds: float) -> None:
        self._metrics.budget_timeouts.inc()

    def _observe_budget_operation(self, operation: str) -> None:
        self._metrics.budget_mongo_operations.labels(operation).inc()

    def _observe_share_change(self, change: str) -> None:
        self._metrics.budget_share_changes.labels(change).inc()
