"""``netsuite.integration-status.v1``: the state of each supplier's NetSuite connection.

``netsuite.integration.status`` is published when a supplier's state changes, never per record
(CONTRACTS.md, "Additions agreed for this round"). The state is the one the three services share
for the supplier's NetSuite account:

* ``connected``: requests succeed (the state every supplier starts in);
* ``auth_failed``: NetSuite refuses the login (its generic 401 ``INVALID_LOGIN``: a revoked or
  expired token, wrong consumer key, wrong realm...); records are parked until it is fixed;
* ``permission_missing``: NetSuite refuses a request with 403 ``INSUFFICIENT_PERMISSION``;
  ``detail`` names the permission of Ordermentum's setup guide the token's role lacks;
* ``rate_limited``: sustained 429 ``CONCURRENCY_LIMIT_EXCEEDED`` beyond the services' threshold
  (other integrations use the account's concurrency); records still sync, more slowly;
* ``unreachable``: NetSuite cannot be reached or keeps failing (timeouts, 5xx) after retries;
  records are parked until a probe gets through.

``warnings`` (CONTRACTS.md, additions of 2026-12-07) lists what needs attention before it breaks the
connection: ``CREDENTIALS_EXPIRING`` while the OAuth 2.0 certificate expires within the services'
window (30 days). A status event is also published when a warning starts or ends (the state may be
unchanged then), never per record.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from om_contracts._base import OutboundModel
from om_contracts._envelope import OutboundEnvelope

ConnectionState = Literal["connected", "auth_failed", "permission_missing", "rate_limited", "unreachable"]

SETUP_GUIDE_PERMISSIONS: tuple[str, ...] = (
    "Sales Order",
    "Invoice",
    "Customer Payment",
    "Customer Deposit",
    "Make Deposits",
    "Credit Memo",
    "Deleted Records",
    "Currency",
    "Find Transaction",
    "Customers",
    "Items",
    "Locations",
    "SuiteAnalytics Workbook",
)
"""The role permissions Ordermentum's NetSuite setup guide asks for; ``detail`` of a
``permission_missing`` status names one of them when the refused request maps to one."""


class StatusError(OutboundModel):
    """The NetSuite answer behind the state (never a credential)."""

    code: str = Field(description="NetSuite's error code (e.g. 'INVALID_LOGIN') or the failure kind.")
    message: str = Field(description="What NetSuite or the network said, without secrets.")


WarningCode = Literal["CREDENTIALS_EXPIRING"]


class StatusWarning(OutboundModel):
    """Something to act on before it breaks the connection."""

    code: WarningCode = Field(
        description="'CREDENTIALS_EXPIRING': the certificate of the OAuth 2.0 credentials expires soon."
    )
    message: str = Field(description="What to do, for the supplier.")
    expires_at: AwareDatetime = Field(description="When the credentials expire (RFC 3339).")


class IntegrationStatus(OutboundModel):
    """The state of one supplier's NetSuite connection, as these services see it."""

    state: ConnectionState = Field(
        description="'connected', 'auth_failed', 'permission_missing', 'rate_limited' or 'unreachable'."
    )
    since: AwareDatetime = Field(description="When the connection entered this state (RFC 3339).")
    service: str = Field(
        description="The service that saw the change: order_sync, stock_sync or finance_sync."
    )
    previous_state: ConnectionState | None = Field(
        default=None, description="The state before this one (absent for a supplier's first status)."
    )
    detail: str | None = Field(
        default=None,
        description="For 'permission_missing': the role permission refused, as Ordermentum's setup guide "
        "names it (e.g. 'Customer Deposit'), else NetSuite's own name for it; otherwise a short explanation.",
    )
    record_type: str | None = Field(
        default=None,
        description="For 'permission_missing': the NetSuite record type or SuiteQL table that was refused.",
    )
    account_id: str | None = Field(default=None, description="The supplier's NetSuite account id.")
    last_error: StatusError | None = Field(
        default=None, description="The NetSuite answer that caused the change (absent for 'connected')."
    )
    warnings: tuple[StatusWarning, ...] = Field(
        default=(),
        description="Warnings in force, e.g. CREDENTIALS_EXPIRING with the date; empty when none.",
    )


class NetSuiteIntegrationStatus(OutboundEnvelope[IntegrationStatus]):
    """A supplier's NetSuite connection changed state."""

    event_type: Literal["netsuite.integration.status"] = Field(
        default="netsuite.integration.status", description="Always 'netsuite.integration.status'."
    )


IntegrationStatusEvent = NetSuiteIntegrationStatus
