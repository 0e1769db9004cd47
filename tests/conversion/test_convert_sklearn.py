"""scikit-learn to ONNX, end to end on real fitted models."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conversion.conftest import onnx_predict
from utils.conversion import ConversionOptions, convert, convert_model
from utils.deployment_helpers.manifest import read_manifest_file
from utils.digits import DigitsSplit, to_layout
from utils.errors import BadInput


def test_a_logistic_pipeline_converts_with_probabilities_matching_sklearn(
    logistic_pipeline: Any, digits: DigitsSplit, out_dir: Path
) -> None:
    report = convert_model(logistic_pipeline, out_dir / "logistic.onnx")
    x = to_layout(digits.x_test, "flat")
    label, probabilities = onnx_predict(report.output, x)
    assert np.abs(probabilities - logistic_pipeline.predict_proba(x)).max() < 1e-4
    assert (label == logistic_pipeline.predict(x)).all()


def test_a_converted_classifier_records_accuracy_on_the_held_out_split(
    logistic_pipeline: Any, digits: DigitsSplit, out_dir: Path
) -> None:
    report = convert_model(logistic_pipeline, out_dir / "logistic.onnx")
    expected = logistic_pipeline.score(to_layout(digits.x_test, "flat"), digits.y_test)
    assert report.manifest.versions["1"].metrics["accuracy"] == pytest.approx(expected, abs=1e-6)


def test_a_random_forest_is_held_to_label_agreement_not_to_atol(
    forest_pipeline: Any, out_dir: Path
) -> None:
    report = convert_model(forest_pipeline, out_dir / "forest.onnx")
    assert report.parity.atol is None
    assert report.parity.label_agreement is not None
    assert report.parity.label_agreement >= 0.995


def test_a_random_forest_pickle_converts_through_the_file_path(
    forest_pipeline: Any, digits: DigitsSplit, tmp_path: Path, out_dir: Path
) -> None:
    source = tmp_path / "forest.pkl"
    source.write_bytes(pickle.dumps(forest_pipeline))
    report = convert(source, out_dir / "forest.onnx")
    label, _ = onnx_predict(report.output, to_layout(digits.x_test, "flat"))
    agreement = (label == forest_pipeline.predict(to_layout(digits.x_test, "flat"))).mean()
    assert agreement >= 0.995


def test_a_skops_file_converts_without_unpickling(
    logistic_pipeline: Any, tmp_path: Path, out_dir: Path
) -> None:
    import skops.io as sio

    source = tmp_path / "model.skops"
    sio.dump(logistic_pipeline, source)
    report = convert(source, out_dir / "model.onnx")
    assert report.manifest.versions["1"].source.file == "model.skops"  # type: ignore[union-attr]


def test_the_manifest_beside_the_output_describes_the_signature(
    logistic_pipeline: Any, out_dir: Path
) -> None:
    report = convert_model(logistic_pipeline, out_dir / "logistic.onnx")
    manifest = read_manifest_file(out_dir / "logistic.manifest.json")
    assert [(o.name, o.datatype, o.shape) for o in manifest.outputs] == [
        ("label", "INT64", [-1]),
        ("probabilities", "FP32", [-1, 10]),
    ]
    assert manifest.versions["1"].sha256 == report.sha256


def test_a_model_with_non_digit_features_is_checked_on_the_given_samples(
    tmp_path: Path, out_dir: Path
) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    iris = load_iris()
    model = LogisticRegression(max_iter=1000).fit(iris.data, iris.target)
    samples = tmp_path / "iris.npy"
    np.save(samples, iris.data.astype(np.float32))
    report = convert_model(model, out_dir / "iris.onnx", ConversionOptions(samples=samples))
    assert report.parity.samples == len(iris.data)
    assert report.manifest.preprocessing.kind == "tabular"


def test_samples_of_the_wrong_shape_are_refused(
    logistic_pipeline: Any, tmp_path: Path, out_dir: Path
) -> None:
    samples = tmp_path / "wrong.npy"
    np.save(samples, np.zeros((4, 3), np.float32))
    with pytest.raises(BadInput, match="per-sample shape"):
        convert_model(
            logistic_pipeline,
            out_dir / "m.onnx",
            ConversionOptions(samples=samples, input_shape=(64,)),
        )
