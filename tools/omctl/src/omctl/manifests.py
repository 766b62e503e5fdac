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
Monitoring: a ServiceMonitor, a PrometheusRule whose groups are `deploy/monitoring/alerts.yaml`
(the file `promtool check rules` / `promtool test rules` run on) and the Grafana dashboard
`deploy/monitoring/dashboard.json` in a ConfigMap for Grafana's dashboard sidecar. A secured
Kafka (KAFKA_SECURITY_PROTOCOL in `config`) also gets a KEDA TriggerAuthentication built from the
same settings, and `kafka.tls.secretName` mounts the CA/client certificate the settings point at.
The YAML is plain: no anchors or aliases, whatever objects the renderer shares.
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
DEPLOY_DIR = Path(__file__).resolve().parents[4] / "deploy"  # the repository's, for the default
KEDA_AUTH = "om-kafka-auth"
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
    """Merge the values files in order and validate the result; raises ValuesError listing problems.

    The schema's own messages come first; the rules it cannot state (replicas against partitions,
    security settings against the TLS secret) are checked only on values that passed it, so a
    wrong type is reported as the schema error it is, never as a crash.
    """
    values: dict[str, Any] = {}
    for path in paths:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ValuesError(
                f"{path}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
            ) from None
        if not isinstance(loaded, dict):
            raise ValuesError(f"{path}: top level must be a mapping")
        values = _merge(values, loaded)
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    problems = sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(values)
    )
    if problems:
        raise ValuesError("; ".join(problems))
    problems = _rules(values)
    if problems:
        raise ValuesError("; ".join(sorted(problems)))
    return values


def _rules(values: dict[str, Any]) -> list[str]:
    """What the schema cannot say; runs on schema-valid values only."""
    problems: list[str] = []
    partitions = values["kafka"]["partitions"]
    for name, service in values["services"].items():
        if service["maxReplicas"] > partitions:
            problems.append(
                f"services/{name}/maxReplicas: {service['maxReplicas']} is more than the "
                f"{partitions} partitions; extra consumers would sit idle"
            )
        if service["replicas"] > service["maxReplicas"]:
            problems.append(f"services/{name}/replicas: more than maxReplicas")
    protocol = values["config"].get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    tls = values["kafka"].get("tls", {})
    if tls.get("secretName") and protocol not in ("SSL", "SASL_SSL"):
        problems.append(
            f"kafka/tls/secretName: set, but config/KAFKA_SECURITY_PROTOCOL is {protocol}, not SSL or SASL_SSL"
        )
    mechanism = values["config"].get("KAFKA_SASL_MECHANISM")
    if mechanism == "OAUTHBEARER" and not values["kafka"].get("keda", {}).get("authenticationSpec"):
        problems.append(
            "kafka/keda/authenticationSpec: KAFKA_SASL_MECHANISM=OAUTHBEARER needs KEDA's own way to get a token "
            "(e.g. podIdentity for MSK IAM); give its TriggerAuthentication spec here"
        )
    if (
        mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
        and "KAFKA_SASL_PASSWORD" not in values["secret"]["keys"]
    ):
        problems.append(
            f"secret/keys: KAFKA_SASL_MECHANISM={mechanism} needs KAFKA_SASL_PASSWORD in the Secret"
        )
    secrets = ("KAFKA_SASL_PASSWORD", "KAFKA_SSL_KEY_PASSWORD", "MONGODB_URL", "NETSUITE_CREDENTIALS_KEYS")
    problems.extend(
        f"config/{name}: a secret; list it in secret/keys instead of the ConfigMap"
        for name in secrets
        if name in values["config"]
    )
    return problems


def _k8s_name(service: str) -> str:
    return service.replace("_", "-")


def _meta(name: str, values: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": values["namespace"], "labels": PART_OF | (labels or {})}


def _grace_s(values: dict[str, Any]) -> float:
    default = ServiceSettings.model_fields["shutdown_grace_s"].default
    return float(values["config"].get("SHUTDOWN_GRACE_S", default))


def render(values: dict[str, Any], deploy_dir: Path | None = None) -> list[dict[str, Any]]:
    """Every object of the deployment, in apply order (`deploy_dir` holds monitoring/)."""
    deploy_dir = deploy_dir or DEPLOY_DIR
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
    auth = _trigger_authentication(values)
    if auth is not None:
        objects.append(auth)
    for service in ("order_sync", "stock_sync", "finance_sync"):
        objects.extend(_service(service, values["services"][service], values, auth))
    objects.extend(_monitoring(values, deploy_dir / "monitoring"))
    return objects


# KAFKA_SASL_MECHANISM -> the `sasl` mode of KEDA's Kafka scaler
_KEDA_SASL = {
    "PLAIN": "plaintext",
    "SCRAM-SHA-256": "scram_sha256",
    "SCRAM-SHA-512": "scram_sha512",
    "OAUTHBEARER": "oauthbearer",
}


def _trigger_metadata(values: dict[str, Any]) -> dict[str, str]:
    """KEDA trigger metadata for the services' own Kafka settings (same names as the pods get)."""
    config = values["config"]
    protocol = config.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    metadata: dict[str, str] = {}
    if protocol in ("SASL_SSL", "SASL_PLAINTEXT"):
        metadata["sasl"] = _KEDA_SASL[config.get("KAFKA_SASL_MECHANISM", "PLAIN")]
    if protocol in ("SSL", "SASL_SSL"):
        metadata["tls"] = "enable"
        if config.get("KAFKA_SSL_CHECK_HOSTNAME", "true").lower() == "false":
            metadata["unsafeSsl"] = "true"
    return metadata | {k: str(v) for k, v in values["kafka"].get("keda", {}).get("extraMetadata", {}).items()}


def _trigger_authentication(values: dict[str, Any]) -> dict[str, Any] | None:
    """KEDA's credentials for a secured cluster: the SASL user from the pods' own environment
    (KAFKA_SASL_USERNAME), the password from the services' Secret, the CA and client certificate
    from `kafka.tls.secretName` (PEM contents, as KEDA wants them)."""
    config = values["config"]
    protocol = config.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    override = values["kafka"].get("keda", {}).get("authenticationSpec")
    if protocol == "PLAINTEXT" and not override:
        return None
    spec: dict[str, Any]
    if override:
        spec = copy.deepcopy(override)
    else:
        secret_refs: list[dict[str, str]] = []
        env_refs: list[dict[str, str]] = []
        if config.get("KAFKA_SASL_MECHANISM") in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            env_refs.append({"parameter": "username", "name": "KAFKA_SASL_USERNAME"})
            secret_refs.append(
                {"parameter": "password", "name": values["secret"]["name"], "key": "KAFKA_SASL_PASSWORD"}
            )
        tls = values["kafka"].get("tls", {})
        if tls.get("secretName"):
            for parameter, key in (
                ("ca", tls.get("caKey")),
                ("cert", tls.get("certKey")),
                ("key", tls.get("keyKey")),
            ):
                if key:
                    secret_refs.append({"parameter": parameter, "name": tls["secretName"], "key": key})
        spec = {}
        if secret_refs:
            spec["secretTargetRef"] = secret_refs
        if env_refs:
            spec["env"] = env_refs
        if not spec:
            return None
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": _meta(KEDA_AUTH, values),
        "spec": spec,
    }


def _monitoring(values: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    monitoring = values.get("monitoring", {})
    objects: list[dict[str, Any]] = []
    if monitoring.get("serviceMonitor", {}).get("enabled", True):
        objects.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": _meta(
                    "om-netsuite", values, monitoring.get("serviceMonitor", {}).get("labels", {})
                ),
                "spec": {
                    "selector": {"matchLabels": PART_OF | {"app.kubernetes.io/component": "service"}},
                    "namespaceSelector": {"matchNames": [values["namespace"]]},
                    "endpoints": [
                        {
                            "port": "http",
                            "path": "/metrics",
                            "interval": monitoring.get("serviceMonitor", {}).get("interval", "30s"),
                        }
                    ],
                },
            }
        )
    if monitoring.get("prometheusRule", {}).get("enabled", True):
        rules = yaml.safe_load((folder / "alerts.yaml").read_text(encoding="utf-8"))
        objects.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": _meta(
                    "om-netsuite-alerts", values, monitoring.get("prometheusRule", {}).get("labels", {})
                ),
                "spec": {"groups": rules["groups"]},
            }
        )
    dashboard = monitoring.get("grafanaDashboard", {})
    if dashboard.get("enabled", True):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta(
                    "om-netsuite-dashboard", values, dashboard.get("labels", {"grafana_dashboard": "1"})
                ),
                "data": {"om-netsuite.json": (folder / "dashboard.json").read_text(encoding="utf-8")},
            }
        )
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


def _service(
    service: str, spec: dict[str, Any], values: dict[str, Any], auth: dict[str, Any] | None
) -> list[dict[str, Any]]:
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
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    # the root filesystem is read-only; Python and httpx may still want a temp dir
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 - an emptyDir
    tls = values["kafka"].get("tls", {})
    if tls.get("secretName"):
        # KAFKA_SSL_CAFILE/CERTFILE/KEYFILE point into the mounted Secret
        mount_path = tls.get("mountPath", "/etc/kafka-tls")
        volumes.append(
            {"name": "kafka-tls", "secret": {"secretName": tls["secretName"], "defaultMode": 0o440}}
        )
        mounts.append({"name": "kafka-tls", "mountPath": mount_path, "readOnly": True})
        for setting, key in (
            ("KAFKA_SSL_CAFILE", tls.get("caKey")),
            ("KAFKA_SSL_CERTFILE", tls.get("certKey")),
            ("KAFKA_SSL_KEYFILE", tls.get("keyKey")),
        ):
            if key:
                env.append({"name": setting, "value": f"{mount_path}/{key}"})
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
        "volumeMounts": mounts,
    }
    annotations = (
        {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(HTTP_PORT),
            "prometheus.io/path": "/metrics",
        }
        if values.get("monitoring", {}).get("podAnnotations", False)
        else {}
    )
    spread = values.get("topologySpread", {})
    pod = {
        "metadata": {"labels": labels} | ({"annotations": annotations} if annotations else {}),
        "spec": {
            "serviceAccountName": name,
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
            "volumes": volumes,
            # across zones first (a zone outage leaves replicas elsewhere), then across nodes
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": spread.get("zone", "ScheduleAnyway"),
                    "labelSelector": {"matchLabels": selector},
                },
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": spread.get("node", "ScheduleAnyway"),
                    "labelSelector": {"matchLabels": selector},
                },
            ],
        },
    }
    bootstrap = values["config"].get("KAFKA_BOOTSTRAP_SERVERS", "")
    trigger_metadata = _trigger_metadata(values)
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(name, values, labels),
            # the services never call the Kubernetes API
            "automountServiceAccountToken": False,
        },
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
                        }
                        | trigger_metadata,
                    }
                    | ({"authenticationRef": {"name": KEDA_AUTH}} if auth is not None else {})
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


class _PlainDumper(yaml.SafeDumper):
    """No `&id001` anchors: objects shared between manifests are written out in full each time."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(objects: Iterable[dict[str, Any]]) -> str:
    return yaml.dump_all(list(objects), Dumper=_PlainDumper, sort_keys=False, default_flow_style=False)
