"""The app factory: settings from the environment, what it loads, and what it refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from TP_Flask.app import create_app
from TP_Flask.settings import Settings


def test_factory_reads_its_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, model_repository: Path
) -> None:
    monkeypatch.setenv("WEB_MODEL_REPOSITORY", str(model_repository))
    monkeypatch.setenv("WEB_SERVE_MODELS", "digits_sklearn")
    monkeypatch.setenv("WEB_MAX_UPLOAD_BYTES", "65536")
    app = create_app()
    ready = [
        m["name"]
        for m in app.test_client().get("/api/models").get_json()["models"]
        if m["state"] == "READY"
    ]
    assert app.config["MAX_CONTENT_LENGTH"] == 65536 and set(ready) == {"digits_sklearn"}


def test_two_apps_keep_separate_counters(settings: Settings) -> None:
    first, second = create_app(settings), create_app(settings)
    first.test_client().post("/api/predict", json={"inputs": [[0.5] * 64]})
    assert second.test_client().get("/monitoring/stats").get_json()["totals"]["requests"] == 0


def test_a_tampered_model_file_is_listed_unavailable_and_the_others_serve(
    tmp_path: Path, model_repository: Path
) -> None:
    repository = tmp_path / "models"
    for name in ("digits_torch", "digits_sklearn"):
        shutil.copytree(model_repository / name, repository / name)
    for tampered in (repository / "digits_torch").glob("*/model.onnx"):  # every version
        tampered.write_bytes(tampered.read_bytes()[:-16] + b"\0" * 16)
    client = create_app(Settings(model_repository=repository, log_format="text")).test_client()
    states = {(m["name"], m["version"]): m for m in client.get("/api/models").get_json()["models"]}
    assert states[("digits_torch", 1)]["state"] == "UNAVAILABLE"
    assert "sha256" in states[("digits_torch", 1)]["reason"]
    assert client.get("/api/models").get_json()["default_digit_model"]["name"] == "digits_sklearn"
    assert 'value="digits_torch/1"' not in client.get("/").get_data(as_text=True)


def test_an_empty_repository_still_serves_a_page_that_says_what_to_do(tmp_path: Path) -> None:
    client = create_app(Settings(model_repository=tmp_path, log_format="text")).test_client()
    assert "make models" in client.get("/").get_data(as_text=True)
    assert client.get("/api/health").status_code == 503
