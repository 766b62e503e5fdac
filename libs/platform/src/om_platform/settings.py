"""Settings every service shares. Each service subclasses `ServiceSettings` once, at start-up.

Environment variable names equal the field names in upper case (`KAFKA_BOOTSTRAP_SERVERS`), so
docker-compose, Kubernetes ConfigMaps/Secrets and the README all use the same names. Nothing else
in the code reads `os.environ`.
"""

from __future__ import annotations

import secrets
import socket
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from om_platform.adapters.kafka._consumer import ConsumerOptions
from om_platform.adapters.kafka._retry import EventRetryPolicy
from om_platform.adapters.kafka.security import KafkaConnectionSettings
from om_platform.core.connections import ConnectionSettings


class ServiceSettings(KafkaConnectionSettings):
    """Settings shared by order_sync, stock_sync and finance_sync (defaults suit the embedded stack)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    service_name: str = Field(
        "service", description="Name used in logs, metrics and the default consumer group."
    )
    # kafka_bootstrap_servers and the KAFKA_SECURITY_*/SSL/SASL settings: KafkaConnectionSettings
    kafka_enable_idempotence: bool = Field(
        True,
        description="Idempotent producer (acks=all, no duplicates on producer retry). Must be false for the "
        "embedded tansu broker, which refuses idempotent producers.",
    )
    kafka_consumer_group: str | None = Field(
        None,
        description="Prefix of the consumer groups: each consumed topic, the integrations topic included, has "
        "its own group `<prefix>.<topic>` (e.g. `om.order_sync.ordermentum.orders.v1`); defaults to "
        "`om.<service_name>`.",
    )
    kafka_group_instance_id: str | None = Field(
        None,
        description="Static group membership id (e.g. the pod name of a StatefulSet) to avoid rebalances on restart.",
    )
    instance_id: str | None = Field(
        None,
        description="Identity of this process for leases: a restarted process takes back at once the "
        "leases its previous life held under the same id. Defaults to KAFKA_GROUP_INSTANCE_ID (the pod "
        "name of a StatefulSet), else a random id per process start. Never give two live processes the "
        "same id: each would take the other's leases.",
    )
    kafka_session_timeout_ms: int = Field(10_000, ge=1000, description="Consumer session timeout.")
    kafka_heartbeat_interval_ms: int = Field(3_000, ge=100, description="Consumer heartbeat interval.")
    kafka_max_poll_interval_ms: int = Field(
        300_000, ge=1000, description="Max time between polls before the consumer leaves the group."
    )
    kafka_fetch_max_wait_ms: int = Field(
        500,
        ge=1,
        description="Longest time the broker may hold a fetch when no data is available. Real Kafka answers as "
        "soon as data arrives; the embedded tansu broker holds every fetch this long, so lower it there to "
        "measure latency.",
    )
    kafka_auto_offset_reset: Literal["earliest", "latest"] = Field(
        "earliest", description="Where a new consumer group starts reading."
    )
    kafka_max_in_flight_per_partition: int = Field(
        1000,
        ge=1,
        description="Unfinished records per partition before it is paused (back-pressure).",
    )
    kafka_commit_interval_ms: int = Field(500, ge=10, description="How often finished offsets are committed.")
    retry_max_attempts: int = Field(
        8,
        ge=1,
        description="Attempts for an event failing with a transient error before it is dead-lettered.",
    )
    retry_base_delay_s: float = Field(
        0.5, gt=0, description="First backoff delay (full jitter, doubled per attempt)."
    )
    retry_max_delay_s: float = Field(30.0, gt=0, description="Largest backoff delay.")
    retry_max_elapsed_s: float = Field(
        300.0, gt=0, description="Longest time an event is retried in process."
    )
    shutdown_grace_s: float = Field(
        20.0,
        ge=0,
        description="On SIGTERM, how long in-flight events may finish before being abandoned (uncommitted).",
    )
    gc_freeze_pause_ms: float = Field(
        50.0,
        ge=0,
        description="After a full garbage collection that stopped the process this long or longer, freeze "
        "what survived it (gc.freeze), so that later collections skip it; 0 never freezes.",
    )
    mongodb_url: SecretStr = Field(
        SecretStr("mongodb://127.0.0.1:27017/?directConnection=true"),
        description="MongoDB connection string.",
    )
    mongodb_database: str = Field(
        "ordermentum_netsuite", description="Database holding this service's collections."
    )
    netsuite_credentials_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated Fernet keys: the first seals, all open (rotation).",
    )
    netsuite_base_url: str | None = Field(
        None,
        description="Override of every account's NetSuite host (the simulator); unset in production.",
    )
    netsuite_budget_database: str = Field(
        "om_netsuite_budget",
        description="Database of the per-account concurrency budget, shared by all three services (NetSuite's limit is per account).",
    )
    netsuite_budget_max_wait_s: float = Field(
        300.0, gt=0, description="Longest wait for a budget slot before the request fails as transient."
    )
    netsuite_budget_renew_s: float = Field(
        2.0,
        gt=0,
        description="How often a process renews its heartbeat (one MongoDB command, however many accounts it "
        "holds) and re-plans the accounts another process asked for. A starved process gets its fair share "
        "within about this + the longest request in flight + `NETSUITE_BUDGET_POLL_S`.",
    )
    netsuite_budget_keep_idle_s: float = Field(
        3600.0,
        ge=0,
        description="How long after its last request a process keeps an idle budget share nobody else wants (0: "
        "returned at the next renewal). Costs nothing per renewal; another process wanting it gets it back "
        "within the starvation bound.",
    )
    netsuite_budget_lease_s: float = Field(
        10.0,
        gt=0,
        description="Lease of a budget share: the share of a process that died returns to the others after this "
        "long. Must exceed `NETSUITE_BUDGET_RENEW_S` + `NETSUITE_BUDGET_MARGIN_S`.",
    )
    netsuite_budget_margin_s: float = Field(
        2.0,
        gt=0,
        description="A process that cannot renew (MongoDB unreachable) stops starting NetSuite requests this long "
        "before its lease ends. Leases run on MongoDB's clock, so client clock skew does not matter; this covers "
        "a step of the server clock or a fail-over between primaries, and event-loop stalls.",
    )
    netsuite_budget_poll_s: float = Field(
        0.2,
        gt=0,
        description="How often (jittered) a starved process looks for capacity another one returned.",
    )
    netsuite_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Timeout of each phase of one NetSuite HTTP request (connect, write, each read).",
    )
    netsuite_attempt_deadline_s: float = Field(
        120.0,
        gt=0,
        description="Hard deadline of one NetSuite request attempt, all phases together. A slot whose outcome is "
        "unknown (timeout, connection lost, shutdown) stays counted in the budget until then, and a lapsed "
        "process's shares count this long after its lease.",
    )
    netsuite_auth_failed_after: int = Field(
        3,
        ge=1,
        description="Consecutive 401 INVALID_LOGIN answers for a supplier that open its breaker "
        "(state auth_failed): its records are parked, not sent, until a probe or new credentials get through.",
    )
    netsuite_unreachable_after_s: float = Field(
        60.0,
        ge=0,
        description="How long a supplier's NetSuite requests may meet nothing but outages (5xx, timeouts, "
        "refused connections; at least 3 attempts) before its breaker opens (state unreachable).",
    )
    netsuite_rate_limited_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of a supplier's NetSuite attempts answered 429 over the window that makes its "
        "state rate_limited (reported only; records still sync); below half of it, connected again.",
    )
    netsuite_rate_limited_window_s: float = Field(
        60.0,
        gt=0,
        description="Window (seconds) over which the 429 share is measured (at least 10 attempts).",
    )
    netsuite_probe_interval_s: float = Field(
        180.0,
        gt=0,
        description="First probe request after a supplier's breaker opened; the interval doubles after "
        "each failed probe. New credentials in the integration make a probe due at once.",
    )
    netsuite_probe_max_interval_s: float = Field(
        1800.0, gt=0, description="Longest interval between two probes of an open breaker."
    )
    netsuite_status_poll_s: float = Field(
        2.0,
        gt=0,
        description="How often each process reads the connection states other processes changed (and "
        "looks for due probes and unpublished status events).",
    )
    http_host: str = Field(
        "0.0.0.0",  # noqa: S104 - a container must listen on its pod address
        description="Bind address of the health and metrics endpoint.",
    )
    http_port: int = Field(
        8080, ge=0, le=65535, description="Port of /health/live, /health/ready and /metrics."
    )
    liveness_stall_s: float = Field(
        300.0,
        gt=0,
        description="Liveness fails if there is pending work but no progress for this long.",
    )
    integrations_catch_up_s: float = Field(
        60.0,
        ge=0,
        description="At start, longest wait for the integrations projection to reach the end of the "
        "integrations topic as it was at start before any other event is handled; past it they are handled "
        "anyway (an event that overtakes its supplier's settings then fails INTEGRATION_NOT_CONFIGURED in "
        "order_sync and re-syncs by itself once they arrive; finance_sync retries it).",
    )
    command_poll_s: float = Field(
        1.0, gt=0, description="How often the service looks for operator commands (omctl resync/run)."
    )
    command_catch_up_s: float = Field(
        60.0,
        gt=0,
        description="Longest wait, before running an operator command, for the events published before "
        "it to be processed; past that the command fails without running.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP collector base URL (traces go to `<url>/v1/traces`); unset = tracing off. "
        "The exporter also honours the other standard OTEL_EXPORTER_OTLP_* variables (headers, timeout).",
    )
    otel_service_name: str | None = Field(
        None, description="`service.name` of the traces; defaults to `service_name`."
    )
    log_level: str = Field("INFO", description="Log level.")
    log_format: Literal["json", "text"] = Field("json", description="json for production, text for humans.")
    # Several local processes share a host name, so the fallback identity is random, not the host's.
    _random_identity: str = PrivateAttr(
        default_factory=lambda: f"{socket.gethostname()}-{secrets.token_hex(4)}"
    )

    @model_validator(mode="after")
    def _budget_lease_outlasts_renewal(self) -> ServiceSettings:
        if self.netsuite_budget_renew_s + self.netsuite_budget_margin_s >= self.netsuite_budget_lease_s:
            raise ValueError(
                "NETSUITE_BUDGET_LEASE_S must exceed NETSUITE_BUDGET_RENEW_S + NETSUITE_BUDGET_MARGIN_S"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value.upper()

    @property
    def instance_identity(self) -> str:
        """`INSTANCE_ID`, else `KAFKA_GROUP_INSTANCE_ID`, else random for this settings object."""
        return self.instance_id or self.kafka_group_instance_id or self._random_identity

    @property
    def consumer_group(self) -> str:
        return self.kafka_consumer_group or f"om.{self.service_name}"

    def connection_settings(self) -> ConnectionSettings:
        return ConnectionSettings(
            auth_failed_after=self.netsuite_auth_failed_after,
            unreachable_after_s=self.netsuite_unreachable_after_s,
            rate_limited_share=self.netsuite_rate_limited_share,
            rate_limited_window_s=self.netsuite_rate_limited_window_s,
            probe_interval_s=self.netsuite_probe_interval_s,
            probe_max_interval_s=max(self.netsuite_probe_max_interval_s, self.netsuite_probe_interval_s),
            status_poll_s=self.netsuite_status_poll_s,
        )

    def consumer_options(self, group_suffix: str = "") -> ConsumerOptions:
        return ConsumerOptions(
            group_id=self.consumer_group + group_suffix,
            group_instance_id=self.kafka_group_instance_id,
            max_in_flight=self.kafka_max_in_flight_per_partition,
            commit_interval_s=self.kafka_commit_interval_ms / 1000,
            auto_offset_reset=self.kafka_auto_offset_reset,
            session_timeout_ms=self.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.kafka_heartbeat_interval_ms,
            max_poll_interval_ms=self.kafka_max_poll_interval_ms,
            fetch_max_wait_ms=self.kafka_fetch_max_wait_ms,
            retry=EventRetryPolicy(
                max_attempts=self.retry_max_attempts,
                base_delay_s=self.retry_base_delay_s,
                max_delay_s=self.retry_max_delay_s,
                max_elapsed_s=self.retry_max_elapsed_s,
            ),
        )
