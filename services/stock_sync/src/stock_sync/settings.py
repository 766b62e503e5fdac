"""stock_sync settings: the shared service settings plus what only this service needs."""

from pydantic import Field

from om_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = Field(
        "stock_sync", description="Name used in logs, metrics and the default consumer group."
    )
    mongodb_database: str = Field("om_stock_sync", description="Database holding stock_sync's collections.")
    stock_tick_s: float = Field(
        5.0, gt=0, description="How often the scheduler looks for suppliers whose stock run is due."
    )
    stock_max_concurrent_runs: int = Field(
        4, ge=1, description="Stock runs (of different suppliers) one process runs at the same time."
    )
    stock_max_stripes: int = Field(
        16,
        ge=1,
        description="Most id-range stripes a run scans concurrently (otherwise twice the supplier's "
        "concurrency_limit; the shared budget bounds requests in flight either way).",
    )
    stock_page_size: int = Field(
        1000, ge=1, le=1000, description="Items per SuiteQL page (NetSuite allows 1000)."
    )
    stock_publish_concurrency: int = Field(
        16,
        ge=1,
        description="Stock events a stripe has awaiting broker confirmation at once (more only makes the producer spin).",
    )
    stock_lease_ttl_s: float = Field(
        60.0,
        gt=0,
        description="TTL of a supplier's run lease; renewed every third of it while the run lasts.",
    )
    stock_item_types: str = Field(
        "InvtPart,Assembly",
        description="Comma-separated NetSuite item type codes whose stock is synced (inactive items are skipped).",
    )

    def item_types(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.stock_item_types.split(",") if part.strip())
