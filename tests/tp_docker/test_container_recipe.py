"""The TP_Docker image recipe, proven without a Docker engine.

No engine runs here, so the slow test replays the Dockerfile: it installs the builder
stage's requirements into a fresh venv exactly as the RUN line does, lays out the
runtime stage's COPY sources in a folder standing for /app, sets its ENV, starts its CMD
on a loopback port, waits for readiness, asks for one prediction, runs the HEALTHCHECK
command, and stops the server with SIGTERM as ``docker stop`` would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest

from tp_docker.tp_docker_server import listening_socket
from utils.deployment_helpers import ModelRepository
from utils.paths import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "TP_Docker" / "Dockerfile"


@dataclass
class Recipe:
    """What the Dockerfile says, stage by stage, in the parts a replay needs."""

    requirements: Path
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    copies: list[tuple[str, str]] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def parse_recipe(path: Path) -> Recipe:
    stage_copies: dict[str, str] = {}
    recipe = Recipe(requirements=Path())
    runtime = False
    for keyword, rest in _instructions(path.read_text()):
        if keyword == "FROM":
            runtime = rest.endswith("AS runtime")
        elif keyword == "COPY" and not runtime:
            src, dst = rest.split()
            stage_copies[dst] = src
        elif keyword == "RUN" and not runtime and "pip install" in rest:
            requirement = re.search(r"--requirement (\S+)", rest)
            assert requirement, "the builder must install a requirements file"
            recipe.requirements = PROJECT_ROOT / stage_copies[requirement.group(1)]
        elif keyword == "ENV" and runtime:
            for key, value in re.findall(r"(\w+)=(\S+)", rest):
                recipe.env[key] = value
        elif keyword == "WORKDIR" and runtime:
            recipe.workdir = rest
        elif keyword == "COPY" and runtime and not rest.startswith("--from"):
            src, dst = rest.split()
            recipe.copies.append((src, dst))
        elif keyword == "CMD" and runtime:
            recipe.cmd = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            recipe.healthcheck = json.loads(rest.split("CMD", 1)[1])
    return recipe


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_pins_agree_with_the_projects_serving_pins() -> None:
    image = _pins(parse_recipe(DOCKERFILE).requirements)
    project = _pins(PROJECT_ROOT / "requirements.txt")
    assert {name: project.get(name) for name in image} == image


def test_the_image_installs_no_training_framework() -> None:
    image = _pins(parse_recipe(DOCKERFILE).requirements)
    assert not {"torch", "tensorflow", "tensorflow-cpu", "scikit-learn", "keras"} & set(image)


@pytest.mark.slow
def test_the_recipe_installs_starts_answers_and_stops(tmp_path: Path) -> None:
    recipe = parse_recipe(DOCKERFILE)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--requirement",
            str(recipe.requirements),
        ],
        check=True,
        timeout=600,
    )
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    for src, dst in recipe.copies:
        target = app_dir / Path(dst.rstrip("/"))
        shutil.copytree(PROJECT_ROOT / src, target, ignore=shutil.ignore_patterns("__pycache__"))
    sock = listening_socket()  # handed to the CMD: no free-port-then-bind race
    port = sock.getsockname()[1]
    env = {k: v.replace("$PATH", os.environ["PATH"]) for k, v in recipe.env.items()}
    env = {
        k: v.replace("/opt/venv", str(venv)).replace(recipe.workdir, str(app_dir))
        for k, v in env.items()
    }
    # API_PORT stays for the HEALTHCHECK script, which calls the server on that port.
    env.update(
        API_HOST="127.0.0.1", API_PORT=str(port), API_FD=str(sock.fileno()), HOME=str(tmp_path)
    )
    started = time.monotonic()
    with sock:
        server = subprocess.Popen(
            recipe.cmd,
            cwd=app_dir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            pass_fds=(sock.fileno(),),
        )
    try:
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() - started < 60:
            try:
                if httpx.get(url + "/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            server.terminate()
            _, err = server.communicate(timeout=15)
            pytest.fail(f"the image's CMD never became ready; its stderr ends:\n{err[-2000:]}")
        x = np.random.default_rng(0).random((1, 1, 8, 8), dtype=np.float32)
        body = {
            "inputs": [
                {
                    "name": "input",
                    "shape": [1, 1, 8, 8],
                    "datatype": "FP32",
                    "data": x.reshape(-1).tolist(),
                }
            ]
        }
        answer = httpx.post(url + "/v2/models/digits_torch/infer", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        local = ModelRepository(PROJECT_ROOT / "models")
        local.load("digits_torch")
        expected = local.get("digits_torch").predict({"input": x})["logits"].reshape(-1)
        np.testing.assert_allclose(
            answer.json()["outputs"][0]["data"], expected, rtol=1e-5, atol=1e-5
        )
        health = subprocess.run(recipe.healthcheck, cwd=app_dir, env=env, timeout=10)
        assert health.returncode == 0
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        finally:
            if server.poll() is None:
                server.kill()
    # uvicorn re-raises SIGTERM after a graceful shutdown, as `docker stop` expects.
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (server.stderr.read() if server.stderr else "")
