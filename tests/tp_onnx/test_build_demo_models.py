"""TP_ONNX/build_demo_models.py keeps teammates' published variants when it rebuilds the
same v1, and leaves them behind when v1 was retrained into another model."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from tests.tp_onnx.conftest import TP_ONNX
from utils.deployment_helpers import VersionInfo, publish_version, read_manifest, write_manifest
from utils.digits import load_split
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


def _publish_variant(tmp_path: Path) -> Path:
    published = _copy_v1(tmp_path, "published")
    publish_version(
        published / "1" / "model.onnx",
        tmp_path / "published",
        read_manifest(published),
        VersionInfo(sha256="-", size_bytes=0, variant="int8-static"),
    )
    return published


def test_a_compressed_variant_survives_a_rebuild_of_version_1(
    build_script: ModuleType, tmp_path: Path
) -> None:
    published = _publish_variant(tmp_path)
    fresh = _copy_v1(tmp_path, "fresh")
    assert build_script.carry_over_variants(published, fresh, load_split().x_test) == ["2"]
    assert read_manifest(fresh).versions["2"].variant == "int8-static"
    assert (fresh / "2" / "model.onnx").is_file()


def test_nothing_is_carried_from_a_model_that_was_never_published(
    build_script: ModuleType, tmp_path: Path
) -> None:
    fresh = _copy_v1(tmp_path, "fresh")
    assert (
        build_script.carry_over_variants(
            tmp_path / "missing" / "digits_torch", fresh, load_split().x_test
        )
        == []
    )


def test_a_variant_of_a_version_1_that_was_retrained_differently_is_left_behind(
    build_script: ModuleType, tmp_path: Path
) -> None:
    published = _publish_variant(tmp_path)
    fresh = _copy_v1(tmp_path, "fresh")
    model = onnx.load(str(fresh / "1" / "model.onnx"))
    weight = next(w for w in model.graph.initializer if w.name.endswith("weight"))
    changed = (numpy_helper.to_array(weight) * -1.0).astype(np.float32)  # other labels
    weight.CopyFrom(numpy_helper.from_array(changed, weight.name))
    onnx.save(model, str(fresh / "1" / "model.onnx"))
    assert build_script.carry_over_variants(published, fresh, load_split().x_test) == []
    assert list(read_manifest(fresh).versions) == ["1"]
