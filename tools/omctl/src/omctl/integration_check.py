"""`omctl integration check`: harmless NetSuite calls that say exactly what is wrong.

Steps, each reported with its outcome and, when it fails, the fix:
  1. the supplier has a configured integration (read from a service's `integrations` collection);
  2. the sealed credentials open with NETSUITE_CREDENTIALS_KEYS; for OAuth 2.0 client credentials
     (`oauth2_m2m`) also the certificate's expiry and a token from NetSuite's token endpoint
     (`/services/rest/auth/oauth2/v1/token`), whose refusal is named in one line (unknown or
     revoked certificate, expired certificate, clock skew: `om_netsuite.TokenRefused`);
  3. SuiteQL `SELECT id FROM location WHERE id IN (...)` for every location the settings name
     (stock locations, reconciliation locations): proves the token, the realm, the REST Web
     Services and SuiteAnalytics Workbook permissions, and finds unknown locations;
  4. a record GET of the default location (and of the reconciliation bank account when
     auto-reconciliation is on): proves record-level permission;
  5. for finance_sync: the time zone the account shows SuiteQL date-times in, as finance_sync
     learnt it (collection ``account_time_zones``; see finance_sync's README).

NetSuite answers every TBA failure (bad token, revoked token, wrong realm, bad signature, clock
skew) with the same 401 INVALID_LOGIN and names the cause only in the Login Audit Trail, so a 401
is reported with the checks in the order most likely to find it (reference/netsuite.md §2).
Nothing is written; no credential or signature is printed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from om_contracts import CredentialError, IntegrationSettings, KeyRing
from om_netsuite import (
    Auth,
    AuthenticationFailed,
    InvalidAccountId,
    NetSuiteClient,
    NetSuiteError,
    NetSuiteNetworkError,
    NetSuiteSession,
    OAuth2ClientCredentials,
    PermanentError,
    RateLimited,
    RequestRetryPolicy,
    TokenRefused,
    Transient,
)
from om_platform.adapters.netsuite_access import open_auth
from omctl._mongo import mongo
from omctl._settings import OpsSettings, ServiceName

BAD_LOGIN = (
    "NetSuite refused the login (401 INVALID_LOGIN); it does not say why. Check, in order: "
    "the account id equals Setup > Company > Company Information > Account ID (a sandbox is "
    "'1234567_SB1', which is also the TBA realm); the token id/secret belong to this account and "
    "are not revoked (Setup > Users/Roles > Access Tokens); the consumer key/secret are the "
    "integration record's and it is enabled for Token-Based Authentication; then read Setup > "
    "Users/Roles > View Login Audit Trail for the exact reason."
)
BAD_CERTIFICATE = (
    "Check on Setup > Integration > Manage Authentication > OAuth 2.0 Client Credentials (M2M) Setup "
    "that the mapping of this integration record's client id has this certificate id, is not revoked "
    "or expired, and that the private key is the one of the uploaded certificate; after uploading a "
    "new certificate, save its id and key in the Ordermentum integration."
)
NO_PERMISSION = (
    "The token's role lacks a permission: it needs Setup > REST Web Services, Log in using Access "
    "Tokens, Reports > SuiteAnalytics Workbook (for SuiteQL), Lists > Locations, Items, Customers "
    "(View), Transactions > Sales Order, Invoice, Customer Payment, Deposit, Credit Memo (Full or "
    "Create/Edit as the features need)."
)


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str
    advice: str | None = None


def advice_for(exc: Exception, what: str) -> tuple[str, str]:
    """(what went wrong, how to fix it) for an error of a harmless call."""
    if isinstance(exc, InvalidAccountId):
        return (
            "account id is not a NetSuite account id",
            "Use digits with an optional _SB<n> or _RP<n> suffix.",
        )
    if isinstance(exc, TokenRefused):
        return str(exc), BAD_CERTIFICATE
    if isinstance(exc, AuthenticationFailed):
        if exc.status == 403 or exc.code == "INSUFFICIENT_PERMISSION":
            return f"missing permission for {what} ({exc.code}: {exc.detail})", NO_PERMISSION
        return "bad token or wrong realm (401 INVALID_LOGIN)", BAD_LOGIN
    if isinstance(exc, RateLimited):
        return (
            "NetSuite answered 429 (concurrency limit)",
            "Other integrations use the account's limit; retry later.",
        )
    if isinstance(exc, Transient):
        return f"NetSuite is unavailable ({exc.status})", "Retry later; check status.netsuite.com."
    if isinstance(exc, NetSuiteNetworkError):
        return (
            f"cannot reach NetSuite ({type(exc).__name__})",
            "The host comes from the account id: a wrong account id gives an unknown host. Check "
            "the account id and the network path to *.suitetalk.api.netsuite.com.",
        )
    if isinstance(exc, PermanentError):
        if exc.status == 404:
            return (
                f"unknown {what}",
                f"No {what} with that internal id in this account; fix the integration settings.",
            )
        return f"NetSuite refused the {what} request ({exc.status} {exc.code}: {exc.detail})", NO_PERMISSION
    return f"{type(exc).__name__}: {exc}", "Unexpected; see the service logs."


async def load_integration(
    settings: OpsSettings, supplier_id: str, service: ServiceName
) -> IntegrationSettings | None:
    async with mongo(settings) as client:
        document = await client[settings.database(service)]["integrations"].find_one(
            {"_id": supplier_id, "status": "configured"}
        )
    return IntegrationSettings.model_validate(document["settings"]) if document else None


def open_credentials(settings: OpsSettings, integration: IntegrationSettings) -> Auth:
    """The integration's auth (TBA or OAuth 2.0 M2M) opened with NETSUITE_CREDENTIALS_KEYS
    (CredentialError if a value does not open or the private key is unusable)."""
    return open_auth(KeyRing.from_string(settings.netsuite_credentials_keys.get_secret_value()), integration)


def netsuite_client(settings: OpsSettings) -> NetSuiteClient:
    """A client for harmless calls: one retry, no shared budget (an operator's few requests)."""
    return NetSuiteClient(
        base_url_override=settings.netsuite_base_url,
        timeout=settings.netsuite_timeout_s,
        retry=RequestRetryPolicy(max_attempts=2, max_elapsed=settings.netsuite_timeout_s),
    )


def _location_ids(integration: IntegrationSettings) -> list[str]:
    ids: list[str] = [str(i) for i in integration.stock.location_ids]
    recon = integration.auto_reconciliation
    if recon.enabled:
        ids.extend(str(c.location_id) for c in (recon.payment, recon.deposit) if c.location_id)
    return list(dict.fromkeys(ids))


async def check(
    settings: OpsSettings,
    supplier_id: str,
    service: ServiceName,
    integration: IntegrationSettings | None = None,
) -> list[Step]:
    """Run the steps in order; stops at the first failure that makes the next ones meaningless."""
    steps: list[Step] = []
    integration = integration or await load_integration(settings, supplier_id, service)
    if integration is None:
        steps.append(
            Step(
                "integration",
                False,
                f"{supplier_id} has no configured integration in {service}",
                "Save the NetSuite Integration in Ordermentum (integration.netsuite.configured) and check the service consumed it.",
            )
        )
        return steps
    steps.append(
        Step("integration", True, f"account {integration.account_id}, sync_type {integration.sync_type}")
    )
    try:
        opened = open_credentials(settings, integration)
    except CredentialError as exc:
        steps.append(
            Step(
                "credentials",
                False,
                f"sealed credentials do not open: {exc}",
                "They were sealed with a key missing from NETSUITE_CREDENTIALS_KEYS: add that key (after the "
                "current first one) or re-seal them with `omctl seal --credentials`.",
            )
        )
        return steps
    steps.append(
        Step("credentials", True, f"sealed {integration.credentials.kind} credentials open with the key ring")
    )
    if isinstance(opened, OAuth2ClientCredentials):
        steps.append(_certificate_step(opened))
    client = netsuite_client(settings)
    try:
        try:
            session = client.session(integration.account_id, opened, 1)
        except InvalidAccountId as exc:
            problem, fix = advice_for(exc, "account")
            steps.append(Step("account", False, problem, fix))
            return steps
        if isinstance(opened, OAuth2ClientCredentials) and not await _token_step(
            client, integration, opened, steps
        ):
            return steps
        await _run_checks(session, integration, steps)
    finally:
        await client.aclose()
    if service == "finance_sync":
        steps.append(await time_zone_step(settings, supplier_id))
    return steps


def _certificate_step(auth: OAuth2ClientCredentials) -> Step:
    expires = auth.certificate_expires_at
    if expires is None:
        return Step(
            "certificate", True, "expiry unknown: certificate_expires_at is not set in the integration"
        )
    when = datetime.fromtimestamp(expires, UTC)
    days = (when - datetime.now(UTC)).total_seconds() / 86400
    if days <= 0:
        return Step(
            "certificate", False, f"certificate expired on {when.date().isoformat()}", BAD_CERTIFICATE
        )
    return Step("certificate", True, f"certificate expires on {when.date().isoformat()} (in {days:.0f} days)")


async def _token_step(
    client: NetSuiteClient, integration: IntegrationSettings, auth: OAuth2ClientCredentials, steps: list[Step]
) -> bool:
    try:
        await client.authenticate(integration.account_id, auth)
    except NetSuiteError as exc:
        problem, fix = advice_for(exc, "token")
        steps.append(Step("token", False, problem, fix))
        return False
    expires = auth.token_expires_at
    valid = f", valid for {max(0.0, (expires or 0.0) - auth.now()) / 60:.0f} min" if expires else ""
    steps.append(Step("token", True, f"token endpoint issued a bearer token{valid}"))
    return True


async def time_zone_step(settings: OpsSettings, supplier_id: str) -> Step:
    """What finance_sync learnt of the account's SuiteQL time zone (informational)."""
    async with mongo(settings) as client:
        learnt = await client[settings.database("finance_sync")]["account_time_zones"].find_one(
            {"_id": supplier_id}
        )
    if learnt is None:
        return Step("time zone", True, "not learnt yet: finance_sync learns it on the supplier's first run")
    minutes = int(learnt["offset_minutes"])
    sign = "+" if minutes >= 0 else "-"
    return Step(
        "time zone",
        True,
        f"SuiteQL shows date-times in UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d} "
        f"(learnt {learnt['learnt_at']:%Y-%m-%d %H:%M} UTC from {learnt.get('source', '?')})",
    )


async def _run_checks(session: NetSuiteSession, integration: IntegrationSettings, steps: list[Step]) -> None:
    locations = _location_ids(integration)
    found: set[str] = set()

    async def attempt(name: str, what: str, call: Callable[[], Awaitable[str]]) -> bool:
        try:
            detail = await call()
        except NetSuiteError as exc:
            problem, fix = advice_for(exc, what)
            steps.append(Step(name, False, problem, fix))
            return False
        steps.append(Step(name, True, detail))
        return True

    async def query_locations() -> str:
        if not locations:
            rows = [row async for row in session.suiteql("SELECT id FROM location WHERE ROWNUM <= 1")]
            return f"SuiteQL works ({len(rows)} location seen); no locations configured"
        marks = ", ".join("?" for _ in locations)
        found.update(
            [
                str(row["id"])
                async for row in session.suiteql(f"SELECT id FROM location WHERE id IN ({marks})", locations)  # noqa: S608 - only ? markers
            ]
        )
        return f"SuiteQL works; locations found: {', '.join(sorted(found)) or 'none'}"

    if not await attempt("suiteql", "SuiteQL", query_locations):
        return
    if locations:
        missing = [loc for loc in locations if loc not in found]
        steps.append(
            Step(
                "locations",
                not missing,
                f"unknown location(s): {', '.join(missing)}"
                if missing
                else "every configured location exists",
                "Fix stock.location_ids / auto_reconciliation location ids: they must be internal ids of "
                "NetSuite locations (Setup > Company > Locations)."
                if missing
                else None,
            )
        )
        if locations[0] in found:
            await attempt("record", "location", _get(session, "location", locations[0]))
    recon = integration.auto_reconciliation
    if recon.enabled and recon.bank_account_id:
        await attempt("bank account", "bank account", _get(session, "account", str(recon.bank_account_id)))


def _get(session: NetSuiteSession, record_type: str, record_id: str) -> Callable[[], Awaitable[str]]:
    async def call() -> str:
        record: dict[str, Any] = await session.get(record_type, record_id, fields=["id"])
        return f"GET {record_type}/{record_id} works ({record.get('id', record_id)})"

    return call


def as_dicts(steps: list[Step]) -> list[dict[str, Any]]:
    return [asdict(s) for s in steps]
