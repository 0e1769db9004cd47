"""Fixtures for the compression tests: real fp32 digits models and real calibration data.

The digits models come from the committed repository (models/, version 1: fp32). They are
committed, so a clone without the Keras or scikit-learn file fails loudly rather than
skipping; only the PyTorch CNN can be re-trained and exported here (a real model, never a
mock) when its file is absent.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from utils.compression.calibration import Feed, feeds_from_digits
from utils.compression.evaluate import digits_accuracy, infer_layout
from utils.paths import DEFAULT_MODEL_REPOSITORY


def _committed(name: str) -> Path | None:
    path = DEFAULT_MODEL_REPOSITORY / name / "1" / "model.onnx"
    return path if path.is_file() else None


@pytest.fixture(scope="session")
def torch_cnn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fp32 PyTorch digits CNN (NCHW, logits)."""
    committed = _committed("digits_torch")
    if committed is not None:
        return committed
    from utils.compression.torch_digits import build_cnn, export_onnx, load_data, train

    warnings.filterwarnings("ignore")
    model = train(build_cnn(), load_data(), epochs=15)
    return export_onnx(model, tmp_path_factory.mktemp("cnn") / "digits_cnn.onnx")


@pytest.fixture(scope="session")
def keras_cnn() -> Path:
    """The fp32 Keras digits CNN (NHWC); committed, so a clone without it fails loudly."""
    committed = _committed("digits_keras")
    if committed is None:
        pytest.fail(
            "models/digits_keras/1/model.onnx is missing: it is committed, so this clone is"
            " incomplete (git restore models/, or rebuild with `make models`)"
        )
    return committed


@pytest.fixture(scope="session")
def sklearn_model() -> Path:
    """The scikit-learn pipeline: ai.onnx.ml operators only."""
    committed = _committed("digits_sklearn")
    if committed is None:
        pytest.fail(
            "models/digits_sklearn/1/model.onnx is missing: it is committed, so this clone is"
            " incomplete (git restore models/, or rebuild with `make models`)"
        )
    return committed


@pytest.fixture(scope="session")
def torch_calibration(torch_cnn: Path) -> list[Feed]:
    """All train images of the demo split in the CNN's layout (never the test images)."""
    name, layout = infer_layout(torch_cnn)
    return feeds_from_digits(name, layout)


@pytest.fixture(scope="session")
def torch_accuracy(torch_cnn: Path) -> float:
    """fp32 accuracy on the held-out split, the reference for every budget."""
    return digits_accuracy(torch_cnn)
