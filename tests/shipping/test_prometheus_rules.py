"""The Prometheus config and alert rules, checked by Prometheus' own promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from .conftest import DEPLOY, require_program

PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTS = (
    "InferenceHighErrorRate",
    "InferenceLatencyP99OverBudget",
    "InferenceReplicaDown",
    "ReplicaMemoryNearLimit",
    "ModelDriftSustained",
    "ModelLiveAccuracyLow",
    "PredictionLogDropping",
)


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_program("promtool"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_promtool_accepts_the_prometheus_config() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_the_rules_define_every_alert_an_operator_needs() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert names == set(ALERTS)


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    suite = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in suite["tests"]:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert firing == set(ALERTS)
    assert quiet == set(ALERTS)


def test_promtool_unit_tests_prove_each_alert_fires_and_stays_quiet() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_catch_an_alert_whose_threshold_is_broken(tmp_path: Path) -> None:
    # A rule that can never fire (threshold 0.05 -> 50) must fail the unit tests: proof
    # that the suite above has teeth.
    shutil.copy(PROMETHEUS_DIR / "alerts_test.yml", tmp_path)
    broken = (
        (PROMETHEUS_DIR / "alerts.yml")
        .read_text()
        .replace("> 0.05\n        for: 5m", "> 50\n        for: 5m")
    )
    assert broken != (PROMETHEUS_DIR / "alerts.yml").read_text()
    (tmp_path / "alerts.yml").write_text(broken)
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "InferenceHighErrorRate" in result.stdout + result.stderr
