"""Readiness follows Triton's strict rule: every model has a READY version (or, relaxed,
at least one model does); the reason names the models left out."""

from __future__ import annotations

from pathlib import Path

from utils.deployment_helpers import ModelRepository


def _break(repo_dir: Path, model: str) -> None:
    for file in (repo_dir / model).glob("*/model.onnx"):
        file.write_bytes(file.read_bytes() + b"\x00")


def test_a_repository_with_every_model_loaded_is_ready(repository: ModelRepository) -> None:
    assert repository.ready
    assert repository.not_ready_reason() == ""


def test_strict_readiness_is_refused_while_one_model_has_no_ready_version(repo_dir: Path) -> None:
    _break(repo_dir, "adder")
    repository = ModelRepository(repo_dir)
    repository.load_all()
    assert repository.get("mlp").version == 2  # the others still serve
    assert not repository.ready
    reason = repository.not_ready_reason()
    assert "adder" in reason and "mlp" not in reason


def test_relaxed_readiness_needs_only_one_ready_model(repo_dir: Path) -> None:
    _break(repo_dir, "adder")
    repository = ModelRepository(repo_dir, strict_readiness=False)
    repository.load_all()
    assert repository.ready


def test_one_ready_version_is_enough_for_a_model(repo_dir: Path) -> None:
    file = repo_dir / "mlp" / "1" / "model.onnx"
    file.write_bytes(file.read_bytes() + b"\x00")
    repository = ModelRepository(repo_dir)
    repository.load_all()
    assert repository.ready


def test_a_model_unloaded_on_purpose_does_not_make_the_server_unready(
    repository: ModelRepository,
) -> None:
    repository.unload("adder")
    assert repository.ready
    repository.load("adder")
    assert repository.ready


def test_no_model_at_all_is_never_ready_even_when_relaxed(tmp_path: Path) -> None:
    repository = ModelRepository(tmp_path, strict_readiness=False)
    repository.load_all()
    assert not repository.ready
