"""The repository loads, verifies, versions and hot-swaps the models of a folder."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from utils.deployment_helpers import ModelRepository
from utils.errors import ModelNotFound, ModelNotReady
from utils.testing.toy_models import publish_mlp


def test_every_model_and_version_is_loaded_and_ready(repository: ModelRepository) -> None:
    states = [(s.name, s.version, s.state) for s in repository.index()]
    assert states == [("adder", 1, "READY"), ("mlp", 1, "READY"), ("mlp", 2, "READY")]


def test_latest_version_is_served_by_default(repository: ModelRepository) -> None:
    assert repository.get("mlp").version == 2


def test_an_older_version_is_served_when_asked(
    repository: ModelRepository, rows: NDArray[np.float32]
) -> None:
    v1 = repository.get("mlp", 1).predict({"input": rows})["logits"]
    v2 = repository.get("mlp", 2).predict({"input": rows})["logits"]
    assert not np.allclose(v1, v2)


def test_unknown_model_is_not_found_and_names_the_known_ones(repository: ModelRepository) -> None:
    with pytest.raises(ModelNotFound, match="models: adder, mlp"):
        repository.get("resnet")


def test_unknown_version_is_not_found(repository: ModelRepository) -> None:
    with pytest.raises(ModelNotFound, match="has no version 7"):
        repository.get("mlp", 7)


def test_a_tampered_file_is_refused_with_a_clear_log_line(
    repo_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_file = repo_dir / "mlp" / "2" / "model.onnx"
    model_file.write_bytes(model_file.read_bytes()[:-1] + b"\x00")
    repository = ModelRepository(repo_dir)
    with caplog.at_level(logging.ERROR):
        repository.load_all()
    assert any(r.getMessage() == "refusing tampered model file" for r in caplog.records)
    assert repository.get("mlp").version == 1
    with pytest.raises(ModelNotReady, match="sha256"):
        repository.get("mlp", 2)


def test_a_model_whose_only_file_is_tampered_is_not_served(repo_dir: Path) -> None:
    model_file = repo_dir / "adder" / "1" / "model.onnx"
    model_file.write_bytes(model_file.read_bytes() + b"\x00")
    repository = ModelRepository(repo_dir)
    repository.load_all()
    with pytest.raises(ModelNotReady, match="sha256"):
        repository.get("adder")


def test_reload_swaps_in_a_new_version_while_old_references_keep_working(
    repository: ModelRepository, repo_dir: Path, rows: NDArray[np.float32]
) -> None:
    old = repository.get("mlp")
    publish_mlp(repo_dir, "mlp", seed=3, max_batch_size=8)
    repository.load("mlp")
    assert repository.get("mlp").version == 3
    assert old.predict({"input": rows})["logits"].shape == (4, 10)


def test_a_reload_that_refuses_every_file_keeps_the_verified_versions_serving(
    repository: ModelRepository, repo_dir: Path
) -> None:
    for version in ("1", "2"):
        path = repo_dir / "mlp" / version / "model.onnx"
        path.write_bytes(b"garbage")
    report = repository.load("mlp")
    assert sorted(report.refused) == [1, 2] and report.kept == [1, 2]
    assert repository.get("mlp").version == 2


def test_unload_takes_the_model_out_of_service(repository: ModelRepository) -> None:
    repository.unload("mlp")
    with pytest.raises(ModelNotReady, match="not loaded"):
        repository.get("mlp")
    assert {s.state for s in repository.index() if s.name == "mlp"} == {"UNAVAILABLE"}


def test_swap_listeners_hear_which_versions_left_service(repository: ModelRepository) -> None:
    heard: list[tuple[str, list[int]]] = []
    repository.add_swap_listener(lambda name, old: heard.append((name, [m.version for m in old])))
    repository.load("mlp")
    assert heard == [("mlp", [1, 2])]


def test_an_empty_folder_is_never_ready(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path)
    repository.load_all()
    assert not repository.ready


def test_an_unreadable_file_is_refused_and_the_other_models_still_load(repo_dir: Path) -> None:
    model_file = repo_dir / "adder" / "1" / "model.onnx"
    model_file.unlink()
    model_file.mkdir()  # a folder where the file should be: unreadable as a file, even for root
    repository = ModelRepository(repo_dir)
    repository.load_all()
    assert repository.get("mlp").version == 2
    with pytest.raises(ModelNotReady):
        repository.get("adder")
