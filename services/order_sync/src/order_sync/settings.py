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
