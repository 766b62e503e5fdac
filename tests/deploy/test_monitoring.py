"""The alerts and the dashboard: checked and unit-tested with promtool, wired into the manifests,
and written against metrics the services really export.

promtool comes from Debian's `prometheus` package, unpacked into .tools/debian by
`python3 manage.py setup` (never skipped: a missing promtool fails with what to run).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from om_devstack.stack import debian_tool
from om_platform.metrics import Metrics
from omctl import manifests

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        binary, env = debian_tool("promtool")
    except Exception as exc:  # StartupError: say what to run
        pytest.fail(f"{exc}")
    return subprocess.run(
        [binary, *args],
        cwd=MONITORING,
        env=env or None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_promtool_checks_the_alert_rules() -> None:
    result = promtool("check", "rules", "alerts.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 15 rules found" in result.stdout


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    result = promtool("test", "rules", "alerts.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    alerts = {
        r["alert"]
        for g in yaml.safe_load((MONITORING / "alerts.yaml").read_text())["groups"]
        for r in g["rules"]
    }
    tests = yaml.safe_load((MONITORING / "alerts.test.yaml").read_text())["tests"]
    fired = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case["exp_alerts"]}
    assert alerts == fired
    wanted = {
        "OmConsumerLagGrowing",
        "OmDeadLettersAppearing",
        "OmFailureRateHigh",
        "OmNetSuiteRateLimited",
        "OmConsumerStalled",
        "OmCursorBehind",
        "OmNetSuiteAuthFailures",
        "OmNetSuiteConnectionDown",
        "OmServiceAbsent",
        "OmSyncStale",
        "OmRecordsParked",
    }
    assert wanted <= alerts


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alert_has_a_description_and_a_runbook_url_into_the_readme() -> None:
    readme = (ROOT / "deploy" / "README.md").read_text()
    anchors = {github_anchor(m) for m in re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE)}
    rules = [
        r for g in yaml.safe_load((MONITORING / "alerts.yaml").read_text())["groups"] for r in g["rules"]
    ]
    for rule in rules:
        annotations = rule["annotations"]
        assert len(annotations["description"]) > 40, rule["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page.endswith("/deploy/README.md"), rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no heading with anchor #{anchor} in deploy/README.md"
    table = set(re.findall(r"^\| \[?`(Om\w+)`", readme, flags=re.MULTILINE))
    assert table == {r["alert"] for r in rules}, "deploy/README.md's alert table"


def test_no_metric_has_a_job_label_or_created_series() -> None:
    metrics = Metrics()
    metrics.job_seconds.labels("stock", "succeeded").observe(1)
    metrics.events_consumed.labels("ordermentum.orders.v1", "processed").inc()
    for family in metrics.registry.collect():
        for sample in family.samples:
            assert "job" not in sample.labels, sample
            assert not sample.name.endswith("_created"), sample


def exported_names() -> set[str]:
    names = {"up"}
    for family in Metrics().registry.collect():
        names |= {family.name + suffix for suffix in ("", "_total", "_bucket", "_count", "_sum")}
        names |= {sample.name for sample in family.samples}
    return names


def metric_names(expression: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', "", expression)
    return set(re.findall(r"\b((?:om|process|python)_[a-z_]+|up)\b", without_strings))


def test_alerts_and_dashboard_only_use_metrics_the_services_export() -> None:
    exported = exported_names()
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())["groups"]
    used = {name for group in rules for rule in group["rules"] for name in metric_names(rule["expr"])}
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    used |= {
        name for panel in dashboard["panels"] for t in panel["targets"] for name in metric_names(t["expr"])
    }
    assert used - exported == set()
    panel_metrics = {n for p in dashboard["panels"] for t in p["targets"] for n in metric_names(t["expr"])}
    assert {
        "om_consumer_lag",
        "om_failures_total",
        "om_netsuite_rate_limited_total",
        "om_build_info",
    } <= panel_metrics


def test_the_manifests_carry_the_rules_the_dashboard_and_a_service_monitor() -> None:
    values = manifests.load_values([ROOT / "deploy/values.yaml"], ROOT / "deploy/values.schema.json")
    objects: list[dict[str, Any]] = manifests.render(values)
    kinds = {o["kind"]: o for o in objects}
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    assert kinds["PrometheusRule"]["spec"]["groups"] == rules["groups"]
    monitor = kinds["ServiceMonitor"]["spec"]
    assert monitor["endpoints"][0]["port"] == "http"
    assert monitor["endpoints"][0]["path"] == "/metrics"
    services = [o for o in objects if o["kind"] == "Service"]
    assert all(
        monitor["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items() for s in services
    )
    dashboards = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "om-netsuite-dashboard"
    ]
    assert json.loads(dashboards[0]["data"]["om-netsuite.json"])["uid"] == "om-netsuite"
    assert dashboards[0]["metadata"]["labels"]["grafana_dashboard"] == "1"
