"""Kubernetes manifests from `deploy/values.yaml`: rendered in Python, validated against schemas.

Why not Helm: no Helm binary installs from PyPI, npm or Debian here, and CI must render and
validate with tools from those registries only. The chart is therefore plain data: values
(validated by `deploy/values.schema.json`, the same role as Helm's values.schema.json) and this
renderer; overlays are further values files merged on top (`--values base.yaml --values prod.yaml`).
Every rendered object is validated against the Kubernetes OpenAPI schemas bundled in the PyPI
package `kubernetes-validate`, and the custom objects (Strimzi, KEDA, Prometheus Operator) against
the upstream CRDs vendored unmodified in `deploy/schemas/crds/` (SOURCES.md: project, tag, commit).
The same objects, split one file per object, form the Kustomize tree `deploy/kustomize/`
(`write_kustomize`, `python -m omctl.manifests --write`; tests/deploy checks it has not drifted).

Decisions (see deploy/README.md): one StatefulSet per service so each pod has a stable name, used
as `KAFKA_GROUP_INSTANCE_ID` (static membership: a rolling restart does not rebalance the group);
`terminationGracePeriodSeconds` = `SHUTDOWN_GRACE_S` + 15 s; KEDA scales on consumer lag with
`maxReplicaCount` no larger than the partition count (more consumers than partitions sit idle).
Topics are generated from `om_contracts.TOPICS`, with a `.dlq` topic for every consumed topic; the
upstream `ordermentum.*` topics belong to the upstream team and are rendered only when asked
(`kafka.strimzi.upstreamTopics`). Strimzi objects, KEDA objects and a KafkaUser are optional, and
with KEDA on the StatefulSets carry no `replicas` (KEDA owns it; an apply must not reset it).
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
from dataclasses import dataclass
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
# Strimzi 1.x serves kafka.strimzi.io/v1 only (deploy/schemas/crds/strimzi_kafkatopics.yaml)
STRIMZI_API = "kafka.strimzi.io/v1"


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
    keda = values["kafka"].get("keda", {})
    if tls.get("clientSecretName") and not (tls.get("certKey") and tls.get("keyKey")):
        problems.append(
            "kafka/tls/clientSecretName: set, but certKey and keyKey are not (user.crt, user.key)"
        )
    if (
        _keda_on(values)
        and values["config"].get("KAFKA_SSL_CHECK_HOSTNAME", "true").lower() == "false"
        and "unsafeSsl" not in keda.get("extraMetadata", {})
    ):
        # KEDA's Kafka scaler has no hostname-only switch: its unsafeSsl turns every certificate check off
        problems.append(
            "kafka/keda/extraMetadata/unsafeSsl: KAFKA_SSL_CHECK_HOSTNAME=false, but KEDA cannot skip only the "
            "hostname check (unsafeSsl skips all certificate verification); set unsafeSsl to 'false' (KEDA "
            "checks the hostname) or 'true' (KEDA verifies nothing), or turn KEDA off"
        )
    if mechanism == "OAUTHBEARER" and _keda_on(values) and not keda.get("authenticationSpec"):
        problems.append(
            "kafka/keda/authenticationSpec: KAFKA_SASL_MECHANISM=OAUTHBEARER needs KEDA's own way to get a token "
            "(e.g. podIdentity for MSK IAM); give its TriggerAuthentication spec here"
        )
    if (
        mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
        and "KAFKA_SASL_PASSWORD" not in values["secret"]["keys"]
        and not _password_secret(values)
    ):
        problems.append(
            f"secret/keys: KAFKA_SASL_MECHANISM={mechanism} needs KAFKA_SASL_PASSWORD in the Secret "
            "(or kafka/sasl/passwordSecret, e.g. Strimzi's KafkaUser Secret and its `password` key)"
        )
    secrets = ("KAFKA_SASL_PASSWORD", "KAFKA_SSL_KEY_PASSWORD", "MONGODB_URL", "NETSUITE_CREDENTIALS_KEYS")
    problems.extend(
        f"config/{name}: a secret; list it in secret/keys instead of the ConfigMap"
        for name in secrets
        if name in values["config"]
    )
    return problems


def _keda_on(values: dict[str, Any]) -> bool:
    return bool(values["kafka"].get("keda", {}).get("enabled", True))


def _strimzi(values: dict[str, Any]) -> dict[str, Any]:
    return dict(values["kafka"].get("strimzi", {}))


def _password_secret(values: dict[str, Any]) -> tuple[str, str] | None:
    """(Secret, key) holding KAFKA_SASL_PASSWORD when it is not a key of the services' Secret:
    Strimzi's KafkaUser Secret keeps a SCRAM user's password under `password`."""
    given = values["kafka"].get("sasl", {}).get("passwordSecret", {})
    if not given.get("name"):
        return None
    return str(given["name"]), str(given.get("key", "password"))


def _tls_files(values: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(setting, Secret, key, KEDA parameter) of each TLS file: the CA from `tls.secretName` and the
    client certificate and key from `tls.clientSecretName` (Strimzi's cluster CA Secret holds
    `ca.crt`, its KafkaUser Secret `user.crt` and `user.key`), or from `secretName` when one Secret
    holds all three."""
    tls = values["kafka"].get("tls", {})
    if not tls.get("secretName"):
        return []
    client = tls.get("clientSecretName") or tls["secretName"]
    found = [("KAFKA_SSL_CAFILE", tls["secretName"], tls.get("caKey"), "ca")]
    found += [
        ("KAFKA_SSL_CERTFILE", client, tls.get("certKey"), "cert"),
        ("KAFKA_SSL_KEYFILE", client, tls.get("keyKey"), "key"),
    ]
    return [(setting, secret, key, parameter) for setting, secret, key, parameter in found if key]


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
    strimzi = _strimzi(values)
    if strimzi.get("topics", True):
        objects.extend(_topics(values))
    if strimzi.get("user", {}).get("enabled", False):
        objects.append(_kafka_user(values))
    auth = _trigger_authentication(values) if _keda_on(values) else None
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
        # KAFKA_SSL_CHECK_HOSTNAME=false is never mapped to unsafeSsl (it disables every certificate
        # check in KEDA): _rules asks for an explicit extraMetadata.unsafeSsl instead
        metadata["tls"] = "enable"
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
            secret, key = _password_secret(values) or (values["secret"]["name"], "KAFKA_SASL_PASSWORD")
            secret_refs.append({"parameter": "password", "name": secret, "key": key})
        secret_refs += [
            {"parameter": parameter, "name": secret, "key": key}
            for _, secret, key, parameter in _tls_files(values)
        ]
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
    upstream = _strimzi(values).get("upstreamTopics", False)
    for topic in TOPICS:
        config: dict[str, Any] = (
            {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"}
            if topic.compacted
            else {"cleanup.policy": "delete", "retention.ms": kafka["retentionMs"]}
        )
        # the record size limit from the contract: a .dlq topic takes its source's records plus headers
        config["max.message.bytes"] = topic.max_message_bytes
        # inbound topics are the upstream team's (ordermentum.*); their .dlq topics are ours
        names = [(topic.name, config)] if upstream or topic.direction != "inbound" else []
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
                "apiVersion": STRIMZI_API,
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


def _kafka_user(values: dict[str, Any]) -> dict[str, Any]:
    """A Strimzi KafkaUser for the three services: read and write the contract topics and their
    dead-letter topics, describe them (preflight), and join the `om.` consumer groups. The User
    Operator writes its Secret under the user's name: `user.crt`/`user.key` (tls) or `password`
    (scram-sha-512), the keys `kafka.tls.clientSecretName` / `kafka.sasl.passwordSecret` read."""
    kafka = values["kafka"]
    user = _strimzi(values).get("user", {})
    topics = sorted(
        {t.name for t in TOPICS} | {dead_letter_topic(t.name) for t in TOPICS if t.direction == "inbound"}
    )
    acls: list[dict[str, Any]] = [
        {
            "resource": {"type": "topic", "name": name, "patternType": "literal"},
            "operations": ["Read", "Write", "Describe"],
        }
        for name in topics
    ]
    acls.append(
        {"resource": {"type": "group", "name": "om.", "patternType": "prefix"}, "operations": ["Read"]}
    )
    return {
        "apiVersion": STRIMZI_API,
        "kind": "KafkaUser",
        "metadata": {
            "name": user.get("name", "om-netsuite"),
            "namespace": kafka["namespace"],
            "labels": PART_OF | {"strimzi.io/cluster": kafka["cluster"]},
        },
        "spec": {
            "authentication": {"type": user.get("authentication", "tls")},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


def _egress(values: dict[str, Any]) -> list[dict[str, Any]]:
    policy = values.get("networkPolicy", {})
    rules: list[dict[str, Any]] = [
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
    ]
    otlp = policy.get("otlp", {})
    if otlp.get("cidr"):  # the OpenTelemetry collector: 4317 gRPC, 4318 HTTP
        rules.append(
            {
                "to": [{"ipBlock": {"cidr": otlp["cidr"]}}],
                "ports": [{"port": port, "protocol": "TCP"} for port in otlp.get("ports", [4317, 4318])],
            }
        )
    extra: list[dict[str, Any]] = copy.deepcopy(policy.get("extraEgress", []))
    return rules + extra


# The container's probes and the pod's and container's security settings: the same for every service.
_PROBES: dict[str, dict[str, Any]] = {
    "livenessProbe": {
        "path": "/health/live",
        "periodSeconds": 10,
        "failureThreshold": 3,
        "timeoutSeconds": 3,
    },
    "readinessProbe": {
        "path": "/health/ready",
        "periodSeconds": 5,
        "failureThreshold": 3,
        "timeoutSeconds": 4,
    },
    "startupProbe": {"path": "/health/live", "periodSeconds": 2, "failureThreshold": 60},
}
_CONTAINER_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
_POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
_PROMETHEUS_ANNOTATIONS = {
    "prometheus.io/scrape": "true",
    "prometheus.io/port": str(HTTP_PORT),
    "prometheus.io/path": "/metrics",
}
# across zones first (a zone outage leaves replicas elsewhere), then across nodes
_SPREAD_KEYS = (("zone", "topology.kubernetes.io/zone"), ("node", "kubernetes.io/hostname"))


@dataclass(frozen=True)
class _Service:
    """What every object of one service is rendered from."""

    name: str
    spec: dict[str, Any]
    values: dict[str, Any]
    auth: dict[str, Any] | None

    @property
    def selector(self) -> dict[str, str]:
        return {APP_LABEL: self.name}

    @property
    def labels(self) -> dict[str, str]:
        return self.selector | {"app.kubernetes.io/component": "service"}

    def meta(self, name: str | None = None) -> dict[str, Any]:
        return _meta(name or self.name, self.values, self.labels)


def _secret_env(values: dict[str, Any]) -> list[dict[str, Any]]:
    env = [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": values["secret"]["name"], "key": key}}}
        for key in values["secret"]["keys"]
    ]
    password = _password_secret(values)
    if password is not None and "KAFKA_SASL_PASSWORD" not in values["secret"]["keys"]:
        env.append(
            {
                "name": "KAFKA_SASL_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": password[0], "key": password[1]}},
            }
        )
    return env


def _tls_volume(
    values: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts, env) for the Kafka TLS files, empty without them: one directory with the CA
    and the client certificate and key, whichever Secrets hold them (Strimzi: <cluster>-cluster-ca-cert
    and the KafkaUser's); KAFKA_SSL_* point into it."""
    files = _tls_files(values)
    if not files:
        return [], [], []
    mount_path = values["kafka"]["tls"].get("mountPath", "/etc/kafka-tls")
    secrets: dict[str, list[str]] = {}
    for _, secret, key, _ in files:
        secrets.setdefault(secret, []).append(key)
    volume = {
        "name": "kafka-tls",
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {"secret": {"name": secret, "items": [{"key": k, "path": k} for k in keys]}}
                for secret, keys in secrets.items()
            ],
        },
    }
    mount = {"name": "kafka-tls", "mountPath": mount_path, "readOnly": True}
    env = [{"name": setting, "value": f"{mount_path}/{key}"} for setting, _, key, _ in files]
    return [volume], [mount], env


def _container(svc: _Service, mounts: list[dict[str, Any]], tls_env: list[dict[str, Any]]) -> dict[str, Any]:
    values = svc.values
    env = [
        *_secret_env(values),
        # static membership: the pod name is stable in a StatefulSet and survives a restart
        {"name": "KAFKA_GROUP_INSTANCE_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "HTTP_PORT", "value": str(HTTP_PORT)},
        *tls_env,
    ]
    probes = {
        kind: {"httpGet": {"port": "http", "path": probe["path"]}}
        | {k: v for k, v in probe.items() if k != "path"}
        for kind, probe in _PROBES.items()
    }
    return {
        "name": svc.name,
        "image": f"{values['image']['registry']}/{svc.name}:{values['image']['tag']}",
        "imagePullPolicy": values["image"].get("pullPolicy", "IfNotPresent"),
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "envFrom": [
            {"configMapRef": {"name": "om-netsuite-config"}},
            {"configMapRef": {"name": f"{svc.name}-config"}},
        ],
        "env": env,
        **probes,
        "resources": svc.spec["resources"],
        "securityContext": copy.deepcopy(_CONTAINER_SECURITY),
        "volumeMounts": mounts,
    }


def _pod(svc: _Service) -> dict[str, Any]:
    tls_volumes, tls_mounts, tls_env = _tls_volume(svc.values)
    volumes = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, *tls_volumes]
    # the root filesystem is read-only; Python and httpx may still want a temp dir
    mounts = [{"name": "tmp", "mountPath": "/tmp"}, *tls_mounts]  # noqa: S108 - an emptyDir
    annotated = svc.values.get("monitoring", {}).get("podAnnotations", False)
    spread = svc.values.get("topologySpread", {})
    return {
        "metadata": {"labels": svc.labels}
        | ({"annotations": dict(_PROMETHEUS_ANNOTATIONS)} if annotated else {}),
        "spec": {
            "serviceAccountName": svc.name,
            "terminationGracePeriodSeconds": math.ceil(_grace_s(svc.values)) + GRACE_MARGIN_S,
            "securityContext": copy.deepcopy(_POD_SECURITY),
            "automountServiceAccountToken": False,
            "containers": [_container(svc, mounts, tls_env)],
            "volumes": volumes,
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": topology_key,
                    "whenUnsatisfiable": spread.get(setting, "ScheduleAnyway"),
                    "labelSelector": {"matchLabels": svc.selector},
                }
                for setting, topology_key in _SPREAD_KEYS
            ],
        },
    }


def _service_account(svc: _Service) -> dict[str, Any]:
    annotations = svc.values.get("serviceAccount", {}).get("annotations")
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": svc.meta() | ({"annotations": dict(annotations)} if annotations else {}),
        # the services never call the Kubernetes API
        "automountServiceAccountToken": False,
    }


def _config_map(svc: _Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": svc.meta(f"{svc.name}-config"),
        "data": dict(svc.spec["env"]),
    }


def _headless_service(svc: _Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": svc.meta(),
        "spec": {
            "clusterIP": "None",
            "selector": svc.selector,
            "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http"}],
        },
    }


def _stateful_set(svc: _Service) -> dict[str, Any]:
    workload: dict[str, Any] = {
        "serviceName": svc.name,
        # with KEDA on, KEDA owns the replica count: a rendered value would reset it on every apply
        **({} if _keda_on(svc.values) else {"replicas": svc.spec["replicas"]}),
        "podManagementPolicy": "Parallel",
        "updateStrategy": {"type": "RollingUpdate"},
        "selector": {"matchLabels": svc.selector},
        "template": _pod(svc),
    }
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": svc.meta(), "spec": workload}


def _disruption_budget(svc: _Service) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": svc.meta(),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": svc.selector}},
    }


def _network_policy(svc: _Service) -> dict[str, Any]:
    monitoring = {"kubernetes.io/metadata.name": svc.values["monitoringNamespace"]}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": svc.meta(),
        "spec": {
            "podSelector": {"matchLabels": svc.selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": monitoring}}],
                    "ports": [{"port": HTTP_PORT, "protocol": "TCP"}],
                }
            ],
            "egress": _egress(svc.values),
        },
    }


# Every service renders these objects, in this order (the ScaledObject follows when KEDA is on).
_SERVICE_OBJECTS = (
    _service_account,
    _config_map,
    _headless_service,
    _stateful_set,
    _disruption_budget,
    _network_policy,
)


def _service(
    service: str, spec: dict[str, Any], values: dict[str, Any], auth: dict[str, Any] | None
) -> list[dict[str, Any]]:
    svc = _Service(_k8s_name(service), spec, values, auth)
    objects = [build(svc) for build in _SERVICE_OBJECTS]
    if _keda_on(values):
        objects.append(_scaled_object(svc.name, spec, values, svc.labels, auth))
    return objects


def _scaled_object(
    name: str,
    spec: dict[str, Any],
    values: dict[str, Any],
    labels: dict[str, str],
    auth: dict[str, Any] | None,
) -> dict[str, Any]:
    bootstrap = values["config"].get("KAFKA_BOOTSTRAP_SERVERS", "")
    trigger_metadata = _trigger_metadata(values)
    return {
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
    }


def crd_schemas(crds: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the openAPIV3Schema of every served version of the vendored CRDs,
    made strict: an object with declared properties refuses unknown ones (what the API server's
    strict field validation does), unless the CRD preserves unknown fields there."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(crds.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served", True):
                    schema = _strict(version["schema"]["openAPIV3Schema"])
                    found[(f"{group}/{version['name']}", kind)] = schema
    return found


def _strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def validate(objects: Sequence[dict[str, Any]], crds: Path, kubernetes_version: str = "1.31.0") -> list[str]:
    """Problems found validating each object (empty when all are valid): built-in kinds against the
    Kubernetes OpenAPI schemas (kubernetes-validate, strict), custom ones against the vendored CRDs
    in `crds` (deploy/schemas/crds)."""
    import kubernetes_validate  # type: ignore[import-untyped]  # no py.typed; dev/CI tool imported only here

    schemas = crd_schemas(crds / "crds" if (crds / "crds").is_dir() else crds)  # deploy/schemas or its crds/
    problems: list[str] = []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        custom = schemas.get((obj["apiVersion"], obj["kind"]))
        if custom is not None:
            problems.extend(
                f"{where}: {e.message} at {'/'.join(str(p) for p in e.absolute_path)}"
                for e in jsonschema.Draft7Validator(custom).iter_errors(obj)
            )
            continue
        group = obj["apiVersion"].rpartition("/")[0]
        if "." in group and not group.endswith(".k8s.io"):  # a custom resource without its CRD here
            problems.append(f"{where}: no vendored CRD serves {obj['apiVersion']} {obj['kind']}")
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

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 -- yaml.SafeDumper override
        return True


def to_yaml(objects: Iterable[Any]) -> str:
    return yaml.dump_all(list(objects), Dumper=_PlainDumper, sort_keys=False, default_flow_style=False)


# -- Kustomize tree ------------------------------------------------------------------------------
# deploy/kustomize/ is generated from the same objects (`python -m omctl.manifests --write`), one
# file per object, in the subset of kustomize that both kubectl's embedded kustomize v2.0.3 (Debian's
# kubernetes-client 1.20, what the tests run) and kustomize v5 (Argo CD, Flux, kubectl >= 1.27)
# accept: `bases`, `resources`, `patchesStrategicMerge`, `patchesJson6902` (v5 warns they are
# deprecated; `kustomize edit fix` rewrites them). Optional parts are bases an overlay lists
# (kustomize `components` do not exist in v2.0.3). Each overlay's patches are computed as the
# difference between the default values and the overlay's `values.yaml`, so an overlay renders
# exactly what `omctl deploy render -f deploy/values.yaml -f <overlay>/values.yaml` renders.

KUSTOMIZE_DIR = DEPLOY_DIR / "kustomize"
_GENERATED = "# Generated by `python -m omctl.manifests --write` from deploy/values.yaml: do not edit.\n"

# optional base -> which rendered objects it holds
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "keda": ("ScaledObject", "TriggerAuthentication"),
    "monitoring": ("ServiceMonitor", "PrometheusRule", "ConfigMap/om-netsuite-dashboard"),
    "strimzi-topics": ("KafkaTopic",),
    "strimzi-user": ("KafkaUser",),
}


def _part(obj: dict[str, Any]) -> str:
    for part, kinds in _OPTIONAL.items():
        if obj["kind"] in kinds or f"{obj['kind']}/{obj['metadata']['name']}" in kinds:
            return part
    return "base"


def _file_name(obj: dict[str, Any]) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def _pointer(path: Sequence[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def json_patch(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """RFC 6902 operations turning `old` into `new` (lists: per item when the lengths match,
    appended items when `old` is a prefix of `new`, else replaced whole)."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = [
            {"op": "remove", "path": _pointer((*path, key))} for key in old if key not in new
        ]
        for key, value in new.items():
            if key not in old:
                ops.append({"op": "add", "path": _pointer((*path, key)), "value": value})
            else:
                ops += json_patch(old[key], value, (*path, key))
        return ops
    if isinstance(old, list) and isinstance(new, list):
        if len(old) == len(new):
            return [
                op
                for i, (a, b) in enumerate(zip(old, new, strict=True))
                for op in json_patch(a, b, (*path, i))
            ]
        if len(old) < len(new) and new[: len(old)] == old:
            return [{"op": "add", "path": _pointer((*path, "-")), "value": v} for v in new[len(old) :]]
    return [{"op": "replace", "path": _pointer(path), "value": new}]


def _strip_namespace(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].pop("namespace", None)
    return out


def _kustomization(fields: dict[str, Any]) -> str:
    return _GENERATED + yaml.dump(fields, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False)


def _overlay_files(
    overlay: dict[str, Any],
    base_values: dict[str, Any],
    deploy_dir: Path,
) -> dict[str, str]:
    """The files of one overlay: its values, a kustomization listing the bases it uses and the
    patches from the base objects to the overlay's, and the objects only the overlay has."""
    values = _merge(base_values, overlay["values"])
    base_objects = {
        (o["kind"], o["metadata"]["name"]): o for o in render(_base_values(base_values), deploy_dir)
    }
    files: dict[str, str] = {
        "values.yaml": _GENERATED
        + "# the values this overlay renders (merged on deploy/values.yaml)\n"
        + yaml.dump(overlay["values"], Dumper=_PlainDumper, sort_keys=False)
    }
    resources: list[str] = []
    patches: list[dict[str, Any]] = []
    parts: set[str] = set()
    namespace = values["namespace"]
    for obj in render(values, deploy_dir):
        if obj["kind"] == "Namespace":
            continue
        part = _part(obj)
        if part not in overlay["parts"]:
            continue
        parts.add(part)
        namespace = obj["metadata"].get("namespace", namespace)
        before = base_objects.get((obj["kind"], obj["metadata"]["name"]))
        if before is None:
            files[_file_name(obj)] = _GENERATED + to_yaml([_strip_namespace(obj)])
            resources.append(_file_name(obj))
            continue
        ops = json_patch(_strip_namespace(before), _strip_namespace(obj))
        if ops:
            patch = f"patch-{_file_name(obj)}"
            files[patch] = _GENERATED + to_yaml([ops])
            group, _, version = obj["apiVersion"].rpartition("/")
            target = {
                "group": group,
                "version": version,
                "kind": obj["kind"],
                "name": obj["metadata"]["name"],
            }
            patches.append({"target": {k: v for k, v in target.items() if v}, "path": patch})
    if "base" in overlay["parts"]:
        files["namespace.yaml"] = _GENERATED + to_yaml(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": PART_OF}}]
        )
        resources.insert(0, "namespace.yaml")
    fields: dict[str, Any] = {"namespace": namespace}
    fields["bases"] = [f"../../{part}" for part in ("base", *_OPTIONAL) if part in parts]
    if resources:
        fields["resources"] = resources
    if patches:
        fields["patchesJson6902"] = patches
    files["kustomization.yaml"] = _kustomization(fields)
    return files


def _base_values(values: dict[str, Any]) -> dict[str, Any]:
    """The values the bases are rendered from: the defaults with every optional part on."""
    return _merge(
        values,
        {"kafka": {"keda": {"enabled": True}, "strimzi": {"topics": True, "user": {"enabled": True}}}},
    )


# The overlays: which parts each uses and the values it changes. Example hostnames and ARNs are
# placeholders an operator replaces in a copy of the overlay.
OVERLAYS: dict[str, dict[str, Any]] = {
    "plain-kafka": {
        "parts": ("base",),
        "values": {"kafka": {"keda": {"enabled": False}}},
    },
    "strimzi-keda": {
        "parts": ("base", "keda", "monitoring"),
        "values": {
            "config": {
                "KAFKA_BOOTSTRAP_SERVERS": "kafka-kafka-bootstrap.kafka:9093",
                "KAFKA_SECURITY_PROTOCOL": "SSL",
            },
            "kafka": {
                "brokerPort": 9093,
                "tls": {
                    "secretName": "kafka-cluster-ca-cert",
                    "caKey": "ca.crt",
                    "clientSecretName": "om-netsuite",
                    "certKey": "user.crt",
                    "keyKey": "user.key",
                },
            },
        },
    },
    "strimzi-keda-kafka": {
        "parts": ("strimzi-topics", "strimzi-user"),
        "values": {"kafka": {"strimzi": {"user": {"enabled": True, "authentication": "tls"}}}},
    },
    "msk-iam": {
        "parts": ("base", "monitoring"),
        "values": {
            "image": {"tag": "0.1.0-msk-iam"},
            "config": {
                "KAFKA_BOOTSTRAP_SERVERS": "b-1.example.kafka.eu-west-1.amazonaws.com:9098",
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_MECHANISM": "OAUTHBEARER",
                # the signer takes the region from the broker's hostname (security.msk_region)
                "KAFKA_SASL_OAUTH_TOKEN_PROVIDER": "om_platform.adapters.kafka.security:aws_msk_iam",
            },
            "kafka": {"brokerPort": 9098, "keda": {"enabled": False}},
            "serviceAccount": {
                "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/om-netsuite"}
            },
        },
    },
}


def kustomize_tree(values: dict[str, Any], deploy_dir: Path | None = None) -> dict[str, str]:
    """Every file of deploy/kustomize (relative path -> text), bases and overlays."""
    deploy_dir = deploy_dir or DEPLOY_DIR
    files: dict[str, str] = {}
    by_part: dict[str, list[dict[str, Any]]] = {}
    namespaces: dict[str, str] = {}
    for obj in render(_base_values(values), deploy_dir):
        if obj["kind"] == "Namespace":
            continue
        part = _part(obj)
        by_part.setdefault(part, []).append(obj)
        namespaces[part] = obj["metadata"]["namespace"]
    for part, objects in by_part.items():
        names = [_file_name(o) for o in objects]
        for obj, name in zip(objects, names, strict=True):
            files[f"{part}/{name}"] = _GENERATED + to_yaml([_strip_namespace(obj)])
        files[f"{part}/kustomization.yaml"] = _kustomization(
            {"namespace": namespaces[part], "resources": names}
        )
    for name, overlay in OVERLAYS.items():
        for path, text in _overlay_files(overlay, values, deploy_dir).items():
            files[f"overlays/{name}/{path}"] = text
    return files


# What overlays/example-escape-hatches adds to every service's pod with a strategic-merge patch.
_EXAMPLE_POD_SPEC: dict[str, Any] = {
    "nodeSelector": {"kubernetes.io/os": "linux", "example.com/pool": "integrations"},
    "tolerations": [
        {"key": "example.com/dedicated", "operator": "Equal", "value": "integrations", "effect": "NoSchedule"}
    ],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]}
                        ]
                    }
                ]
            }
        }
    },
    "imagePullSecrets": [{"name": "registry-credentials"}],
}
_EXAMPLE_CONTAINER: dict[str, Any] = {
    # MONGODB_URL (in the Secret) names the file: ...&tls=true&tlsCAFile=/etc/mongo-tls/ca.crt
    "env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.observability:4318"}],
    "volumeMounts": [{"name": "mongo-tls", "mountPath": "/etc/mongo-tls", "readOnly": True}],
}
_EXAMPLE_VOLUMES = [{"name": "mongo-tls", "secret": {"secretName": "mongo-ca", "defaultMode": 0o440}}]
_EXAMPLE_EGRESS = [
    {
        "op": "add",
        "path": "/spec/egress/-",
        "value": {
            "to": [{"ipBlock": {"cidr": "192.168.10.0/24"}}],
            "ports": [{"port": 8200, "protocol": "TCP"}],
        },
    }
]


def _example_patches(name: str) -> dict[str, dict[str, Any]]:
    """file name -> the strategic-merge patch of one service in overlays/example-escape-hatches."""
    pod = {
        "metadata": {"annotations": {"example.com/team": "integrations"}},
        "spec": copy.deepcopy(_EXAMPLE_POD_SPEC)
        | {
            "containers": [{"name": name} | copy.deepcopy(_EXAMPLE_CONTAINER)],
            "volumes": copy.deepcopy(_EXAMPLE_VOLUMES),
        },
    }
    role = f"arn:aws:iam::111122223333:role/{name}"
    return {
        f"statefulset-{name}.yaml": {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name},
            "spec": {"template": pod},
        },
        f"serviceaccount-{name}.yaml": {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "annotations": {"eks.amazonaws.com/role-arn": role}},
        },
    }


def _escape_hatches(values: dict[str, Any]) -> dict[str, str]:
    """overlays/example-escape-hatches: the plain-kafka overlay plus what an operator adds with plain
    kustomize patches (scheduling, pull secrets, annotations, extra env, a CA volume for MongoDB,
    extra egress). Copy it next to your own overlay and edit."""
    files: dict[str, str] = {}
    json6902: list[dict[str, Any]] = []
    for service in values["services"]:
        name = _k8s_name(service)
        files |= {path: _GENERATED + to_yaml([patch]) for path, patch in _example_patches(name).items()}
        target = {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy", "name": name}
        json6902.append({"target": target, "path": "egress.yaml"})
    smp = list(files)
    files["egress.yaml"] = _GENERATED + to_yaml([copy.deepcopy(_EXAMPLE_EGRESS)])
    files["kustomization.yaml"] = _kustomization(
        {"bases": ["../plain-kafka"], "patchesStrategicMerge": smp, "patchesJson6902": json6902}
    )
    return files


def write_kustomize(values: dict[str, Any], out: Path, deploy_dir: Path | None = None) -> list[str]:
    """Write deploy/kustomize under `out` (removing files it no longer has); returns the paths."""
    files = kustomize_tree(values, deploy_dir)
    files |= {f"overlays/example-escape-hatches/{k}": v for k, v in _escape_hatches(values).items()}
    for stale in out.rglob("*.yaml") if out.exists() else ():
        if stale.relative_to(out).as_posix() not in files:
            stale.unlink()
    for path, text in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted(files)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m omctl.manifests --write|--check`: regenerate deploy/kustomize, or say what drifted."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m omctl.manifests", description=main.__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite deploy/kustomize")
    parser.add_argument("--check", action="store_true", help="exit 1 when deploy/kustomize differs")
    args = parser.parse_args(argv)
    values = load_values([DEPLOY_DIR / "values.yaml"], DEPLOY_DIR / "values.schema.json")
    if args.write:
        print(f"{len(write_kustomize(values, KUSTOMIZE_DIR))} files in {KUSTOMIZE_DIR}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        write_kustomize(values, fresh)
        drift = sorted(
            {p.relative_to(fresh).as_posix() for p in fresh.rglob("*.yaml")}
            ^ {p.relative_to(KUSTOMIZE_DIR).as_posix() for p in KUSTOMIZE_DIR.rglob("*.yaml")}
            | {
                p.relative_to(fresh).as_posix()
                for p in fresh.rglob("*.yaml")
                if (KUSTOMIZE_DIR / p.relative_to(fresh)).is_file()
                and (KUSTOMIZE_DIR / p.relative_to(fresh)).read_text(encoding="utf-8")
                != p.read_text(encoding="utf-8")
            }
        )
    for path in drift:
        print(f"drifted: deploy/kustomize/{path} (run python -m omctl.manifests --write)")
    return 1 if drift else 0


if __name__ == "__main__":
    raise SystemExit(main())
