"""The list of Kafka topics a deployment must create."""

from om_contracts import TOPICS, topic_specs


def test_every_topic_and_every_inbound_dead_letter_topic_is_listed() -> None:
    names = {name for name, _, _ in topic_specs()}
    assert {t.name for t in TOPICS} <= names
    assert "ordermentum.orders.v1.dlq" in names
    assert "netsuite.sync-results.v1.dlq" not in names  # outbound topics are consumed elsewhere


def test_only_the_integrations_and_status_topics_are_compacted_and_partitions_can_be_overridden() -> None:
    specs = topic_specs(partitions=3)
    assert {name for name, _, compacted in specs if compacted} == {
        "ordermentum.integrations.v1",
        "netsuite.integration-status.v1",
    }
    assert {count for _, count, _ in specs} == {3}
