"""order_sync settings: the shared service settings plus what only this service needs."""

from pydantic import Field

from om_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = Field(
        "order_sync", description="Name used in logs, metrics and the default consumer group."
    )
    mongodb_database: str = Field("om_order_sync", description="Database holding order_sync's collections.")
    records_per_netsuite_slot: int = Field(
        16,
        ge=1,
        description="Records of one supplier processed at once per NetSuite concurrency slot (the NetSuite "
        "budget still caps requests at the account's concurrency_limit).",
    )
    catalog_enabled: bool = Field(
        True, description="Poll NetSuite customers and items and publish them to netsuite.catalog.v1."
    )
    catalog_interval_s: float = Field(
        900.0, gt=0, description="Seconds between two catalog polls of every configured supplier."
    )
    catalog_overlap_s: float = Field(
        5.0,
        ge=0,
        description="Seconds re-read before each catalog cursor (lastmodifieddate has 1 s resolution).",
    )
    catalog_lease_ttl_s: float = Field(
        120.0, gt=0, description="Lease that lets one replica at a time poll a supplier's catalog."
    )
    heal_enabled: bool = Field(
        True,
        description="Re-sync by itself every record that failed for a missing mapping, freight or surcharge "
        "item once it arrives (README, 'Automatic re-sync').",
    )
    heal_poll_s: float = Field(
        5.0,
        gt=0,
        description="How often to look for heal requests made by other replicas (this replica's own start at "
        "once). Each look is one MongoDB command per replica: at 1 s it was 0.02 of the 0.3 commands per order "
        "a steady 50 orders/s may cost (issue 26).",
    )
    heal_lease_ttl_s: float = Field(
        60.0, gt=0, description="Lease that lets one replica at a time heal a supplier (renewed while held)."
    )
    resync_claim_ttl_s: float = Field(
        30.0,
        gt=0,
        description="Claim a re-sync holds on each record it runs (renewed every third of it); a crashed "
        "re-sync's records are free again after it.",
    )
    tranid_read_window_s: float = Field(
        0.2,
        ge=0,
        description="How long the tranId/totals read of a written order waits for other orders of the same "
        "account to share its SuiteQL request; no outcome waits longer than this for it. An account writing r "
        "orders/s pays about 1 + 1/(1 + r x window) NetSuite requests per order (README, 'tranId read window'). "
        "An account with two or more upserts in flight does not wait for it (their reads follow within a round "
        "trip); 0: share only with upserts already in flight.",
    )
    ledger_window_s: float = Field(
        0.2,
        ge=0,
        description="How long a ledger read or write waits for those of other records to share its MongoDB "
        "command (issue 26): at r orders/s a process pays about 2/(1 + r x window) ledger commands per order, "
        "and an outcome waits at most twice this longer (not at all below two orders per window); a supplier "
        "making more than its NetSuite concurrency limit of orders per window (on average over max(1 s, 5 "
        "windows)) fills commands by itself and never waits. 0: only records arriving together share a command.",
    )
    reference_refresh_s: float = Field(
        86_400.0,
        gt=0,
        description="Age after which an account's reference data (currencies) is read from NetSuite again, in "
        "the background; an order reads it there itself only when it is older than twice this.",
    )
    reference_scan_s: float = Field(
        3_600.0,
        gt=0,
        description="How often every configured account is checked for reference data older than "
        "reference_refresh_s (a newly configured integration is read at once).",
    )
    reference_concurrency: int = Field(
        16,
        ge=1,
        description="Accounts whose reference data one replica reads from NetSuite at once (each through its "
        "own account budget; the reads wait on round trips, not CPU).",
    )
