"""Conversion with a user's labelled rows: metrics, names, kind, profile, rows kept, labels.

In-process and on scikit-learn's bundled data sets, so the default suite covers what the
(slow) student walk in tests/student_models exercises through the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from utils.conversion import ConversionOptions, convert_model
from utils.errors import BadInput
from utils.evaluation.data import read_evaluation
from utils.io import sha256_file


@pytest.fixture(scope="module")
def iris() -> Any:
    from sklearn.datasets import load_iris

    return load_iris(as_frame=True)


@pytest.fixture(scope="module")
def iris_model(iris: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000).fit(iris.data, iris.target_names[iris.target])


@pytest.fixture
def iris_csv(iris: Any, tmp_path: Path) -> Path:
    path = tmp_path / "iris.csv"
    iris.data.assign(species=iris.target_names[iris.target]).to_csv(path, index=False)
    return path


def test_a_csv_with_a_target_column_gives_accuracy_feature_names_and_a_tabular_kind(
    iris_model: Any, iris_csv: Path, out_dir: Path
) -> None:
    options = ConversionOptions(benchmark_repeats=10, samples=iris_csv, target_column="species")
    report = convert_model(iris_model, out_dir / "iris.onnx", options)
    assert report.metrics["accuracy"] == report.metrics["accuracy_source"] >= 0.95
    assert report.manifest.preprocessing.kind == "tabular"
    assert report.manifest.preprocessing.feature_names[0] == "sepal length (cm)"


def test_class_values_as_targets_are_mapped_to_the_models_output_order(
    iris_model: Any, iris: Any, tmp_path: Path, out_dir: Path
) -> None:
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, iris.data.to_numpy(np.float32))
    np.save(y, np.asarray(iris.target_names[iris.target]))  # strings: setosa, ...
    report = convert_model(
        iris_model,
        out_dir / "iris.onnx",
        ConversionOptions(benchmark_repeats=10, samples=x, targets=y),
    )
    assert report.metrics["accuracy"] >= 0.95


def test_the_evaluation_rows_are_kept_beside_the_file_with_their_sha256(
    iris_model: Any, iris_csv: Path, out_dir: Path
) -> None:
    options = ConversionOptions(benchmark_repeats=10, samples=iris_csv, target_column="species")
    report = convert_model(iris_model, out_dir / "iris.onnx", options)
    from utils.deployment_helpers.manifest import read_manifest_file

    record = read_manifest_file(report.manifest_path).versions["1"].evaluation
    assert record is not None
    assert sha256_file(out_dir / record.file) == record.sha256
    x, y = read_evaluation(out_dir, record)
    assert x.shape == (150, 4) and y.dtype == np.int64


def test_changed_evaluation_rows_are_refused_when_read_back(
    iris_model: Any, iris_csv: Path, out_dir: Path
) -> None:
    options = ConversionOptions(benchmark_repeats=10, samples=iris_csv, target_column="species")
    report = convert_model(iris_model, out_dir / "iris.onnx", options)
    from utils.deployment_helpers.manifest import read_manifest_file

    record = read_manifest_file(report.manifest_path).versions["1"].evaluation
    assert record is not None
    (out_dir / record.file).write_bytes(b"changed")
    with pytest.raises(BadInput, match="changed since"):
        read_evaluation(out_dir, record)


def test_the_reference_profile_of_any_tabular_model_names_its_features(
    iris_model: Any, iris_csv: Path, out_dir: Path
) -> None:
    options = ConversionOptions(benchmark_repeats=10, samples=iris_csv, target_column="species")
    profile = convert_model(iris_model, out_dir / "iris.onnx", options).manifest.reference_profile
    assert profile is not None
    assert profile["features"] == 4 and profile["feature_names"][2] == "petal length (cm)"
    assert profile["class_frequencies"] == {"setosa": 0.333333, "versicolor": 0.333333,
                                            "virginica": 0.333333}  # fmt: skip


def test_class_names_whose_count_is_not_the_output_width_are_refused(
    iris_model: Any, iris_csv: Path, out_dir: Path
) -> None:
    options = ConversionOptions(
        benchmark_repeats=10, samples=iris_csv, target_column="species", labels=("a", "b")
    )
    with pytest.raises(BadInput, match="outputs 3 classes"):
        convert_model(iris_model, out_dir / "iris.onnx", options)


def test_a_regressor_records_mae_and_rmse(tmp_path: Path, out_dir: Path) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True)
    data = tmp_path / "diabetes.npz"
    np.savez(data, x=x.astype(np.float32), y=y)
    report = convert_model(
        Ridge().fit(x, y),
        out_dir / "ridge.onnx",
        ConversionOptions(benchmark_repeats=10, samples=data),
    )
    assert report.manifest.task == "regression"
    assert 30 < report.metrics["mae"] < report.metrics["rmse"] < 80
    assert report.metrics["mae"] == pytest.approx(report.metrics["mae_source"], rel=1e-4)


def test_targets_that_are_not_classes_of_the_model_are_refused(
    iris_model: Any, iris: Any, tmp_path: Path, out_dir: Path
) -> None:
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, iris.data.to_numpy(np.float32))
    np.save(y, np.full(150, 7))
    with pytest.raises(BadInput, match="not classes of the model"):
        convert_model(
            iris_model,
            out_dir / "m.onnx",
            ConversionOptions(benchmark_repeats=10, samples=x, targets=y),
        )


def test_a_standardization_is_folded_into_a_torch_graph(tmp_path: Path, out_dir: Path) -> None:
    import onnxruntime as ort
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    raw = np.random.default_rng(0).normal([100, -5, 0.01], [30, 2, 0.001], (64, 3))
    samples = tmp_path / "x.npy"
    np.save(samples, raw.astype(np.float32))
    report = convert_model(
        model,
        out_dir / "m.onnx",
        ConversionOptions(benchmark_repeats=10, samples=samples, standardize="auto"),
    )
    standardization = report.manifest.preprocessing.standardization
    assert standardization is not None and standardization.in_graph
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    expected = model(torch.tensor((raw - mean) / std, dtype=torch.float32)).detach().numpy()
    session = ort.InferenceSession(str(out_dir / "m.onnx"))
    got = session.run(None, {"input": raw.astype(np.float32)})[0]
    assert np.abs(got - expected).max() < 1e-4


def test_a_state_dict_is_built_with_the_named_class(tmp_path: Path, out_dir: Path) -> None:
    import torch

    (tmp_path / "tiny_net.py").write_text(
        "import torch\n\n\nclass Tiny(torch.nn.Module):\n"
        "    def __init__(self, width: int) -> None:\n"
        "        super().__init__()\n        self.fc = torch.nn.Linear(width, 2)\n\n"
        "    def forward(self, x):\n        return self.fc(x)\n"
    )
    weights = tmp_path / "weights.pt"
    torch.save(torch.nn.Sequential().state_dict() | {"fc.weight": torch.ones(2, 5),
               "fc.bias": torch.zeros(2)}, weights)  # fmt: skip
    samples = tmp_path / "x.npy"
    np.save(samples, np.ones((8, 5), np.float32))
    from utils.conversion import convert

    options = ConversionOptions(
        benchmark_repeats=10, samples=samples, model_class="tiny_net:Tiny", model_args=[5]
    )
    report = convert(weights, out_dir / "tiny.onnx", options)
    assert report.parity.passed


def test_a_state_dict_without_a_class_is_refused_naming_the_option(
    tmp_path: Path, out_dir: Path
) -> None:
    import torch

    weights = tmp_path / "weights.pt"
    torch.save({"fc.weight": torch.ones(2, 5)}, weights)
    from utils.conversion import convert

    with pytest.raises(BadInput, match="--model-class"):
        convert(
            weights, out_dir / "m.onnx", ConversionOptions(benchmark_repeats=10, input_shape=(5,))
        )
