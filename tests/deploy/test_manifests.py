"""The Kubernetes manifests render from deploy/values.yaml and validate against the Kubernetes
schemas (kubernetes-validate from PyPI) and the CRD schemas in deploy/schemas/ (what CI runs)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from finance_sync.settings import Settings as FinanceSettings
from om_contracts import TOPICS, dead_letter_topic, topic_configs
from omctl import manifests
from order_sync.settings import Settings as OrderSettings
from stock_sync.settings import Settings as StockSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = {"order_sync": OrderSettings, "stock_sync": StockSettings, "finance_sync": FinanceSettings}


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return manifests.load_values([DEPLOY / "values.yaml"], DEPLOY / "values.schema.json")


@pytest.fixture(scope="module")
def objects(values: dict[str, Any]) -> list[dict[str, Any]]:
    return manifests.render(values)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_every_rendered_manifest_validates_against_the_kubernetes_and_crd_schemas(objects) -> None:
    assert manifests.validate(objects, DEPLOY / "schemas" / "crds") == []


def test_a_broken_manifest_is_reported(objects) -> None:
    broken = copy.deepcopy(by_kind(objects, "StatefulSet")["order-sync"])
    broken["spec"]["replicas"] = "two"
    del broken["spec"]["selector"]
    problems = manifests.validate([broken], DEPLOY / "schemas" / "crds")
    assert problems
    assert all(p.startswith("StatefulSet/order-sync") for p in problems)


def test_one_statefulset_per_service_with_probes_grace_and_static_membership(objects, values) -> None:
    sets = by_kind(objects, "StatefulSet")
    assert sorted(sets) == ["finance-sync", "order-sync", "stock-sync"]
    grace = float(values["config"]["SHUTDOWN_GRACE_S"])
    for workload in sets.values():
        pod = workload["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert pod["terminationGracePeriodSeconds"] > grace
        assert container["securityContext"]["runAsNonRoot"] is True
        env = {e["name"]: e for e in container["env"]}
        assert env["KAFKA_GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert env["MONGODB_URL"]["valueFrom"]["secretKeyRef"]["key"] == "MONGODB_URL"
        assert container["resources"]["limits"]["memory"]
    assert sorted(by_kind(objects, "PodDisruptionBudget")) == sorted(sets)
    assert sorted(by_kind(objects, "NetworkPolicy")) == sorted(sets)


def test_autoscaling_is_capped_by_the_partition_count(objects, values, tmp_path: Path) -> None:
    for scaled in by_kind(objects, "ScaledObject").values():
        assert scaled["spec"]["maxReplicaCount"] <= values["kafka"]["partitions"]
        assert all(t["type"] == "kafka" for t in scaled["spec"]["triggers"])
    too_many = copy.deepcopy(values)
    too_many["services"]["order_sync"]["maxReplicas"] = values["kafka"]["partitions"] + 1
    path = tmp_path / "too-many.yaml"
    path.write_text(yaml.safe_dump(too_many))
    with pytest.raises(manifests.ValuesError, match="partitions"):
        manifests.load_values([path], DEPLOY / "values.schema.json")


def test_values_that_break_the_schema_are_refused_with_the_path(tmp_path: Path) -> None:
    overlay = tmp_path / "bad.yaml"
    overlay.write_text("services:\n  order_sync:\n    replicas: 0\nconfig:\n  lowercase_name: x\n")
    with pytest.raises(manifests.ValuesError) as caught:
        manifests.load_values([DEPLOY / "values.yaml", overlay], DEPLOY / "values.schema.json")
    assert "services/order_sync/replicas" in str(caught.value)
    assert "lowercase_name" in str(caught.value)


def test_topics_come_from_the_contract_registry_with_dead_letter_topics_and_a_compacted_integrations_topic(
    objects,
) -> None:
    owned = {t.name for t in TOPICS if t.direction == "outbound"} | {
        dead_letter_topic(t.name) for t in TOPICS if t.direction == "inbound"
    }
    assert set(by_kind(objects, "KafkaTopic")) == owned  # the upstream team declares ordermentum.*
    values = manifests._merge(
        manifests.load_values([DEPLOY / "values.yaml"], DEPLOY / "values.schema.json"),
        {"kafka": {"strimzi": {"upstreamTopics": True}}},
    )
    topics = by_kind(manifests.render(values), "KafkaTopic")
    assert set(topics) == owned | {t.name for t in TOPICS}
    assert topics["ordermentum.integrations.v1"]["spec"]["config"]["cleanup.policy"] == "compact"
    assert topics["ordermentum.orders.v1.dlq"]["spec"]["config"]["cleanup.policy"] == "delete"
    for name, topic in topics.items():  # a dead letter of any record of its source fits its .dlq topic
        assert topic["spec"]["config"]["max.message.bytes"] == int(topic_configs(name)["max.message.bytes"])
    assert (
        topics["ordermentum.orders.v1.dlq"]["spec"]["config"]["max.message.bytes"]
        > topics["ordermentum.orders.v1"]["spec"]["config"]["max.message.bytes"]
    )


def test_configmaps_use_only_the_services_own_setting_names(objects, values) -> None:
    shared = set(values["config"]) | set(values["secret"]["keys"])
    for service, settings in SETTINGS.items():
        known = {name.upper() for name in settings.model_fields}
        own = set(values["services"][service]["env"])
        assert shared | own <= known, (shared | own) - known


def test_omctl_deploy_validate_and_render_run_from_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from omctl.cli import app

    runner = CliRunner()
    checked = runner.invoke(app, ["deploy", "validate", "--deploy-dir", str(DEPLOY), "--json"])
    assert checked.exit_code == 0, checked.output
    out = tmp_path / "all.yaml"
    rendered = runner.invoke(app, ["deploy", "render", "--deploy-dir", str(DEPLOY), "-o", str(out)])
    assert rendered.exit_code == 0, rendered.output
    kinds = {doc["kind"] for doc in yaml.safe_load_all(out.read_text())}
    assert {"StatefulSet", "ScaledObject", "KafkaTopic", "NetworkPolicy", "PodDisruptionBudget"} <= kinds
    assert all(
        "replicas" not in d["spec"] for d in yaml.safe_load_all(out.read_text()) if d["kind"] == "StatefulSet"
    )


def run_omctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_wrong_type_in_an_overlay_is_reported_as_the_schema_error(tmp_path: Path) -> None:
    overlay = tmp_path / "two.yaml"
    overlay.write_text("services:\n  order_sync:\n    replicas: two\n")
    with pytest.raises(
        manifests.ValuesError, match="services/order_sync/replicas: 'two' is not of type 'integer'"
    ):
        manifests.load_values([DEPLOY / "values.yaml", overlay], DEPLOY / "values.schema.json")
    result = run_omctl(
        "deploy", "validate", "-f", str(DEPLOY / "values.yaml"), "-f", str(overlay), cwd=tmp_path
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "'two' is not of type 'integer'" in lines[0]


def test_broken_yaml_and_a_missing_values_file_are_one_line_each(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("services: [unclosed\n")
    for values in (broken, tmp_path / "missing.yaml"):
        result = run_omctl("deploy", "render", "-f", str(values), cwd=tmp_path)
        assert result.returncode != 0
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert str(values.name) in lines[0]


def test_the_default_values_come_from_the_repository_whatever_the_current_directory(tmp_path: Path) -> None:
    result = run_omctl("deploy", "validate", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["problems"] == []


def test_the_rendered_yaml_is_plain_without_anchors_or_aliases(objects) -> None:
    text = manifests.to_yaml(objects)
    assert not re.search(r"[&*]id\d+", text)
    assert list(yaml.safe_load_all(text)) == objects


def test_each_service_runs_under_its_own_service_account_spread_over_zones_then_nodes(objects) -> None:
    accounts = by_kind(objects, "ServiceAccount")
    for name, workload in by_kind(objects, "StatefulSet").items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == name
        assert accounts[name]["automountServiceAccountToken"] is False
        keys = [c["topologyKey"] for c in pod["topologySpreadConstraints"]]
        assert keys == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        assert "annotations" not in workload["spec"]["template"]["metadata"]  # the ServiceMonitor scrapes


def test_a_secured_kafka_gets_its_certificates_mounted_and_a_keda_trigger_authentication(
    tmp_path: Path,
) -> None:
    overlay = tmp_path / "secured.yaml"
    overlay.write_text(
        """
config:
  KAFKA_SECURITY_PROTOCOL: SASL_SSL
  KAFKA_SASL_MECHANISM: SCRAM-SHA-512
  KAFKA_SASL_USERNAME: om-netsuite
secret:
  name: om-netsuite-secrets
  keys: [MONGODB_URL, NETSUITE_CREDENTIALS_KEYS, KAFKA_SASL_PASSWORD]
kafka:
  tls: {secretName: om-kafka-tls, caKey: ca.crt, mountPath: /etc/kafka-tls}
"""
    )
    values = manifests.load_values([DEPLOY / "values.yaml", overlay], DEPLOY / "values.schema.json")
    objects = manifests.render(values)
    assert manifests.validate(objects, DEPLOY / "schemas" / "crds") == []
    auth = by_kind(objects, "TriggerAuthentication")["om-kafka-auth"]["spec"]
    assert {"parameter": "password", "name": "om-netsuite-secrets", "key": "KAFKA_SASL_PASSWORD"} in auth[
        "secretTargetRef"
    ]
    assert {"parameter": "ca", "name": "om-kafka-tls", "key": "ca.crt"} in auth["secretTargetRef"]
    assert auth["env"] == [{"parameter": "username", "name": "KAFKA_SASL_USERNAME"}]
    for scaled in by_kind(objects, "ScaledObject").values():
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["authenticationRef"] == {"name": "om-kafka-auth"}
            assert trigger["metadata"]["sasl"] == "scram_sha512"
            assert trigger["metadata"]["tls"] == "enable"
    container = by_kind(objects, "StatefulSet")["order-sync"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["KAFKA_SSL_CAFILE"]["value"] == "/etc/kafka-tls/ca.crt"
    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "KAFKA_SASL_PASSWORD"
    assert {"name": "kafka-tls", "mountPath": "/etc/kafka-tls", "readOnly": True} in container["volumeMounts"]
    # the same names the services read
    from om_platform.adapters.kafka.security import KafkaConnectionSettings

    assert {
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
    } <= {name.upper() for name in KafkaConnectionSettings.model_fields}


def test_a_sasl_password_in_the_configmap_is_refused(tmp_path: Path) -> None:
    overlay = tmp_path / "leaky.yaml"
    overlay.write_text("config:\n  KAFKA_SASL_PASSWORD: hunter2\n")
    with pytest.raises(manifests.ValuesError, match="config/KAFKA_SASL_PASSWORD: a secret"):
        manifests.load_values([DEPLOY / "values.yaml", overlay], DEPLOY / "values.schema.json")


def test_oauthbearer_needs_a_keda_authentication_of_your_own(tmp_path: Path) -> None:
    overlay = tmp_path / "msk.yaml"
    overlay.write_text(
        "config:\n  KAFKA_SECURITY_PROTOCOL: SASL_SSL\n  KAFKA_SASL_MECHANISM: OAUTHBEARER\n"
        "  KAFKA_SASL_OAUTH_TOKEN_PROVIDER: om_platform.adapters.kafka.security:aws_msk_iam\n"
    )
    with pytest.raises(manifests.ValuesError, match="kafka/keda/authenticationSpec"):
        manifests.load_values([DEPLOY / "values.yaml", overlay], DEPLOY / "values.schema.json")
    with_keda = tmp_path / "msk-keda.yaml"
    with_keda.write_text("kafka:\n  keda:\n    authenticationSpec:\n      podIdentity: {provider: aws}\n")
    values = manifests.load_values(
        [DEPLOY / "values.yaml", overlay, with_keda], DEPLOY / "values.schema.json"
    )
    objects = manifests.render(values)
    assert by_kind(objects, "TriggerAuthentication")["om-kafka-auth"]["spec"] == {
        "podIdentity": {"provider": "aws"}
    }
    assert manifests.validate(objects, DEPLOY / "schemas" / "crds") == []


def test_hostname_check_off_never_turns_into_keda_unsafe_ssl_silently(tmp_path: Path) -> None:
    overlay = tmp_path / "no-hostname.yaml"
    overlay.write_text(
        "config:\n  KAFKA_SECURITY_PROTOCOL: SSL\n  KAFKA_SSL_CHECK_HOSTNAME: 'false'\n"
        "kafka:\n  tls: {secretName: ca, caKey: ca.crt}\n"
    )
    with pytest.raises(manifests.ValuesError, match="kafka/keda/extraMetadata/unsafeSsl"):
        manifests.load_values([DEPLOY / "values.yaml", overlay], DEPLOY / "values.schema.json")
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("kafka:\n  keda:\n    extraMetadata: {unsafeSsl: 'false'}\n")
    values = manifests.load_values([DEPLOY / "values.yaml", overlay, explicit], DEPLOY / "values.schema.json")
    for scaled in by_kind(manifests.render(values), "ScaledObject").values():
        assert all(t["metadata"]["unsafeSsl"] == "false" for t in scaled["spec"]["triggers"])


def test_scram_reads_the_password_key_of_strimzis_kafka_user_secret(tmp_path: Path) -> None:
    overlay = tmp_path / "scram.yaml"
    overlay.write_text(
        "config:\n  KAFKA_SECURITY_PROTOCOL: SASL_SSL\n  KAFKA_SASL_MECHANISM: SCRAM-SHA-512\n"
        "  KAFKA_SASL_USERNAME: om-netsuite\n"
        "kafka:\n  sasl: {passwordSecret: {name: om-netsuite, key: password}}\n"
        "  tls: {secretName: kafka-cluster-ca-cert, caKey: ca.crt}\n"
        "  strimzi: {user: {enabled: true, authentication: scram-sha-512}}\n"
    )
    values = manifests.load_values([DEPLOY / "values.yaml", overlay], DEPLOY / "values.schema.json")
    objects = manifests.render(values)
    assert manifests.validate(objects, DEPLOY / "schemas" / "crds") == []
    container = by_kind(objects, "StatefulSet")["order-sync"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "om-netsuite",
        "key": "password",
    }
    auth = by_kind(objects, "TriggerAuthentication")["om-kafka-auth"]["spec"]["secretTargetRef"]
    assert {"parameter": "password", "name": "om-netsuite", "key": "password"} in auth
    assert by_kind(objects, "KafkaUser")["om-netsuite"]["spec"]["authentication"] == {"type": "scram-sha-512"}


def test_egress_opens_the_otlp_collector_and_takes_extra_rules(tmp_path: Path) -> None:
    overlay = tmp_path / "egress.yaml"
    overlay.write_text(
        "networkPolicy:\n  otlp: {cidr: 10.1.0.0/16, ports: [4317]}\n"
        "  extraEgress: [{to: [{ipBlock: {cidr: 192.168.0.0/24}}], ports: [{port: 8200, protocol: TCP}]}]\n"
    )
    values = manifests.load_values([DEPLOY / "values.yaml", overlay], DEPLOY / "values.schema.json")
    objects = manifests.render(values)
    assert manifests.validate(objects, DEPLOY / "schemas" / "crds") == []
    egress = by_kind(objects, "NetworkPolicy")["order-sync"]["spec"]["egress"]
    assert {
        "to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}],
        "ports": [{"port": 4317, "protocol": "TCP"}],
    } in egress
    assert egress[-1]["ports"] == [{"port": 8200, "protocol": "TCP"}]
