"""nginx in front of two live API replicas, with the project's nginx.conf rendered for
loopback: a replica killed under load costs no client request; a frozen replica is timed
out and the request retried on the other one."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import require_program
from .load import run_load
from .loopback import compose_environment, render_nginx
from .processes import (
    free_port,
)
from .stack import NginxStack, flask_page_behind_nginx, nginx_stack

LOAD_REQUESTS = 6000
LOAD_CONCURRENCY = 16
KILL_AFTER = 1500


def compose_api_environment() -> dict[str, str]:
    """The API replicas' environment exactly as docker-compose.yml sets it, except the
    per-client rate limit: every request of this test comes from one loopback client,
    which in production would be thousands of clients."""
    env = compose_environment("api-1")
    env["API_RATE_LIMIT"] = ""
    return env


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[NginxStack]:
    """Two replicas and nginx, all on 127.0.0.1; everything stopped at teardown."""
    with nginx_stack(tmp_path, [compose_api_environment(), compose_api_environment()]) as running:
        yield running


def _infer_url(stack: NginxStack, model: str) -> str:
    return stack.url(f"/v2/models/{model}/infer")


@pytest.fixture
def infer_body(digit_samples: tuple[list[list[float]], list[int]]) -> dict[str, Any]:
    rows, _ = digit_samples
    return {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": rows[0]}]}


def test_nginx_accepts_the_project_config_rendered_for_loopback(tmp_path: Path) -> None:
    config = render_nginx(
        api_ports=[free_port(), free_port()], listen_port=free_port(), workdir=tmp_path
    )
    result = subprocess.run(
        [
            require_program("nginx"),
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(config),
            "-g",
            f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_spreads_requests_over_both_replicas(
    stack: NginxStack, infer_body: dict[str, Any]
) -> None:
    for _ in range(20):
        assert httpx.post(_infer_url(stack, "digits_sklearn"), json=infer_body).status_code == 200
    upstreams = {
        line.split("upstream=")[1].split()[0]
        for line in stack.access_log().splitlines()
        if "/infer" in line
    }
    assert upstreams == {f"127.0.0.1:{r.port}" for r in stack.replicas}


@pytest.mark.slow
def test_a_replica_killed_under_load_costs_no_client_request(
    stack: NginxStack, infer_body: dict[str, Any]
) -> None:
    victim = stack.replicas[0]

    def kill() -> None:
        os.kill(victim.process.pid, signal.SIGKILL)

    result = run_load(
        _infer_url(stack, "digits_sklearn"),
        infer_body,
        total=LOAD_REQUESTS,
        concurrency=LOAD_CONCURRENCY,
        at=KILL_AFTER,
        hook=kill,
    )
    print(result.summary())
    victim.process.wait(timeout=5)
    assert victim.process.returncode == -signal.SIGKILL
    assert result.total >= 5000
    assert result.failed == 0, result.summary()
    # nginx really met the dead replica and retried elsewhere (not a lucky run).
    retried = [
        line
        for line in stack.access_log().splitlines()
        if f"127.0.0.1:{victim.port}, 127.0.0.1:{stack.replicas[1].port}" in line
    ]
    assert retried


@pytest.mark.slow
def test_a_frozen_replica_is_timed_out_and_the_request_retried_elsewhere(
    stack: NginxStack, infer_body: dict[str, Any]
) -> None:
    frozen = stack.replicas[0]
    os.kill(frozen.process.pid, signal.SIGSTOP)
    try:
        outcomes = []
        for _ in range(6):
            started = time.monotonic()
            response = httpx.post(_infer_url(stack, "digits_sklearn"), json=infer_body, timeout=30)
            outcomes.append((response.status_code, time.monotonic() - started))
    finally:
        os.kill(frozen.process.pid, signal.SIGCONT)
    assert [status for status, _ in outcomes] == [200] * 6
    # At least one request waited for proxy_read_timeout (3 s) on the frozen replica ...
    assert any(seconds >= 2.5 for _, seconds in outcomes)
    # ... and nginx logged why it moved on.
    assert "upstream timed out" in stack.error_log()


def test_nginx_serves_the_flask_page_on_its_second_port(tmp_path: Path) -> None:
    with flask_page_behind_nginx(tmp_path, compose_environment("flask")) as page_url:
        health = httpx.get(f"{page_url}/api/health", timeout=10)
        home = httpx.get(f"{page_url}/", timeout=10)
    assert health.status_code == 200
    assert home.status_code == 200
    assert "<canvas" in home.text
