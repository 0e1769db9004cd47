"""Alerts travel the whole way: a drifting model's /metrics -> Debian's Prometheus on the
project's rules -> Debian's Alertmanager on the project's routing -> the webhook receiver.

The metrics come from the monitoring library itself (a DriftMonitor fed inverted digits),
served on 127.0.0.1. The committed files are rendered for loopback with two changes only,
so that the test takes seconds instead of a quarter of an hour: the drift rule's
``for: 15m`` becomes ``for: 1s`` (its timing is proven by promtool in alerts_test.yml)
and Alertmanager's grouping waits shrink from 30 s / 5 min to 1 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, start_http_server

from .conftest import DEPLOY, PROJECT_ROOT, require_program
from .loopback import render_prometheus
from .processes import Managed, free_port, start_prometheus, tail, wait_until_ready

ALERTMANAGER_YML = DEPLOY / "alertmanager" / "alertmanager.yml"
DELIVERY_TIMEOUT_S = 90.0


def test_amtool_accepts_the_alertmanager_config() -> None:
    result = subprocess.run(
        [require_program("amtool"), "check-config", str(ALERTMANAGER_YML)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page", "alertname=ModelLiveAccuracyLow"], "on-call"),
        (["severity=ticket", "alertname=ModelDriftSustained"], "model-owners"),
    ],
)
def test_alertmanager_routes_by_severity(labels: list[str], receiver: str) -> None:
    result = subprocess.run(
        [
            require_program("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_YML}",
            *labels,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == receiver


def test_prometheus_sends_alerts_to_the_compose_alertmanager() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    assert targets == ["alertmanager:9093"] and "alertmanager" in compose["services"]


@pytest.fixture(scope="module")
def drifting_metrics() -> Iterator[int]:
    """/metrics of a DriftMonitor that has seen 200 inverted digits, on a loopback port."""
    from utils.conversion.profile import digits_reference_profile
    from utils.digits import load_split
    from utils.monitoring.drift_monitor import DriftMonitor
    from utils.monitoring.records import PredictionRecord

    registry = CollectorRegistry()
    monitor = DriftMonitor(registry)
    monitor.watch("digits_torch", "1", digits_reference_profile())
    for i, image in enumerate(1.0 - load_split().x_test[:200]):
        monitor.observe(
            PredictionRecord(
                f"r{i}", "digits_torch", "1", 0.3, inputs={"input": image[None]}, labels=["1"]
            )
        )
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield port
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Managed, Path]]:
    """The project's webhook receiver (python -m utils.monitoring.alert_receiver)."""
    workdir = tmp_path_factory.mktemp("receiver")
    port, out = free_port(), workdir / "alerts.jsonl"
    log = workdir / "receiver.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "utils.monitoring.alert_receiver",
                "--port",
                str(port),
                "--out",
                str(out),
            ],
            cwd=PROJECT_ROOT,
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    managed = Managed(process=process, log=log, port=port)
    try:
        wait_until_ready(managed, "/health", timeout_s=30.0)
        yield managed, out
    finally:
        managed.stop()


def render_alertmanager(workdir: Path, receiver_port: int) -> Path:
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_YML.read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = hook["url"].replace(
                "http://alert-receiver:9099", f"http://127.0.0.1:{receiver_port}"
            )
    config["route"].update(group_wait="1s", group_interval="1s")
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def alertmanager(
    tmp_path_factory: pytest.TempPathFactory, webhook: tuple[Managed, Path]
) -> Iterator[Managed]:
    workdir = tmp_path_factory.mktemp("alertmanager")
    config = render_alertmanager(workdir, webhook[0].port)
    port, log = free_port(), workdir / "alertmanager.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [
                require_program("prometheus-alertmanager"),
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    managed = Managed(process=process, log=log, port=port)
    try:
        wait_until_ready(managed, "/-/ready", timeout_s=30.0)
        yield managed
    finally:
        managed.stop()


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, drifting_metrics: int, alertmanager: Managed
) -> Iterator[Managed]:
    workdir = tmp_path_factory.mktemp("prometheus")
    config_path = render_prometheus(api_targets=[f"127.0.0.1:{drifting_metrics}"], workdir=workdir)
    config = yaml.safe_load(config_path.read_text())
    config["alerting"]["alertmanagers"][0]["static_configs"] = [
        {"targets": [f"127.0.0.1:{alertmanager.port}"]}
    ]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    rules = workdir / "alerts.yml"
    quick = rules.read_text().replace("for: 15m", "for: 1s")
    assert quick != rules.read_text(), "the drift rule's `for: 15m` was not found"
    rules.write_text(quick)
    server = start_prometheus(require_program("prometheus"), config_path, workdir)
    try:
        yield server
    finally:
        server.stop()


def delivered(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def test_a_drift_alert_reaches_the_webhook_receiver(
    prometheus: Managed, alertmanager: Managed, webhook: tuple[Managed, Path]
) -> None:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    notes: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        notes = [
            n
            for n in delivered(webhook[1])
            if any(
                a["labels"].get("alertname") == "ModelDriftSustained"
                for a in n["payload"]["alerts"]
            )
        ]
        if notes:
            break
        time.sleep(0.5)
    logs = f"{tail(alertmanager.log)}\n{tail(prometheus.log)}"
    assert notes, f"no drift alert delivered in {DELIVERY_TIMEOUT_S} s:\n{logs}"
    note = notes[0]
    alert = next(
        a for a in note["payload"]["alerts"] if a["labels"]["alertname"] == "ModelDriftSustained"
    )
    assert note["path"] == "/model-owners" and note["payload"]["status"] == "firing"
    assert alert["labels"]["model"] == "digits_torch" and alert["labels"]["signal"] == "inputs"
