"""Pruning and distillation produce smaller ONNX models that still classify digits."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from utils.compression.evaluate import describe_file
from utils.compression.torch_digits import TEACHER_FILE, Data, export_onnx, load_data, load_teacher

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def teacher() -> Any:
    if not TEACHER_FILE.is_file():
        pytest.fail(
            f"{TEACHER_FILE} is missing: it is committed, so this clone is incomplete"
            " (git restore TP_ONNX/digits_cnn.pt2, or rebuild with `make models`)"
        )
    warnings.filterwarnings("ignore")
    return load_teacher()


@pytest.fixture(scope="module")
def data() -> Data:
    return load_data()


@pytest.fixture(scope="module")
def teacher_onnx(teacher: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = export_onnx(teacher, tmp_path_factory.mktemp("teacher") / "teacher.onnx")
    return describe_file(path)


def test_unstructured_pruning_zeroes_the_requested_share_and_still_classifies(
    teacher: Any, data: Data, tmp_path: Path
) -> None:
    from utils.compression.pruning import prune_unstructured

    result = prune_unstructured(teacher, data, sparsity=0.8, finetune_epochs=2)
    figures = describe_file(export_onnx(result.model, tmp_path / "sparse.onnx"))
    assert figures["nonzero_parameters"] <= 0.25 * figures["parameters"]
    assert figures["accuracy"] >= 0.95


def test_unstructured_pruning_makes_the_file_compress_better_not_smaller(
    teacher: Any, data: Data, teacher_onnx: dict[str, Any], tmp_path: Path
) -> None:
    from utils.compression.pruning import prune_unstructured

    result = prune_unstructured(teacher, data, sparsity=0.8, finetune_epochs=1)
    figures = describe_file(export_onnx(result.model, tmp_path / "sparse.onnx"))
    assert figures["gzip_bytes"] < 0.5 * teacher_onnx["gzip_bytes"]
    assert figures["size_bytes"] >= 0.95 * teacher_onnx["size_bytes"]


def test_structured_pruning_writes_a_smaller_onnx_that_still_classifies(
    teacher: Any, data: Data, teacher_onnx: dict[str, Any], tmp_path: Path
) -> None:
    from utils.compression.pruning import prune_channels

    result = prune_channels(teacher, data, keep_ratio=0.5, finetune_epochs=4)
    figures = describe_file(export_onnx(result.model, tmp_path / "narrow.onnx"))
    assert figures["size_bytes"] < 0.4 * teacher_onnx["size_bytes"]
    assert figures["accuracy"] >= 0.95


def test_distilled_student_is_much_smaller_and_still_classifies(
    teacher: Any, data: Data, teacher_onnx: dict[str, Any], tmp_path: Path
) -> None:
    from utils.compression.distillation import distill

    result = distill(teacher, data, epochs=15)
    figures = describe_file(export_onnx(result.student, tmp_path / "student.onnx"))
    assert figures["parameters"] < teacher_onnx["parameters"] / 10
    assert figures["accuracy"] >= 0.85
    assert result.baseline_accuracy > 0.5  # the comparison student was really trained


def test_distillation_refuses_a_non_positive_temperature(teacher: Any, data: Data) -> None:
    from utils.compression.distillation import distill
    from utils.errors import BadInput

    with pytest.raises(BadInput, match="temperature"):
        distill(teacher, data, temperature=0.0, epochs=1)
