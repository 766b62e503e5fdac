"""Kubernetes manifests from `deploy/values.yaml`: rendered in Python, validated against schemas.

Why not Helm: no Helm binary installs from PyPI, npm or Debian here, and CI must render and
validate with tools from those registries only. The chart is therefore plain data: values
(validated by `deploy/values.schema.json`, the same role as Helm's values.schema.json) and this
renderer; overlays are further values files merged on top (`--values base.yaml --values prod.yaml`).
Every rendered object is validated against the Kubernetes OpenAPI schemas bundled in the PyPI
package `kubernetes-validate`, and the two CRDs (Strimzi KafkaTopic, KEDA ScaledObject) against
the schemas in `deploy/schemas/`.

Decisions (see deploy/README.md): one StatefulSet per service so each pod has a stable name, used
as `KAFKA_GROUP_INSTANCE_ID` (static membership: a rolling restart does not rebalance the group);
`terminationGracePeriodSeconds` = `SHUTDOWN_GRACE_S` + 15 s; KEDA scales on consumer lag with
`maxReplicaCount` no larger than the partition count (more consumers than partitions sit idle).
Topics are generated from `om_contracts.TOPICS`, with a `.dlq` topic for every consumed topic.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from om_contracts import TOPICS, dead_letter_topic
from om_platform.settings import ServiceSettings

HTTP_PORT = 8080
APP_LABEL = "app.kubernetes.io/name"
PART_OF = {"app.kubernetes.io/part-of": "ordermentum-netsuite"}
GRACE_MARGIN_S = 15


class ValuesError(ValueError):
    """The values do not satisfy the schema or the rules the schema cannot express."""


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_values(paths: Sequence[Path], schema_path: Path) -> dict[str, Any]:
    """Merge the values files in order and validate the result; raises ValuesError listing problems."""
    values: dict[str, Any] = {}
    for path in paths:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValuesError(f"{path}: top level must be a mapping")
        values = _merge(values, loaded)
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(values)
    ]
    for name, service in values.get("services", {}).items():
        if service.get("maxReplicas", 0) > values.get("kafka", {}).get("partitions", 0):
            problems.append(
                f"services/{name}/maxReplicas: {service['maxReplicas']} is more than the "
                f"{values['kafka']['partitions']} partitions; extra consumers would sit idle"
            )
        if service.get("replicas", 0) > service.get("maxReplicas", 0):
            problems.append(f"services/{name}/replicas: more than maxReplicas")
    if problems:
        raise ValuesError("; ".join(sorted(problems)))
    return values


def _k8s_name(service: str) -> str:
    return service.replace("_", "-")


def _meta(name: str, values: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": values["namespace"], "labels": PART_OF | (labels or {})}


def _grace_s(values: dict[str, Any]) -> float:
    default = ServiceSettings.model_fields["shutdown_grace_s"].default
    return float(values["config"].get("SHUTDOWN_GRACE_S", default))


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object of the deployment, in apply order."""
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": values["namespace"], "labels": PART_OF},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("om-netsuite-config", values),
            "data": dict(values["config"]),
        },
    ]
    objects.extend(_topics(values))
    for service in ("order_sync", "stock_sync", "finance_sync"):
        objects.extend(_service(service, values["services"][service], values))
    return objects


def _topics(values: dict[str, Any]) -> Iterable[dict[str, Any]]:
    kafka = values["kafka"]
    for topic in TOPICS:
        config: dict[str, Any] = (
            {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}
            if topic.compacted
            else {"cleanup.policy": "delete", "retention.ms": kafka["retentionMs"]}
        )
        # the record size limit from the contract: a .dlq topic takes its source's records plus headers
        config["max.message.bytes"] = topic.max_message_bytes
        names = [(topic.name, config)]
        if topic.direction == "inbound":
            names.append(
                (
                    dead_letter_topic(topic.name),
                    {
                        "cleanup.policy": "delete",
                        "retention.ms": kafka["dlqRetentionMs"],
                        "max.message.bytes": topic.dead_letter_max_message_bytes,
                    },
                )
            )
        for name, topic_config in names:
            yield {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaTopic",
                "metadata": {
                    "name": name,
                    "namespace": kafka["namespace"],
                    "labels": PART_OF | {"strimzi.io/cluster": kafka["cluster"]},
                },
                "spec": {
                    "topicName": name,
                    "partitions": kafka["partitions"],
                    "replicas": kafka["replicas"],
                    "config": topic_config | ({"min.insync.replicas": 2} if kafka["replicas"] >= 3 else {}),
                },
            }


def _service(service: str, spec: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    name = _k8s_name(service)
    selector = {APP_LABEL: name}
    labels = selector | {"app.kubernetes.io/component": "service"}
    image = f"{values['image']['registry']}/{name}:{values['image']['tag']}"
    secret_env = [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": values["secret"]["name"], "key": key}}}
        for key in values["secret"]["keys"]
    ]
    env = [
        *secret_env,
        # static membership: the pod name is stable in a StatefulSet and survives a restart
        {"name": "KAFKA_GROUP_INSTANCE_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "HTTP_PORT", "value": str(HTTP_PORT)},
    ]
    probe = {"port": "http"}
    container = {
        "name": name,
        "image": image,
        "imagePullPolicy": values["image"].get("pullPolicy", "IfNotPresent"),
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "envFrom": [
            {"configMapRef": {"name": "om-netsuite-config"}},
            {"configMapRef": {"name": f"{name}-config"}},
        ],
        "env": env,
        "livenessProbe": {
            "httpGet": probe | {"path": "/health/live"},
            "periodSeconds": 10,
            "failureThreshold": 3,
            "timeoutSeconds": 3,
        },
        "readinessProbe": {
            "httpGet": probe | {"path": "/health/ready"},
            "periodSeconds": 5,
            "failureThreshold": 3,
            "timeoutSeconds": 4,
        },
        "startupProbe": {
            "httpGet": probe | {"path": "/health/live"},
            "periodSeconds": 2,
            "failureThreshold": 60,
        },
        "resources": spec["resources"],
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        # the root filesystem is read-only; Python and httpx may still want a temp dir
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir, not a shared /tmp
    }
    pod = {
        "metadata": {
            "labels": labels,
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(HTTP_PORT),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            "terminationGracePeriodSeconds": math.ceil(_grace_s(values)) + GRACE_MARGIN_S,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "automountServiceAccountToken": False,
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": selector},
                }
            ],
        },
    }
    bootstrap = values["config"].get("KAFKA_BOOTSTRAP_SERVERS", "")
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(f"{name}-config", values, labels),
            "data": dict(spec["env"]),
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(name, values, labels),
            "spec": {
                "clusterIP": "None",
                "selector": selector,
                "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": _meta(name, values, labels),
            "spec": {
                "serviceName": name,
                "replicas": spec["replicas"],
                "podManagementPolicy": "Parallel",
                "updateStrategy": {"type": "RollingUpdate"},
                "selector": {"matchLabels": selector},
                "template": pod,
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(name, values, labels),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        },
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": _meta(name, values, labels),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name},
                "pollingInterval": 30,
                "cooldownPeriod": 300,
                "minReplicaCount": spec["replicas"],
                "maxReplicaCount": min(spec["maxReplicas"], values["kafka"]["partitions"]),
                "triggers": [
                    {
                        "type": "kafka",
                        "metadata": {
                            "bootstrapServers": bootstrap,
                            "consumerGroup": group,
                            "topic": topic,
                            "lagThreshold": str(spec["lagThreshold"]),
                            "offsetResetPolicy": "earliest",
                            "allowIdleConsumers": "false",
                        },
                    }
                    for group, topic in sorted(spec["consumerGroups"].items())
                ],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(name, values, labels),
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": values["monitoringNamespace"]
                                    }
                                }
                            }
                        ],
                        "ports": [{"port": HTTP_PORT, "protocol": "TCP"}],
                    }
                ],
                "egress": [
                    {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                    {
                        "to": [{"ipBlock": {"cidr": values["kafka"]["brokerCidr"]}}],
                        "ports": [{"port": values["kafka"]["brokerPort"], "protocol": "TCP"}],
                    },
                    {
                        "to": [{"ipBlock": {"cidr": values["mongodb"]["cidr"]}}],
                        "ports": [{"port": values["mongodb"]["port"], "protocol": "TCP"}],
                    },
                    # NetSuite (<account>.suitetalk.api.netsuite.com) has no fixed addresses
                    {"ports": [{"port": 443, "protocol": "TCP"}]},
                ],
            },
        },
    ]


def validate(
    objects: Sequence[dict[str, Any]], crd_schemas: Path, kubernetes_version: str = "1.31.0"
) -> list[str]:
    """Problems found validating each object (empty when all are valid)."""
    import kubernetes_validate  # type: ignore[import-untyped]  # no py.typed; dev/CI tool imported only here

    problems: list[str] = []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        group = obj["apiVersion"].split("/")[0].split(".")[0]
        version = obj["apiVersion"].split("/")[-1]
        custom = crd_schemas / f"{obj['kind'].lower()}-{group}-{version}.json"
        if custom.exists():
            schema = json.loads(custom.read_text(encoding="utf-8"))
            problems.extend(
                f"{where}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(obj)
            )
            continue
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{where}: {exc.message} at {'/'.join(str(p) for p in exc.absolute_path)}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{where}: no schema for {obj['apiVersion']} {obj['kind']}")
    return problems


def to_yaml(objects: Iterable[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(list(objects), sort_keys=False, default_flow_style=False)
