"""Monitoring against a live replica: Debian's Prometheus on the project's prometheus.yml
(rendered for loopback) scrapes it, and the Grafana dashboard only names metrics the
server really exports."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import DEPLOY, require_program
from .loopback import compose_environment, render_prometheus
from .processes import ApiReplica, Managed, start_flask_page, start_prometheus

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "inference_api.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")
REQUIRED_TOPICS = (
    "requests per second",
    "latency",
    "error rate",
    "batch size",
    "queue depth",
    "cpu",
    "memory",
    "drift",
    "live accuracy",
    "per client",
    "per class",
)
MONITORING_NAMES = frozenset(
    {
        "model_drift_score",
        "model_drift_detected",
        "model_live_accuracy",
        "model_estimated_accuracy",
        "model_feedback_coverage",
        "client_requests_total",
        "predictions_by_class_total",
        "prediction_log_dropped_total",
    }
)
"""What the prediction log's monitor exports once a model has had a window of traffic and
one feedback: the replica must export every one of them after :func:`exercise`."""


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def metric_names(expr: str) -> set[str]:
    """Metric names of a PromQL expression (every selector in our queries has braces)."""
    return set(_SELECTOR.findall(expr))


def exported_names(metrics_text: str) -> set[str]:
    return {
        line.split("{")[0].split(" ")[0]
        for line in metrics_text.splitlines()
        if line and not line.startswith("#")
    }


def exercise(replica: ApiReplica, rows: list[list[float]]) -> None:
    """Traffic that makes every labelled series appear: good requests (a drift window's
    worth, one of them given feedback), a bad (4xx) one; then wait for the log's writer."""
    body = {
        "inputs": [
            {"name": "input", "datatype": "FP32", "shape": [2, 64], "data": rows[0] + rows[1]}
        ]
    }
    answers = [
        httpx.post(f"{replica.url}/v2/models/digits_sklearn/infer", json=body) for _ in range(110)
    ]
    assert {a.status_code for a in answers} == {200}
    bad = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}
    assert httpx.post(f"{replica.url}/v2/models/digits_sklearn/infer", json=bad).status_code == 400
    label = answers[0].json()["outputs"][0]["data"][0]
    feedback = [{"request_id": answers[0].headers["x-request-id"], "label": str(label)}]
    deadline = time.monotonic() + 30
    while True:  # the writer inserts in the background: feedback needs the row first
        sent = httpx.post(f"{replica.url}/v2/models/digits_sklearn/feedback", json=feedback)
        if sent.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert sent.status_code == 200, sent.text


@pytest.fixture(scope="module")
def flask_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Managed]:
    """The Flask page started with docker-compose.yml's own command and environment."""
    service = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())["services"][
        "flask"
    ]
    env = compose_environment("flask")
    page = start_flask_page(tmp_path_factory.mktemp("flask"), service["command"], env)
    try:
        yield page
    finally:
        page.stop()


@pytest.fixture(scope="module")
def prometheus(
    api_replica: ApiReplica, flask_page: Managed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Managed]:
    workdir = tmp_path_factory.mktemp("prometheus")
    config = render_prometheus(
        api_targets=[f"127.0.0.1:{api_replica.port}"],
        flask_targets=[f"127.0.0.1:{flask_page.port}"],
        workdir=workdir,
    )
    server = start_prometheus(require_program("prometheus"), config, workdir)
    try:
        yield server
    finally:
        server.stop()


def query(prometheus: Managed, expr: str) -> dict[str, Any]:
    response = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10)
    return dict(response.json())


def wait_for(prometheus: Managed, expr: str, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = query(prometheus, expr)
        if answer["status"] == "success" and answer["data"]["result"]:
            return list(answer["data"]["result"])
        time.sleep(0.5)
    raise AssertionError(f"no samples for {expr} after {timeout_s} s")


# --- Grafana provisioning, read as Grafana would -------------------------------------------


def test_the_dashboard_json_loads_with_panels_that_all_have_queries() -> None:
    board = dashboard()
    assert board["uid"] and board["title"]
    assert board["panels"]
    assert all(
        panel["targets"] and all(t["expr"] for t in panel["targets"]) for panel in board["panels"]
    )


def test_the_dashboard_covers_every_topic_an_operator_needs() -> None:
    titles = " ".join(panel["title"].lower() for panel in dashboard()["panels"])
    assert [topic for topic in REQUIRED_TOPICS if topic not in titles] == []


def test_every_panel_uses_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    uids = {source["uid"] for source in provisioned}
    used = {panel["datasource"]["uid"] for panel in dashboard()["panels"]}
    assert used <= uids


def test_the_dashboard_provider_loads_the_folder_compose_mounts() -> None:
    provider = yaml.safe_load(PROVIDERS.read_text())["providers"][0]
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_every_dashboard_query_names_a_metric_the_server_exports(
    api_replica: ApiReplica, digit_samples: tuple[list[list[float]], list[int]]
) -> None:
    exercise(api_replica, digit_samples[0])
    exported = exported_names(httpx.get(f"{api_replica.url}/metrics").text)
    named = set().union(*(metric_names(expr) for expr in queries()))
    assert named, "no metric found in the dashboard queries"
    assert sorted(named - exported) == []


def test_the_alert_rules_name_only_metrics_the_server_exports(
    api_replica: ApiReplica, digit_samples: tuple[list[list[float]], list[int]]
) -> None:
    exercise(api_replica, digit_samples[0])
    exported = exported_names(httpx.get(f"{api_replica.url}/metrics").text) | {"up"}
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    named = set().union(
        *(metric_names(rule["expr"]) for group in rules["groups"] for rule in group["rules"])
    )
    assert sorted(named - exported) == []


def test_the_monitoring_library_exports_every_monitoring_name(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from utils.conversion.profile import digits_reference_profile
    from utils.digits import load_split
    from utils.monitoring.model_monitor import ModelMonitor, MonitoringConfig
    from utils.monitoring.prediction_log import PredictionLogConfig
    from utils.monitoring.records import PredictionRecord

    registry = CollectorRegistry()
    config = MonitoringConfig(
        prediction_log=PredictionLogConfig(url=f"sqlite:///{tmp_path / 'l.db'}")
    )
    monitor = ModelMonitor(registry, config)
    monitor.watch("digits", "1", profile=digits_reference_profile(), labels=list("0123456789"))
    for i, image in enumerate(load_split().x_test[:120]):
        record = PredictionRecord(
            f"r{i}",
            "digits",
            "1",
            0.2,
            inputs={"input": image[None]},
            labels=["3"],
            confidences=[0.9],
        )
        monitor.observe(record)
    monitor.submit_feedback([{"request_id": "r0", "label": "3"}])
    exported = exported_names(generate_latest(registry).decode())
    monitor.close()
    assert sorted(MONITORING_NAMES - exported) == []


# --- Prometheus scraping the live replica -----------------------------------------------


def test_prometheus_sees_the_replica_target_up(
    prometheus: Managed, api_replica: ApiReplica
) -> None:
    series = wait_for(prometheus, 'up{job="inference-api"} == 1')
    assert series[0]["metric"]["instance"] == f"127.0.0.1:{api_replica.port}"


def test_prometheus_sees_the_flask_page_target_up(prometheus: Managed, flask_page: Managed) -> None:
    series = wait_for(prometheus, 'up{job="flask-page"} == 1')
    assert series[0]["metric"]["instance"] == f"127.0.0.1:{flask_page.port}"


def test_prometheus_scrapes_exactly_the_configured_targets(prometheus: Managed) -> None:
    wait_for(prometheus, "count(up == 1) == 2")
    targets = httpx.get(f"{prometheus.url}/api/v1/targets").json()["data"]["activeTargets"]
    assert sorted((t["labels"]["job"], t["health"]) for t in targets) == [
        ("flask-page", "up"),
        ("inference-api", "up"),
    ]


def test_prometheus_has_samples_of_the_request_latency_histogram(
    prometheus: Managed, api_replica: ApiReplica, digit_samples: tuple[list[list[float]], list[int]]
) -> None:
    exercise(api_replica, digit_samples[0])
    series = wait_for(
        prometheus, 'inference_request_duration_seconds_count{model="digits_sklearn", status="200"}'
    )
    assert float(series[0]["value"][1]) >= 5


def test_prometheus_loaded_the_project_alert_rules(prometheus: Managed) -> None:
    groups = httpx.get(f"{prometheus.url}/api/v1/rules").json()["data"]["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    assert "InferenceReplicaDown" in names
    assert all(rule["health"] in {"ok", "unknown"} for group in groups for rule in group["rules"])


def test_prometheus_parses_every_dashboard_query(prometheus: Managed) -> None:
    failures = {
        expr: answer.get("error")
        for expr in queries()
        if (answer := query(prometheus, expr))["status"] != "success"
    }
    assert failures == {}


def test_the_metric_name_reader_is_not_fooled_by_label_matchers() -> None:
    expr = 'sum(rate(a_total{job="x", status=~"5.."}[1m])) / sum(rate(b_count{job="x"}[1m]))'
    assert metric_names(expr) == {"a_total", "b_count"}


def test_the_renderer_points_prometheus_only_at_the_given_targets(tmp_path: Path) -> None:
    config = yaml.safe_load(
        render_prometheus(api_targets=["127.0.0.1:1"], workdir=tmp_path).read_text()
    )
    assert [job["static_configs"] for job in config["scrape_configs"]] == [
        [{"targets": ["127.0.0.1:1"]}]
    ]
