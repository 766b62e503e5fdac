#!/usr/bin/env bash
# Creates every topic of om_contracts.TOPICS (and a .dlq topic for each consumed one) on the
# compose Kafka; idempotent (--if-not-exists). max.message.bytes is om_contracts.topic_configs:
# a .dlq topic accepts its source's records plus the dead-letter headers (CONTRACTS.md, "Limits
# on input"). tests/deploy/test_compose_and_images.py keeps this list in step with the registry.
set -euo pipefail
BOOTSTRAP="${KAFKA_BOOTSTRAP_SERVERS:-kafka:9092}"
PARTITIONS="${KAFKA_TOPIC_PARTITIONS:-12}"
create() {
  local topic="$1"; shift
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1 "$@"
}
create ordermentum.integrations.v1 --config cleanup.policy=compact --config max.message.bytes=1048588
create ordermentum.integrations.v1.dlq --config retention.ms=2592000000 --config max.message.bytes=1114124
create ordermentum.orders.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create ordermentum.orders.v1.dlq --config retention.ms=2592000000 --config max.message.bytes=1114124
create ordermentum.invoices.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create ordermentum.invoices.v1.dlq --config retention.ms=2592000000 --config max.message.bytes=1114124
create ordermentum.customers.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create ordermentum.customers.v1.dlq --config retention.ms=2592000000 --config max.message.bytes=1114124
create ordermentum.products.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create ordermentum.products.v1.dlq --config retention.ms=2592000000 --config max.message.bytes=1114124
create ordermentum.payments.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create ordermentum.payments.v1.dlq --config retention.ms=2592000000 --config max.message.bytes=1114124
create netsuite.sync-results.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create netsuite.stock-levels.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create netsuite.invoices.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create netsuite.credit-notes.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create netsuite.invoice-payments.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create netsuite.reconciliation.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create netsuite.catalog.v1 --config retention.ms=604800000 --config max.message.bytes=1048588
create netsuite.integration-status.v1 --config cleanup.policy=compact --config max.message.bytes=1048588
echo "topics ready"
