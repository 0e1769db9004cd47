"""Fixtures for the use-case models: the committed files, their results, and a runner for
the build scripts as a user runs them (from an unrelated folder, no PYTHONPATH)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient
from tp_docker.tp_docker_server import LiveServer, settings_for, start_server

from tests.tp_quantization.conftest import run_tool
from TP_Flask.app import create_app as create_flask_app
from TP_Flask.settings import Settings as FlaskSettings
from utils.deployment_helpers.manifest import Manifest, read_manifest
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT

USE_CASES = PROJECT_ROOT / "TP_ONNX" / "use_cases"
RESULTS = USE_CASES / "results"
CO2_SAMPLE = PROJECT_ROOT / "TP_Flask" / "static" / "data" / "co2_weekly.csv"


def results(name: str) -> dict[str, Any]:
    """A committed results file, parsed."""
    loaded: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text())
    return loaded


def committed_model(name: str) -> tuple[Manifest, Path]:
    """The committed manifest and version-1 file of models/<name>."""
    folder = DEFAULT_MODEL_REPOSITORY / name
    if not (folder / "1" / "model.onnx").is_file():
        pytest.fail(f"models/{name}/1/model.onnx is missing: it is committed (make {name})")
    return read_manifest(folder), folder / "1" / "model.onnx"


def run_script(
    script: str, *args: str, cwd: Path, timeout_s: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a TP_ONNX/use_cases script as a user would, from ``cwd``, no PYTHONPATH."""
    return run_tool(str(USE_CASES / script), *args, cwd=cwd, timeout_s=timeout_s)


# -- serving: both apps on the same repository ------------------------------------------


@dataclass
class Apps:
    """The API (a live uvicorn server) and the page's app (a Flask test client)."""

    api: LiveServer
    page: FlaskClient

    def predict_both(self, body: bytes) -> tuple[tuple[int, Any], tuple[int, Any]]:
        """The same plain-JSON body to the API's /predict and the page's /api/predict."""
        headers = {"Content-Type": "application/json"}
        a = httpx.post(self.api.url + "/predict", content=body, headers=headers, timeout=60)
        f = self.page.post("/api/predict", data=body, headers=headers)
        return (a.status_code, a.json()), (f.status_code, f.get_json())


@contextmanager
def both_apps(repository: Path) -> Iterator[Apps]:
    """Both front ends serving ``repository``, the API stopped afterwards."""
    api = start_server(settings_for(repository))
    page = create_flask_app(
        FlaskSettings(model_repository=repository, log_format="text", rate_limit="")
    ).test_client()
    try:
        yield Apps(api, page)
    finally:
        api.stop()


@pytest.fixture(scope="module")
def series_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    """Both apps serving copies of the committed ``forecast`` and ``anomaly`` models."""
    repository = tmp_path_factory.mktemp("series") / "models"
    for name in ("forecast", "anomaly"):
        shutil.copytree(DEFAULT_MODEL_REPOSITORY / name, repository / name)
    with both_apps(repository) as apps:
        yield apps


def co2_sample() -> list[float]:
    """The page's CO2 sample (the last four years, ppm), oldest first."""
    lines = CO2_SAMPLE.read_text().splitlines()[1:]
    return [float(line.split(",")[1]) for line in lines]


@pytest.fixture(scope="module")
def sentiment_apps(sentiment_repository: Path) -> Iterator[Apps]:
    """Both apps serving ``sentiment`` (fp32 v1 and int8 v2)."""
    with both_apps(sentiment_repository) as apps:
        yield apps
