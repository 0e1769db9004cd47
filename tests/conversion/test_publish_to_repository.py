"""Publishing a conversion into a model repository in Triton's layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import text_format

from utils.conversion import ConversionOptions, convert_model
from utils.deployment_helpers.manifest import read_manifest
from utils.io import sha256_file


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    return tmp_path / "repo"


def _publish(model: Any, out_dir: Path, repository: Path, stem: str) -> Any:
    options = ConversionOptions(repository=repository, name="digits")
    return convert_model(model, out_dir / f"{stem}.onnx", options)


def test_publishing_writes_model_config_and_manifest_in_triton_layout(
    logistic_pipeline: Any, out_dir: Path, repository: Path
) -> None:
    _publish(logistic_pipeline, out_dir, repository, "a")
    files = sorted(str(p.relative_to(repository)) for p in repository.rglob("*") if p.is_file())
    assert files == ["digits/1/model.onnx", "digits/config.pbtxt", "digits/manifest.json"]


def test_a_second_publish_takes_the_next_version_number(
    logistic_pipeline: Any, out_dir: Path, repository: Path
) -> None:
    _publish(logistic_pipeline, out_dir, repository, "a")
    report = _publish(logistic_pipeline, out_dir, repository, "b")
    assert report.published.version == 2
    assert sorted(read_manifest(repository / "digits").versions) == ["1", "2"]


def test_the_repository_manifest_records_the_sha256_of_the_served_file(
    logistic_pipeline: Any, out_dir: Path, repository: Path
) -> None:
    _publish(logistic_pipeline, out_dir, repository, "a")
    manifest = read_manifest(repository / "digits")
    assert manifest.versions["1"].sha256 == sha256_file(repository / "digits" / "1" / "model.onnx")


def test_the_repository_manifest_keeps_parity_accuracy_and_the_drift_profile(
    logistic_pipeline: Any, out_dir: Path, repository: Path
) -> None:
    _publish(logistic_pipeline, out_dir, repository, "a")
    manifest = read_manifest(repository / "digits")
    version = manifest.versions["1"]
    assert version.parity is not None and version.parity.passed
    assert 0.9 < version.metrics["accuracy"] <= 1.0
    assert manifest.reference_profile is not None
    assert len(manifest.reference_profile["mean"]) == 64


def test_the_generated_config_parses_with_tritons_own_schema(
    logistic_pipeline: Any, out_dir: Path, repository: Path
) -> None:
    from tritonclient.grpc import model_config_pb2

    _publish(logistic_pipeline, out_dir, repository, "a")
    text = (repository / "digits" / "config.pbtxt").read_text()
    config = text_format.Parse(text, model_config_pb2.ModelConfig())
    assert config.platform == "onnxruntime_onnx"
    assert [(i.name, list(i.dims)) for i in config.input] == [("input", [64])]
    assert [o.name for o in config.output] == ["label", "probabilities"]
