"""/v2/health/ready: strict (every model READY) by default, relaxed by API_STRICT_READINESS."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tp_docker.tp_docker_server import build_repository


def _repository_with_a_broken_adder(root: Path) -> Path:
    repo = build_repository(root)
    model_file = repo / "adder" / "1" / "model.onnx"
    model_file.write_bytes(model_file.read_bytes() + b"\x00")
    return repo


def test_one_model_without_a_ready_version_keeps_the_server_unready_naming_it(
    make_server: Callable[..., Any], tmp_path: Path, good_body: dict[str, Any]
) -> None:
    live = make_server(_repository_with_a_broken_adder(tmp_path / "m"), wait_ready=False)
    deadline = time.monotonic() + 10
    ready = httpx.get(live.url + "/v2/health/ready")
    while "loading" in ready.text and time.monotonic() < deadline:
        time.sleep(0.05)
        ready = httpx.get(live.url + "/v2/health/ready")
    assert ready.status_code == 503
    assert "adder" in ready.json()["error"] and "mlp" not in ready.json()["error"]
    assert httpx.post(live.url + "/v2/models/mlp/infer", json=good_body).status_code == 200


def test_relaxed_readiness_is_ready_with_one_model_serving(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    live = make_server(_repository_with_a_broken_adder(tmp_path / "m"), strict_readiness=False)
    assert httpx.get(live.url + "/v2/health/ready").status_code == 200
