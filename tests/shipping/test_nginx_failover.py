"""nginx in front of two live API replicas, with the project's nginx.conf rendered for
loopback: a replica killed under load costs no client request; a frozen replica is timed
out and the request retried on the other one."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import PROJECT_ROOT, require_program
from .load import run_load
from .loopback import compose_environment, render_nginx
from .processes import (
    ApiReplica,
    Managed,
    free_port,
    start_api_replica,
    start_flask_page,
    start_nginx,
)

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


@dataclass
class Stack:
    replicas: list[ApiReplica]
    nginx: Managed
    workdir: Path

    def infer_url(self, model: str) -> str:
        return f"{self.nginx.url}/v2/models/{model}/infer"

    def access_log(self) -> str:
        return (self.workdir / "access.log").read_text()

    def error_log(self) -> str:
        return (self.workdir / "error.log").read_text()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Two replicas and nginx, all on 127.0.0.1; everything stopped at teardown."""
    nginx_bin = require_program("nginx")
    replicas: list[ApiReplica] = []
    nginx: Managed | None = None
    try:
        for _ in range(2):
            replicas.append(start_api_replica(tmp_path, extra_env=compose_api_environment()))
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        port = free_port()
        config = render_nginx(
            api_ports=[r.port for r in replicas], listen_port=port, workdir=nginx_dir
        )
        nginx = start_nginx(nginx_bin, config, nginx_dir, port)
        yield Stack(replicas=replicas, nginx=nginx, workdir=nginx_dir)
    finally:
        if nginx is not None:
            nginx.stop()
        for replica in replicas:
            replica.stop()


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
    stack: Stack, infer_body: dict[str, Any]
) -> None:
    for _ in range(20):
        assert httpx.post(stack.infer_url("digits_sklearn"), json=infer_body).status_code == 200
    upstreams = {
        line.split("upstream=")[1].split()[0]
        for line in stack.access_log().splitlines()
        if "/infer" in line
    }
    assert upstreams == {f"127.0.0.1:{r.port}" for r in stack.replicas}


@pytest.mark.slow
def test_a_replica_killed_under_load_costs_no_client_request(
    stack: Stack, infer_body: dict[str, Any]
) -> None:
    victim = stack.replicas[0]

    def kill() -> None:
        os.kill(victim.process.pid, signal.SIGKILL)

    result = run_load(
        stack.infer_url("digits_sklearn"),
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
    stack: Stack, infer_body: dict[str, Any]
) -> None:
    frozen = stack.replicas[0]
    os.kill(frozen.process.pid, signal.SIGSTOP)
    try:
        outcomes = []
        for _ in range(6):
            started = time.monotonic()
            response = httpx.post(stack.infer_url("digits_sklearn"), json=infer_body, timeout=30)
            outcomes.append((response.status_code, time.monotonic() - started))
    finally:
        os.kill(frozen.process.pid, signal.SIGCONT)
    assert [status for status, _ in outcomes] == [200] * 6
    # At least one request waited for proxy_read_timeout (3 s) on the frozen replica ...
    assert any(seconds >= 2.5 for _, seconds in outcomes)
    # ... and nginx logged why it moved on.
    assert "upstream timed out" in stack.error_log()


def test_nginx_serves_the_flask_page_on_its_second_port(tmp_path: Path) -> None:
    service = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]["flask"]
    env = compose_environment("flask")
    page = start_flask_page(tmp_path / "flask", service["command"], env)
    nginx: Managed | None = None
    try:
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        api_port, page_port = free_port(), free_port()
        config = render_nginx(api_ports=[free_port(), free_port()], listen_port=api_port,
                              workdir=nginx_dir, flask_port=page.port,
                              page_listen_port=page_port)  # fmt: skip
        nginx = start_nginx(require_program("nginx"), config, nginx_dir, api_port)
        health = httpx.get(f"http://127.0.0.1:{page_port}/api/health", timeout=10)
        home = httpx.get(f"http://127.0.0.1:{page_port}/", timeout=10)
    finally:
        if nginx is not None:
            nginx.stop()
        page.stop()
    assert health.status_code == 200
    assert home.status_code == 200
    assert "<canvas" in home.text
