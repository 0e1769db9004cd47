"""Publishing into a model repository: Triton's layout, our manifest, atomic versions."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from utils.deployment_helpers import (
    Manifest,
    TensorSpec,
    VersionInfo,
    publish_version,
    read_batching,
    read_manifest,
)
from utils.errors import BadInput
from utils.io import sha256_file


def _identity_model(path: Path, width: int = 4) -> Path:
    """A one-node ONNX model: enough to publish, no framework needed."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", width])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", width])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "g", [x], [y])
    onnx.save(helper.make_model(graph), path)
    return path


@pytest.fixture
def template() -> Manifest:
    return Manifest(
        name="toy",
        inputs=[TensorSpec(name="input", datatype="FP32", shape=[-1, 4])],
        outputs=[TensorSpec(name="output", datatype="FP32", shape=[-1, 4])],
    )


def _info() -> VersionInfo:
    return VersionInfo(sha256="to-be-computed", size_bytes=0)


def test_first_publish_creates_version_1_in_triton_layout(
    tmp_path: Path, template: Manifest
) -> None:
    published = publish_version(
        _identity_model(tmp_path / "m.onnx"), tmp_path / "repo", template, _info()
    )
    assert published.path == tmp_path / "repo" / "toy" / "1" / "model.onnx"
    assert (tmp_path / "repo" / "toy" / "config.pbtxt").is_file()


def test_publish_records_the_sha256_of_the_copied_file(tmp_path: Path, template: Manifest) -> None:
    published = publish_version(
        _identity_model(tmp_path / "m.onnx"), tmp_path / "repo", template, _info()
    )
    manifest = read_manifest(tmp_path / "repo" / "toy")
    assert manifest.version(1).sha256 == sha256_file(published.path)


def test_second_publish_takes_the_next_version(tmp_path: Path, template: Manifest) -> None:
    source = _identity_model(tmp_path / "m.onnx")
    publish_version(source, tmp_path / "repo", template, _info())
    second = publish_version(source, tmp_path / "repo", template, _info())
    assert second.version == 2
    assert read_manifest(tmp_path / "repo" / "toy").latest_version() == 2


def test_publish_refuses_a_signature_that_differs_from_published_versions(
    tmp_path: Path, template: Manifest
) -> None:
    publish_version(_identity_model(tmp_path / "m.onnx"), tmp_path / "repo", template, _info())
    wider = template.model_copy(
        update={"inputs": [TensorSpec(name="input", datatype="FP32", shape=[-1, 8])]}
    )
    with pytest.raises(BadInput, match="differ"):
        publish_version(_identity_model(tmp_path / "w.onnx", 8), tmp_path / "repo", wider, _info())


def test_publish_refuses_an_existing_version_number(tmp_path: Path, template: Manifest) -> None:
    source = _identity_model(tmp_path / "m.onnx")
    publish_version(source, tmp_path / "repo", template, _info())
    with pytest.raises(BadInput, match="exists already"):
        publish_version(source, tmp_path / "repo", template, _info(), version=1)


def test_generated_config_carries_the_batching_of_the_manifest(
    tmp_path: Path, template: Manifest
) -> None:
    template.batching.max_batch_size = 16
    template.batching.max_queue_delay_us = 250
    publish_version(_identity_model(tmp_path / "m.onnx"), tmp_path / "repo", template, _info())
    batching = read_batching(tmp_path / "repo" / "toy")
    assert (batching.max_batch_size, batching.max_queue_delay_us) == (16, 250)


def test_a_manifest_with_a_wrong_field_is_refused_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"name": "x", "inputs": "nope", "outputs": []}')
    with pytest.raises(BadInput, match="inputs"):
        read_manifest(tmp_path)


def test_a_response_cache_in_the_manifest_survives_republishing(
    tmp_path: Path, template: Manifest
) -> None:
    template.batching.response_cache = True
    source = _identity_model(tmp_path / "m.onnx")
    publish_version(source, tmp_path / "repo", template, _info())
    publish_version(source, tmp_path / "repo", template, _info())
    assert read_batching(tmp_path / "repo" / "toy").response_cache
