"""Operator mistakes a deployment meets: a model volume that is not there, a settings
variable with a typo. The server must say what is wrong, not serve half-broken."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .dockerfile import parse_dockerfile
from .processes import PROJECT_ROOT, replica_env, start_api_replica


def start_command(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the image's CMD (root Dockerfile) on loopback and let it fail (or time out)."""
    command = parse_dockerfile(PROJECT_ROOT / "Dockerfile").cmd()
    assert command[0] == "python"
    env = replica_env({"API_HOST": "127.0.0.1", "API_PORT": "0", **extra_env})
    return subprocess.run([sys.executable, *command[1:]], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip


def test_a_missing_model_volume_keeps_the_server_unready_and_the_log_says_why(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "volume-not-mounted"
    replica = start_api_replica(tmp_path, extra_env={"API_MODEL_REPOSITORY": str(missing)},
                                wait_ready=False)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and str(missing) not in replica.log.read_text():
            time.sleep(0.1)
        live = httpx.get(f"{replica.url}/v2/health/live", timeout=5)
        ready = httpx.get(f"{replica.url}/v2/health/ready", timeout=5)
    finally:
        replica.stop()
    assert live.status_code == 200
    assert ready.status_code == 503
    reason = [line for line in replica.log.read_text().splitlines() if str(missing) in line]
    assert reason, replica.log.read_text()
    assert "not found" in reason[0]


def test_the_readiness_answer_names_a_missing_model_volume(tmp_path: Path) -> None:
    missing = tmp_path / "volume-not-mounted"
    replica = start_api_replica(tmp_path, extra_env={"API_MODEL_REPOSITORY": str(missing)},
                                wait_ready=False)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        error = ""
        while time.monotonic() < deadline and "not found" not in error:
            with contextlib.suppress(httpx.TransportError):
                error = httpx.get(f"{replica.url}/v2/health/ready", timeout=5).json()["error"]
            time.sleep(0.1)
    finally:
        replica.stop()
    assert "not found" in error and "API_MODEL_REPOSITORY" in error
    assert str(missing) not in error  # the answer is unauthenticated: the path is in the log


def test_an_empty_model_volume_keeps_the_server_unready(tmp_path: Path) -> None:
    empty = tmp_path / "empty-volume"
    empty.mkdir()
    replica = start_api_replica(tmp_path, extra_env={"API_MODEL_REPOSITORY": str(empty)},
                                wait_ready=False)  # fmt: skip
    try:
        time.sleep(1.5)
        ready = httpx.get(f"{replica.url}/v2/health/ready", timeout=5)
    finally:
        replica.stop()
    assert ready.status_code == 503


def test_a_malformed_settings_variable_stops_the_server_with_a_one_line_reason() -> None:
    result = start_command({"API_MAX_QUEUE_SIZE": "lots"})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    naming = [line for line in output.splitlines() if "API_MAX_QUEUE_SIZE" in line]
    assert naming, output
    assert "lots" in naming[0]
    assert "Traceback" not in output


def test_a_malformed_rate_limit_stops_the_server_naming_the_variable() -> None:
    result = start_command({"API_RATE_LIMIT": "fast please"})
    assert result.returncode != 0
    assert "API_RATE_LIMIT" in result.stdout + result.stderr
