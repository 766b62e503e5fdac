"""The driver-free core of the platform: what use cases and domains may import.

Imports only the standard library, pydantic, om_contracts and other `om_platform.core` modules:
never pymongo, aiokafka, faststream, httpx, prometheus_client or om_netsuite (a test imports every
module here in a fresh interpreter and checks). Holds the failure taxonomy (`failures`), the ports
(`ports`), the connection states and view (`connections`), mapped-entity kinds (`mappings`),
settings changes (`settings_changes`), freshness values (`freshness`), what the Kafka edge hands a
handler (`records`) and the contract decoder (`decoding`), group commit (`batching`) and the
per-supplier job scheduler (`supplier_jobs`), and stopping tasks for sure (`tasks`).
"""
