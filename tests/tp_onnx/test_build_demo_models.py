"""TP_ONNX/build_demo_models.py keeps teammates' published variants when it rebuilds v1."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from tests.tp_onnx.conftest import TP_ONNX
from utils.deployment_helpers import VersionInfo, publish_version, read_manifest, write_manifest
from utils.paths import DEFAULT_MODEL_REPOSITORY


@pytest.fixture(scope="module")
def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_demo_models", TP_ONNX / "build_demo_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy_v1(tmp_path: Path, where: str) -> Path:
    target = tmp_path / where / "digits_torch"
    target.mkdir(parents=True)
    shutil.copytree(DEFAULT_MODEL_REPOSITORY / "digits_torch" / "1", target / "1")
    manifest = read_manifest(DEFAULT_MODEL_REPOSITORY / "digits_torch")
    manifest.versions = {"1": manifest.versions["1"]}
    write_manifest(target, manifest)
    return target


def test_a_compressed_variant_survives_a_rebuild_of_version_1(
    build_script: ModuleType, tmp_path: Path
) -> None:
    published = _copy_v1(tmp_path, "published")
    template = read_manifest(published)
    publish_version(
        published / "1" / "model.onnx",
        tmp_path / "published",
        template,
        VersionInfo(sha256="-", size_bytes=0, variant="int8-static"),
    )
    fresh = _copy_v1(tmp_path, "fresh")
    assert build_script.carry_over_variants(published, fresh) == ["2"]
    assert read_manifest(fresh).versions["2"].variant == "int8-static"
    assert (fresh / "2" / "model.onnx").is_file()


def test_nothing_is_carried_from_a_model_that_was_never_published(
    build_script: ModuleType, tmp_path: Path
) -> None:
    fresh = _copy_v1(tmp_path, "fresh")
    assert build_script.carry_over_variants(tmp_path / "missing" / "digits_torch", fresh) == []
