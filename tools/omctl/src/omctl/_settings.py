"""omctl's settings: the services' own environment variable names, plus each service's database.

`KAFKA_BOOTSTRAP_SERVERS`, `MONGODB_URL`, `NETSUITE_CREDENTIALS_KEYS`, ... mean exactly what they
mean for the services (om_platform.settings.ServiceSettings), so an operator points omctl at a
deployment with the same ConfigMap and Secret.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from om_platform.adapters.kafka.security import KafkaConnectionSettings
from omctl._names import SERVICES, ServiceName

__all__ = ["SERVICES", "OpsSettings", "ServiceName"]


class OpsSettings(KafkaConnectionSettings):
    """Where the stack is; built once per command from the environment.

    The Kafka connection (bootstrap servers, KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_*, KAFKA_SASL_*)
    is the services' own `KafkaConnectionSettings`, mapped to clients by the same function.
    """

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    kafka_enable_idempotence: bool = Field(
        True, description="Idempotent producer for re-published records; false for the embedded tansu broker."
    )
    mongodb_url: SecretStr = Field(
        SecretStr("mongodb://127.0.0.1:27017/?directConnection=true"),
        description="MongoDB connection string.",
    )
    netsuite_credentials_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated Fernet keys: the first seals, all open."
    )
    netsuite_base_url: str | None = Field(
        None, description="Override of every account's NetSuite host (the simulator); unset in production."
    )
    netsuite_timeout_s: float = Field(30.0, gt=0, description="Timeout of one NetSuite request.")
    netsuite_budget_database: str = Field(
        "om_netsuite_budget",
        description="Database the services share: the NetSuite concurrency budget and each supplier's "
        "connection state.",
    )
    order_sync_mongodb_database: str = Field("om_order_sync", description="order_sync's database.")
    stock_sync_mongodb_database: str = Field("om_stock_sync", description="stock_sync's database.")
    finance_sync_mongodb_database: str = Field("om_finance_sync", description="finance_sync's database.")
    order_sync_consumer_group: str = Field(
        "om.order_sync",
        description="Prefix of order_sync's consumer groups (one per topic: `om.order_sync.<topic>`).",
    )
    stock_sync_consumer_group: str = Field(
        "om.stock_sync",
        description="Prefix of stock_sync's consumer groups (one per topic: `om.stock_sync.<topic>`).",
    )
    finance_sync_consumer_group: str = Field(
        "om.finance_sync",
        description="Prefix of finance_sync's consumer groups (one per topic: `om.finance_sync.<topic>`).",
    )
    omctl_mongodb_database: str = Field(
        "om_ops", description="omctl's own state: dead-letter watermarks and redrive records."
    )
    omctl_connect_timeout_s: float = Field(
        5.0, gt=0, description="How long omctl waits for Kafka or MongoDB to answer before giving up."
    )

    def database(self, service: ServiceName) -> str:
        return str(getattr(self, f"{service}_mongodb_database"))

    def consumer_group(self, service: ServiceName) -> str:
        return str(getattr(self, f"{service}_consumer_group"))
