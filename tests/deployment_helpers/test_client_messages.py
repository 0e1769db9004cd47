"""What a client is told about a refused model names the model and the failure, never a path.

The repository index, 404/503 bodies and the readiness answer reach clients (the last one
without a key); the server's folders and onnxruntime's own text belong in the log only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from utils.deployment_helpers import ModelRepository
from utils.errors import ModelNotFound, ModelNotReady


def _reasons(repository: ModelRepository) -> list[str]:
    return [s.reason for s in repository.index() if s.reason]


def test_a_tampered_file_is_reported_as_a_sha256_mismatch_without_its_path(
    repo_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_file = repo_dir / "mlp" / "2" / "model.onnx"
    model_file.write_bytes(model_file.read_bytes() + b"\x00")
    repository = ModelRepository(repo_dir)
    with caplog.at_level(logging.ERROR):
        repository.load_all()
    with pytest.raises(ModelNotReady) as refused:
        repository.get("mlp", 2)
    message = refused.value.message
    assert "sha256 mismatch: file changed since it was published" in message
    assert "'mlp' version 2" in message
    assert str(repo_dir) not in message
    assert all(str(repo_dir) not in reason for reason in _reasons(repository))
    assert any(getattr(r, "path", "") == str(model_file) for r in caplog.records)


def test_a_file_onnxruntime_cannot_load_is_reported_without_its_path_or_ort_text(
    repo_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from utils.deployment_helpers.manifest import read_manifest
    from utils.deployment_helpers.publishing import sha256_file

    model_file = repo_dir / "adder" / "1" / "model.onnx"
    model_file.write_bytes(b"not an onnx graph")
    manifest_path = repo_dir / "adder" / "manifest.json"
    manifest = read_manifest(repo_dir / "adder")
    manifest_path.write_text(
        manifest_path.read_text().replace(manifest.version(1).sha256, sha256_file(model_file))
    )
    repository = ModelRepository(repo_dir)
    with caplog.at_level(logging.ERROR):
        repository.load_all()
    [reason] = [s.reason for s in repository.index() if s.name == "adder"]
    assert "onnxruntime could not load the file" in reason
    assert str(repo_dir) not in reason
    assert "INVALID_PROTOBUF" not in reason and "onnxruntime_pybind" not in reason
    assert any("adder" in str(getattr(r, "model", "")) for r in caplog.records)


def test_an_unknown_model_is_not_found_without_the_repository_path(
    repository: ModelRepository, repo_dir: Path
) -> None:
    with pytest.raises(ModelNotFound) as missing:
        repository.get("resnet")
    assert str(repo_dir) not in missing.value.message
    assert "models: adder, mlp" in missing.value.message


def test_the_not_ready_reason_for_a_missing_repository_names_the_setting_not_the_path(
    tmp_path: Path,
) -> None:
    repository = ModelRepository(tmp_path / "volume-not-mounted")
    repository.load_all()
    reason = repository.not_ready_reason()
    assert reason == "model repository not found: mount it or set API_MODEL_REPOSITORY"
