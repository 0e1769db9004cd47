"""The quality gate on models that are not the digits: it re-scores each version on the
labelled rows its manifest records, and fails when it checked nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from utils.conversion import ConversionOptions, convert_model
from utils.deployment_helpers.manifest import read_manifest

from .test_quality_gate import run_gate


def _rows(tmp_path: Path, name: str, x: Any, y: Any) -> Path:
    path = tmp_path / f"{name}.npz"
    np.savez(path, x=np.asarray(x, np.float32), y=np.asarray(y))
    return path


def _publish(model: Any, rows: Path, repository: Path, name: str, tmp_path: Path) -> None:
    options = ConversionOptions(samples=rows, repository=repository, name=name, benchmark_repeats=5)
    convert_model(model, tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.onnx", options)


@pytest.fixture(scope="module")
def wine() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    x, y = load_wine(return_X_y=True)
    return tuple(train_test_split(x, y, test_size=0.3, random_state=0, stratify=y))


@pytest.fixture
def wine_repository(wine: tuple[Any, ...], tmp_path: Path) -> Path:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test, y_train, y_test = wine
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    repository = tmp_path / "models"
    _publish(model.fit(x_train, y_train), _rows(tmp_path, "test", x_test, y_test),
             repository, "wine", tmp_path)  # fmt: skip
    return repository


def test_a_students_classifier_passes_on_its_recorded_rows(
    wine_repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_gate(capsys, str(wine_repository))
    assert code == 0, out + err
    assert "1 of 1 checks within budget; 0 integrity problem(s)" in out


@pytest.mark.filterwarnings("ignore:lbfgs failed to converge")
def test_a_worse_version_of_a_students_classifier_fails_the_gate(
    wine: tuple[Any, ...], wine_repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.linear_model import LogisticRegression

    from utils.compression.publish import publish_variant
    from utils.evaluation.scoring import scorer_for

    x_train, _, y_train, _ = wine
    worse = LogisticRegression(max_iter=3).fit(x_train[:, :13], np.roll(y_train, 7))  # unscaled
    onnx_file = wine_repository.parent / "worse.onnx"
    convert_model(worse, onnx_file, ConversionOptions(benchmark_repeats=5,
                  samples=np.asarray(x_train, np.float32)))  # fmt: skip
    manifest = read_manifest(wine_repository / "wine")
    scorer = scorer_for(onnx_file, manifest=manifest, folder=wine_repository / "wine",
                        version="1")  # fmt: skip
    assert scorer is not None
    publish_variant(onnx_file, wine_repository, "wine", variant="fp16",
                    metrics=scorer.metrics(onnx_file), accuracy_budget=0.01,
                    evaluation=manifest.versions["1"].evaluation)  # fmt: skip
    code, _, err = run_gate(capsys, str(wine_repository))
    assert code == 1
    assert "FAIL wine v2 (fp16): accuracy" in err


def test_changed_evaluation_rows_fail_the_gate(
    wine_repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = read_manifest(wine_repository / "wine").versions["1"].evaluation
    assert record is not None
    (wine_repository / "wine" / record.file).write_bytes(b"other rows")
    code, _, err = run_gate(capsys, str(wine_repository))
    assert code == 1
    assert "changed since the metrics were recorded" in err


def test_a_regressor_is_gated_on_its_mae(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True)
    repository = tmp_path / "models"
    _publish(Ridge().fit(x, y), _rows(tmp_path, "rows", x, y), repository, "diabetes", tmp_path)
    code, out, err = run_gate(capsys, str(repository))
    assert code == 0, out + err
    assert "mae" in out


def test_a_repository_where_nothing_records_metrics_fails_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    options = ConversionOptions(benchmark_repeats=5, samples=np.asarray(x, np.float32),
                                repository=tmp_path / "models", name="iris")  # fmt: skip
    convert_model(LogisticRegression(max_iter=300).fit(x, y), tmp_path / "iris.onnx", options)
    code, _, err = run_gate(capsys, str(tmp_path / "models"))
    assert code == 1
    assert "nothing was checked" in err
