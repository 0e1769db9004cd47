"""One bad version fails alone (Triton's behaviour): it is UNAVAILABLE with its reason, and
every other version and model loads and serves (issue 10, faults 1, 5, 10, 11)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from utils.deployment_helpers import ModelRepository
from utils.errors import ModelNotFound, ModelNotReady
from utils.testing.toy_models import (
    identity_onnx,
    mlp_manifest,
    publish_mlp,
    publish_onnx,
    reshape_fails_onnx,
)


@pytest.fixture
def broken_first(tmp_path: Path) -> Path:
    """``a_broken`` (its only version fails when run) sorts before the good ``mlp``."""
    root = tmp_path / "models"
    publish_onnx(reshape_fails_onnx(tmp_path / "bad.onnx"), root, mlp_manifest("a_broken"))
    publish_mlp(root, "mlp", seed=1)
    return root


def test_a_version_that_fails_its_warm_up_run_is_unavailable_with_its_reason(
    broken_first: Path,
) -> None:
    repository = ModelRepository(broken_first)
    repository.load_all()
    (state,) = [s for s in repository.index() if s.name == "a_broken"]
    assert state.state == "UNAVAILABLE"
    assert "warm-up run failed" in state.reason


def test_models_after_a_failing_one_still_load_and_serve(broken_first: Path) -> None:
    repository = ModelRepository(broken_first)
    repository.load_all()
    outputs = repository.get("mlp").predict({"input": np.zeros((1, 64), np.float32)})
    assert outputs["logits"].shape == (1, 10)


def test_a_failing_version_does_not_leave_the_repository_loading_for_ever(
    broken_first: Path,
) -> None:
    repository = ModelRepository(broken_first, strict_readiness=False)
    repository.load_all()
    assert repository.loaded_once and repository.ready


def test_strict_readiness_names_the_model_with_no_ready_version(broken_first: Path) -> None:
    repository = ModelRepository(broken_first, strict_readiness=True)
    repository.load_all()
    assert not repository.ready
    assert "a_broken" in repository.not_ready_reason()


def test_a_new_version_whose_outputs_contradict_the_manifest_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "models"
    publish_mlp(root, "mlp", seed=1)
    publish_onnx(identity_onnx(tmp_path / "wide.onnx"), root, mlp_manifest("mlp"))
    repository = ModelRepository(root)
    repository.load_all()
    assert repository.get("mlp").version == 1  # "latest" did not become the bad version
    with pytest.raises(ModelNotReady, match=r"output 'logits' has shape \[1, 64\]"):
        repository.get("mlp", 2)


def test_a_reload_that_refuses_a_serving_version_keeps_its_verified_copy(tmp_path: Path) -> None:
    root = tmp_path / "models"
    publish_mlp(root, "mlp", seed=1)
    publish_mlp(root, "mlp", seed=2)
    repository = ModelRepository(root)
    repository.load_all()
    serving = repository.get("mlp", 2)
    file = root / "mlp" / "2" / "model.onnx"
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped after publishing
    file.write_bytes(bytes(data))
    report = repository.load("mlp")
    assert report.refused.keys() == {2} and "sha256" in report.refused[2]
    assert report.kept == [2]
    assert repository.get("mlp") is serving  # latest is still the verified version 2


def test_a_reload_report_says_what_was_refused_and_that_the_copy_serves(tmp_path: Path) -> None:
    root = tmp_path / "models"
    publish_mlp(root, "mlp", seed=1)
    repository = ModelRepository(root)
    repository.load_all()
    (root / "mlp" / "1" / "model.onnx").write_bytes(b"garbage")
    message = repository.load("mlp").refusal_message()
    assert "version 1 refused" in message and "previously verified copy keeps serving" in message


def test_a_model_file_linking_outside_the_repository_is_not_loaded(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    publish_mlp(outside, "mlp", seed=1)
    root = tmp_path / "models"
    publish_mlp(root, "mlp", seed=1)
    target = root / "mlp" / "1" / "model.onnx"
    target.unlink()
    target.symlink_to(outside / "mlp" / "1" / "model.onnx")
    repository = ModelRepository(root)
    repository.load_all()
    (state,) = repository.index()
    assert state.state == "UNAVAILABLE" and "leaves the model repository" in state.reason


def test_a_model_folder_linking_outside_the_repository_is_not_loaded(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    publish_mlp(outside, "mlp", seed=1)
    root = tmp_path / "models"
    root.mkdir()
    (root / "mlp").symlink_to(outside / "mlp", target_is_directory=True)
    repository = ModelRepository(root)
    repository.load_all()
    with pytest.raises(ModelNotReady):
        repository.get("mlp")


@pytest.mark.parametrize("name", ["x" * 5000, "../models", "a b", "%6d6c70"])
def test_an_impossible_model_name_is_not_found_without_touching_the_disk(
    tmp_path: Path, name: str
) -> None:
    repository = ModelRepository(tmp_path)
    with pytest.raises(ModelNotFound, match="model names are ASCII"):
        repository.load(name)
