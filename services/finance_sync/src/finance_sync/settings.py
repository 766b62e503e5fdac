"""finance_sync settings: the shared service settings plus what only this service needs."""

from pydantic import Field

from om_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = Field(
        "finance_sync", description="Name used in logs, metrics and the default consumer group."
    )
    mongodb_database: str = Field(
        "om_finance_sync", description="Database holding finance_sync's collections."
    )
    finance_schedule_poll_s: float = Field(
        60.0, gt=0, description="How often the scheduler looks for due hourly slots."
    )
    finance_overlap_minutes: float = Field(
        10.0, ge=0, description="Each window re-reads this much before the cursor (late or skewed changes)."
    )
    finance_max_rows_per_run: int = Field(
        20_000, ge=1, description="Rows read per run before the window continues in the next slice."
    )
    finance_page_size: int = Field(
        1000, ge=1, le=1000, description="SuiteQL rows per page (NetSuite max 1000)."
    )
    finance_initial_lookback_hours: float = Field(
        1.0, ge=0, description="How far back a feature's first run reads for a newly configured supplier."
    )
    finance_max_catch_up_hours: int = Field(
        168,
        ge=1,
        description="Missed hours run one by one up to this many; older ones are covered by the first window.",
    )
    finance_paid_invoice_max_age_days: int = Field(
        400, ge=1, description="Paid invoices older than this (by creation) are not looked at."
    )
    finance_lease_ttl_s: float = Field(
        120.0, gt=0, description="TTL of a feature run's lease (renewed while held)."
    )
    finance_concurrent_runs: int = Field(8, ge=1, description="Supplier feature runs in flight per replica.")
    finance_default_currency: str = Field(
        "AUD", pattern=r"^[A-Z]{3}$", description="Currency reported when a NetSuite document carries none."
    )
    finance_time_zone_relearn_minutes: float = Field(
        60.0,
        gt=0,
        description=(
            "How long an account's learnt SuiteQL time-zone offset is trusted before it is learnt again "
            "(picks up daylight-saving changes)."
        ),
    )
