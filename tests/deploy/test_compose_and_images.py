"""docker-compose.yml and the Dockerfiles cannot run here (no Docker engine), so their structure
is checked: services present, env names equal the services' settings, images non-root and slim,
each image copying exactly the workspace packages its service depends on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from finance_sync.settings import Settings as FinanceSettings
from om_contracts import TOPICS, dead_letter_topic, topic_configs
from order_sync.settings import Settings as OrderSettings
from stock_sync.settings import Settings as StockSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"order_sync": OrderSettings, "stock_sync": StockSettings, "finance_sync": FinanceSettings}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def workspace_packages() -> dict[str, Path]:
    """Package name -> member directory, for every workspace member."""
    out = {}
    for pyproject in [
        *ROOT.glob("libs/*/pyproject.toml"),
        *ROOT.glob("services/*/pyproject.toml"),
        *ROOT.glob("tools/*/pyproject.toml"),
    ]:
        out[tomllib.loads(pyproject.read_text())["project"]["name"]] = pyproject.parent.relative_to(ROOT)
    return out


def workspace_closure(package: str, members: dict[str, Path]) -> set[str]:
    seen: set[str] = set()
    todo = [package]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        deps = tomllib.loads((ROOT / members[name] / "pyproject.toml").read_text())["project"]["dependencies"]
        todo.extend(d for d in (re.split(r"[<>=!~\[; ]", dep)[0] for dep in deps) if d in members)
    return seen


def test_compose_has_kafka_mongo_topics_simulator_and_the_three_services(compose) -> None:
    services = compose["services"]
    started = {
        "kafka",
        "kafka-init",
        "mongo",
        "netsuite-sim",
        "order-sync",
        "stock-sync",
        "finance-sync",
        "dev-keys",
    }
    assert {name for name, service in services.items() if "profiles" not in service} == started  # bare `up`
    assert set(services) == started | {"demo", "omctl", "prometheus", "grafana"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert (
        services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    )  # KRaft, no ZooKeeper
    assert services["mongo"]["image"].startswith("mongo:")
    for name in ("order-sync", "stock-sync", "finance-sync"):
        assert services[name]["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
        assert (ROOT / services[name]["build"]["dockerfile"]).exists()
        assert services[name]["build"]["args"]["SERVICE"] == name.replace("-", "_")
    assert (ROOT / services["netsuite-sim"]["build"]["dockerfile"]).exists()


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_environment_uses_only_the_services_own_setting_names(compose, service: str) -> None:
    settings = SERVICES[service]
    env = compose["services"][service.replace("_", "-")]["environment"]
    known = {name.upper() for name in settings.model_fields}
    assert set(env) <= known, set(env) - known
    assert env["MONGODB_DATABASE"] == settings.model_fields["mongodb_database"].default
    grace = float(env["SHUTDOWN_GRACE_S"])
    stop = compose["services"][service.replace("_", "-")]["stop_grace_period"]
    assert float(stop.removesuffix("s")) > grace


def test_the_topic_init_script_creates_every_contract_topic_and_dead_letter_topic() -> None:
    script = (ROOT / "deploy/compose/create-topics.sh").read_text()
    created = set(re.findall(r"^create (\S+)", script, flags=re.MULTILINE))
    expected = {t.name for t in TOPICS} | {
        dead_letter_topic(t.name) for t in TOPICS if t.direction == "inbound"
    }
    assert created == expected
    compacted = {t.name for t in TOPICS if t.compacted}
    for name in compacted:
        assert re.search(rf"^create {re.escape(name)} .*cleanup.policy=compact", script, flags=re.MULTILINE)
    for name in created:
        size = topic_configs(name)["max.message.bytes"]
        assert re.search(
            rf"^create {re.escape(name)} .*max.message.bytes={size}$", script, flags=re.MULTILINE
        )


@pytest.mark.parametrize("service", [*sorted(SERVICES), "omctl"])
def test_each_image_is_slim_non_root_and_copies_only_its_own_workspace_packages(service: str) -> None:
    recipe = (ROOT / ("deploy/omctl" if service == "omctl" else "services") / "Dockerfile").read_text()
    dockerfile = recipe.replace("${SERVICE}", service)  # what `--build-arg SERVICE=<service>` builds
    members = workspace_packages()
    package = service.replace("_", "-")
    needed = {str(members[name]) for name in workspace_closure(package, members)}
    copied_dirs = set(re.findall(r"^COPY (\S+) \1/?$", dockerfile, flags=re.MULTILINE))
    assert copied_dirs == needed
    assert f"--package {service}" in dockerfile  # uv normalises order_sync to order-sync
    assert "--no-dev" in dockerfile
    assert all(
        line.split()[1].endswith("-slim")
        for line in dockerfile.splitlines()
        if line.startswith("FROM python")
    )
    assert re.search(r"^USER 10001", dockerfile, flags=re.MULTILINE)
    if service == "omctl":
        assert 'ENTRYPOINT ["omctl"]' in recipe
    else:
        assert "ENV OM_SERVICE=${SERVICE}" in recipe
        assert 'ENTRYPOINT ["/bin/sh", "-c", "exec python -m \\"$OM_SERVICE\\"", "--"]' in recipe
    # every workspace member's pyproject is present so uv can read the workspace
    for path in members.values():
        assert f"COPY {path}/pyproject.toml {path}/" in dockerfile or str(path) in needed


def test_the_build_context_leaves_out_virtualenvs_and_tests() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "tests", ".tools"} <= set(ignored)


def test_kafka_keeps_its_log_on_a_volume_like_mongo(compose) -> None:
    kafka = compose["services"]["kafka"]
    data_dir = kafka["environment"]["KAFKA_LOG_DIRS"]
    assert f"kafka-data:{data_dir}" in kafka["volumes"]
    assert kafka["environment"]["CLUSTER_ID"]  # a formatted log directory is reused on restart
    assert {"kafka-data", "mongo-data"} <= set(compose["volumes"])


def test_mongo_is_healthy_only_with_a_writable_primary(compose) -> None:
    check = " ".join(compose["services"]["mongo"]["healthcheck"]["test"])
    assert "rs.initiate" in check
    assert "isWritablePrimary" in check
    assert "quit(" in check


def test_the_simulator_is_seeded_and_the_services_wait_until_it_answers(compose) -> None:
    sim = compose["services"]["netsuite-sim"]
    assert sim["command"] == ["--seed", "demo"]
    assert "/_sim/accounts" in " ".join(sim["healthcheck"]["test"])
    for name in ("order-sync", "stock-sync", "finance-sync"):
        service = compose["services"][name]
        assert service["depends_on"]["netsuite-sim"]["condition"] == "service_healthy"
        assert "/health/ready" in " ".join(service["healthcheck"]["test"])


def test_the_demo_profile_runs_the_day_against_the_compose_stack(compose) -> None:
    demo = compose["services"]["demo"]
    assert demo["profiles"] == ["demo"]
    assert all(
        demo["depends_on"][name]["condition"] == "service_healthy"
        for name in ("order-sync", "stock-sync", "finance-sync")
    )
    env = demo["environment"]
    assert (
        env["KAFKA_BOOTSTRAP_SERVERS"]
        == compose["services"]["order-sync"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
    )
    urls = dict(pair.split("=", 1) for pair in env["OM_DEMO_SERVICE_URLS"].split(","))
    assert set(urls) == set(SERVICES)
    dockerfile = (ROOT / demo["build"]["dockerfile"]).read_text()
    assert "--package om-demo" in dockerfile
    assert '"--external"' in dockerfile
    assert re.search(r"^USER 10001", dockerfile, flags=re.MULTILINE)


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return next(str(p["version"]) for p in lock["package"] if p["name"] == package)


def test_msk_iam_and_otlp_grpc_are_image_build_options_matching_the_lock() -> None:
    recipe = (ROOT / "services" / "Dockerfile").read_text()
    assert "ARG MSK_IAM=false" in recipe
    assert "ARG OTLP_GRPC=false" in recipe
    assert re.search(
        r'"\$MSK_IAM" = "true" \]; then uv pip install .* aws-msk-iam-sasl-signer-python==', recipe
    )
    grpc = re.search(
        r'"\$OTLP_GRPC" = "true" \]; then uv pip install .* opentelemetry-exporter-otlp-proto-grpc==(\S+);',
        recipe,
    )
    assert grpc is not None
    assert grpc.group(1) == locked_version("opentelemetry-sdk")  # exporter and SDK release together


def test_compose_starts_without_exported_keys_using_a_generated_development_key(compose) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert ":?" not in text  # no variable that makes `docker compose up` refuse to start
    keys = compose["services"]["dev-keys"]
    script = keys["entrypoint"][-1]
    assert "os.urandom(32)" in script  # a Fernet key: 32 random bytes, URL-safe base64
    assert 'if os.environ.get("NETSUITE_CREDENTIALS_KEYS")' in script  # an exported key wins
    assert "key.exists()" in script  # generated once, then reused
    for name in ("order-sync", "stock-sync", "finance-sync", "demo", "omctl"):
        service = compose["services"][name]
        assert "dev-keys:/run/om-dev-keys:ro" in service["volumes"], name
        entry = " ".join(service["entrypoint"])
        assert "$${NETSUITE_CREDENTIALS_KEYS:-$$(cat /run/om-dev-keys/netsuite-credentials.key)}" in entry
        assert service["environment"]["NETSUITE_CREDENTIALS_KEYS"] == "${NETSUITE_CREDENTIALS_KEYS:-}"
    for name in ("order-sync", "stock-sync", "finance-sync", "omctl"):
        depends = compose["services"][name]["depends_on"]
        assert depends["dev-keys"]["condition"] == "service_completed_successfully"
    assert compose["services"]["order-sync"]["environment"]["LOG_FORMAT"] == "json"


def test_the_monitoring_profile_scrapes_the_services_and_loads_the_alerts_and_the_dashboard(compose) -> None:
    prometheus, grafana = compose["services"]["prometheus"], compose["services"]["grafana"]
    assert prometheus["profiles"] == grafana["profiles"] == ["monitoring"]
    mounts = {v.split(":")[1]: ROOT / v.split(":")[0] for v in prometheus["volumes"]}
    config = yaml.safe_load(mounts["/etc/prometheus/prometheus.yml"].read_text())
    assert mounts["/etc/prometheus/rules/alerts.yaml"] == ROOT / "deploy/monitoring/alerts.yaml"
    assert config["rule_files"] == ["/etc/prometheus/rules/alerts.yaml"]
    jobs = {job["job_name"]: job["static_configs"][0] for job in config["scrape_configs"]}
    # the job names the alerts select on, as the Kubernetes ServiceMonitor gives them
    assert set(jobs) == {"order-sync", "stock-sync", "finance-sync"}
    for name, static in jobs.items():
        assert static["targets"] == [f"{name}:8080"]
        assert static["labels"]["namespace"] == "ordermentum-netsuite"  # the dashboard's variable
        assert name in compose["services"]
    provisioned = {v.split(":")[1]: ROOT / v.split(":")[0] for v in grafana["volumes"]}
    sources = yaml.safe_load(provisioned["/etc/grafana/provisioning/datasources/om.yaml"].read_text())
    assert sources["datasources"][0]["url"] == "http://prometheus:9090"
    dashboards = yaml.safe_load(provisioned["/etc/grafana/provisioning/dashboards/om.yaml"].read_text())
    folder = dashboards["providers"][0]["options"]["path"]
    assert provisioned[f"{folder}/om-netsuite.json"] == ROOT / "deploy/monitoring/dashboard.json"
