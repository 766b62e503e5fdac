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
