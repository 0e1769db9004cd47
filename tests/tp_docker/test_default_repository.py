"""From a fresh clone, with no setting, the server serves the committed ``models/``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from TP_Docker.settings import Settings
from tp_docker.tp_docker_server import listening_socket, start_server
from utils.digits import load_split, to_layout
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT

LAYOUTS = {"digits_torch": "NCHW", "digits_keras": "NHWC", "digits_sklearn": "flat"}


@pytest.fixture(scope="module")
def default_server() -> Iterator[Any]:
    live = start_server(Settings(log_json=True))
    yield live
    live.stop()


def test_the_default_settings_point_at_the_committed_repository() -> None:
    assert Settings().model_repository == DEFAULT_MODEL_REPOSITORY


def test_every_committed_model_is_ready(default_server: Any) -> None:
    index = httpx.post(default_server.url + "/v2/repository/index").json()
    assert {(r["name"], r["state"]) for r in index} >= {(n, "READY") for n in LAYOUTS}


@pytest.mark.parametrize("model", sorted(LAYOUTS))
def test_each_committed_model_classifies_held_out_digits_through_v2(
    default_server: Any, model: str
) -> None:
    split = load_split()
    x = to_layout(split.x_test[:32], LAYOUTS[model])
    body = {
        "inputs": [
            {
                "name": "input",
                "shape": list(x.shape),
                "datatype": "FP32",
                "data": x.reshape(-1).tolist(),
            }
        ]
    }
    response = httpx.post(default_server.url + f"/v2/models/{model}/infer", json=body)
    assert response.status_code == 200, response.text
    response = httpx.post(
        default_server.url + "/predict", json={"model": model, "inputs": split.x_test[:32].tolist()}
    )
    labels = [int(p["label"]) for p in response.json()["predictions"]]
    correct = sum(a == b for a, b in zip(labels, split.y_test[:32].tolist(), strict=True))
    assert correct >= 30


def _serves_until_ready(cmd: list[str], cwd: Any, sock: socket.socket, **env_extra: str) -> bool:
    """Start ``cmd`` on the inherited socket ``sock``; True once it answers ready."""
    port = sock.getsockname()[1]
    env = {**os.environ, "API_LOG_JSON": "true", **env_extra}
    env.pop("PYTHONPATH", None)
    with sock:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(sock.fileno(),),
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200:
                    return True
            except httpx.TransportError:
                time.sleep(0.05)
        return False
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_the_app_script_runs_from_any_folder(tmp_path: Any) -> None:
    sock = listening_socket()
    cmd = [sys.executable, str(PROJECT_ROOT / "TP_Docker" / "app.py")]
    assert _serves_until_ready(cmd, tmp_path, sock, API_FD=str(sock.fileno()))


def test_uvicorn_serves_the_module_level_app_from_the_repository_root() -> None:
    sock = listening_socket()
    cmd = [sys.executable, "-m", "uvicorn", "TP_Docker.app:app", "--fd", str(sock.fileno())]
    assert _serves_until_ready(cmd, PROJECT_ROOT, sock)
