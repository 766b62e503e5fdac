"""stock_sync settings: the shared service settings plus what only this service needs."""

from pydantic import Field

from om_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = Field(
        "stock_sync", description="Name used in logs, metrics and the default consumer group."
    )
    mongodb_database: str = Field("om_stock_sync", description="Database holding stock_sync's collections.")
