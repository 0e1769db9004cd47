"""A student's own models, built the usual way, and the repository they are published to.

Reusable by any test of the "bring your own model" walk (issue 11): ``student`` trains
three small models on data sets that ship with scikit-learn and saves each the way most
people do, with their evaluation and calibration rows beside them; ``student_repository``
converts every one of them with its targets through the real command line and publishes
them into one model repository; ``compressed`` is a copy where ``auto`` published each
network's compressed version beside version 1; ``api`` and ``page_url`` serve that copy
with both apps on 127.0.0.1. All are session-scoped: training, conversion and compression
are the expensive part, and the tests only read what they produced (tests that change
files work on a copy, see :func:`repository_copy`).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from tp_docker.tp_docker_server import LiveServer, settings_for, start_server
from tp_flask.conftest import browser, browser_page  # noqa: F401  (the page tests' browser)
from tp_flask.live import serving

from TP_Flask.app import create_app as create_flask_app
from TP_Flask.settings import Settings as FlaskSettings
from utils.paths import PROJECT_ROOT

CONVERT = PROJECT_ROOT / "TP_ONNX" / "model_conversion.py"
QUANTIZE = PROJECT_ROOT / "TP_Quantization" / "quantization_tools.py"
GATE = PROJECT_ROOT / "deploy" / "ci" / "model_quality_gate.py"

MLP_MODULE = textwrap.dedent(
    '''
    import torch


    class MLP(torch.nn.Module):
        """A student's network: two dense layers, trained on standardised features."""

        def __init__(self, features: int, classes: int, hidden: int = 32) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)
    '''
)


@dataclass(frozen=True)
class Student:
    """The student's folder and what is in it."""

    folder: Path
    sklearn_model: Path
    """iris RandomForest in a pipeline, fitted on a DataFrame (feature_names_in_), pickled."""
    torch_full: Path
    """wine MLP saved with torch.save(model): a whole pickled nn.Module."""
    torch_state_dict: Path
    """the same MLP saved with torch.save(model.state_dict())."""
    torch_scaler: Path
    """scaler.json: the training mean and std the MLP was trained behind."""
    keras_model: Path
    """breast-cancer Keras network (.keras), trained on standardised features."""
    keras_scaler: Path
    """cancer_scaler.npz: its training mean and std."""
    iris_test: Path
    """iris_test.csv: header + ``species`` target column."""
    wine_test_x: Path
    wine_test_y: Path
    wine_train_x: Path
    """Training rows for static int8 calibration (never the rows accuracy is measured on)."""
    cancer_test: Path
    """cancer_test.npz holding x and y."""
    cancer_train_x: Path
    """The Keras network's training rows, for its static int8 calibration."""


def _split(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    return tuple(train_test_split(x, y, test_size=0.3, random_state=0, stratify=y))


def _train_torch(folder: Path) -> tuple[Path, Path, Path, Path, Path, Path]:
    import torch
    from sklearn.datasets import load_wine

    (folder / "student_mlp.py").write_text(MLP_MODULE)
    sys.path.insert(0, str(folder))
    try:
        from student_mlp import MLP  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(folder))
    x, y = load_wine(return_X_y=True)
    x_train, x_test, y_train, y_test = _split(x.astype(np.float32), y)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    torch.manual_seed(0)
    model = MLP(13, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    inputs, targets = torch.tensor((x_train - mean) / std), torch.tensor(y_train)
    for _ in range(200):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
    model.eval()
    full, state = folder / "wine_mlp.pt", folder / "wine_mlp_weights.pt"
    torch.save(model, full)
    torch.save(model.state_dict(), state)
    scaler = folder / "scaler.json"
    scaler.write_text(json.dumps({"mean": mean.tolist(), "std": std.tolist()}))
    paths = folder / "wine_x_test.npy", folder / "wine_y_test.npy", folder / "wine_x_train.npy"
    np.save(paths[0], x_test)
    np.save(paths[1], y_test)
    np.save(paths[2], x_train)
    return full, state, scaler, *paths


def _train_keras(folder: Path) -> tuple[Path, Path, Path, Path]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = _split(x.astype(np.float32), y)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((30,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit((x_train - mean) / std, y_train, epochs=30, verbose=0)
    path, scaler = folder / "cancer.keras", folder / "cancer_scaler.npz"
    model.save(path)
    np.savez(scaler, mean=mean, std=std)
    test, train = folder / "cancer_test.npz", folder / "cancer_x_train.npy"
    np.savez(test, x=x_test, y=y_test)
    np.save(train, x_train)
    return path, test, scaler, train


def _train_sklearn(folder: Path) -> tuple[Path, Path]:
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    frame = load_iris(as_frame=True).frame
    frame["species"] = frame.pop("target").map(dict(enumerate(load_iris().target_names)))
    columns = [c for c in frame.columns if c != "species"]
    x_train, x_test, y_train, y_test = _split(frame[columns], frame["species"])
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(x_train, y_train)
    path = folder / "iris_forest.pkl"
    path.write_bytes(pickle.dumps(model))
    test = folder / "iris_test.csv"
    x_test.assign(species=y_test).to_csv(test, index=False)
    return path, test


@pytest.fixture(scope="session")
def student(tmp_path_factory: pytest.TempPathFactory) -> Student:
    """Three models trained and saved as a student would (~20 s)."""
    folder = tmp_path_factory.mktemp("student")
    sklearn_model, iris_test = _train_sklearn(folder)
    full, state, scaler, wine_x, wine_y, wine_train = _train_torch(folder)
    keras_model, cancer_test, keras_scaler, cancer_train = _train_keras(folder)
    return Student(
        folder, sklearn_model, full, state, scaler, keras_model, keras_scaler, iris_test,
        wine_x, wine_y, wine_train, cancer_test, cancer_train,
    )  # fmt: skip


def run(script: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A project script as a student runs it: a real process, from their own folder."""
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def convert_all(student: Student, repository: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """Convert and publish each model with its targets, the way the README shows."""
    out = student.folder / "onnx"
    out.mkdir(exist_ok=True)
    common = ("--repository", repository)
    return {
        "iris_forest": run(
            CONVERT, "--input", student.sklearn_model, "--output", out / "iris_forest.onnx",
            "--samples", student.iris_test, "--target-column", "species",
            "--name", "iris_forest", *common, cwd=student.folder,
        ),
        "wine_mlp": run(
            CONVERT, "--input", student.torch_full, "--output", out / "wine_mlp.onnx",
            "--samples", student.wine_test_x, "--targets", student.wine_test_y,
            "--standardize", student.torch_scaler, "--labels", "cultivar_0,cultivar_1,cultivar_2",
            "--name", "wine_mlp", *common, cwd=student.folder,
        ),
        "cancer_keras": run(
            CONVERT, "--input", student.keras_model, "--output", out / "cancer_keras.onnx",
            "--samples", student.cancer_test, "--labels", "malignant,benign",
            "--standardize", student.keras_scaler,
            "--name", "cancer_keras", *common, cwd=student.folder,
        ),
    }  # fmt: skip


Published = tuple[Path, dict[str, subprocess.CompletedProcess[str]]]
"""The repository and what each conversion printed."""


@pytest.fixture(scope="session")
def student_repository(student: Student, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The three models converted with targets and published into one repository."""
    repository = tmp_path_factory.mktemp("student-repo") / "models"
    done = convert_all(student, repository)
    for name, result in done.items():
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
    return repository, done


@pytest.fixture
def repository_copy(student_repository: tuple[Path, object], tmp_path: Path) -> Path:
    """A private copy of the student's repository, for tests that change it."""
    target = tmp_path / "models"
    shutil.copytree(student_repository[0], target)
    return target


CALIBRATION = {"iris_forest": None, "wine_mlp": "wine_train_x", "cancer_keras": "cancer_train_x"}
"""The student's own training rows each network's static int8 recipes calibrate on (the
forest has no weights to quantize: ``auto`` says so and publishes nothing)."""


@dataclass(frozen=True)
class Compressed:
    """The student's repository after ``auto`` compressed each network with its own rows."""

    repository: Path
    auto: dict[str, subprocess.CompletedProcess[str]]
    """What ``quantization_tools.py auto`` printed, per model."""


@pytest.fixture(scope="session")
def compressed(
    student: Student, student_repository: Published, tmp_path_factory: pytest.TempPathFactory
) -> Compressed:
    """A copy of the published repository where ``auto`` put the best int8/fp16 variant of
    each network, within one accuracy point, as version 2 beside version 1 (~1 min)."""
    repository = tmp_path_factory.mktemp("compressed") / "models"
    shutil.copytree(student_repository[0], repository)
    done = {}
    for name, rows in CALIBRATION.items():
        calibration = ("--calibration", getattr(student, rows)) if rows else ()
        done[name] = run(
            QUANTIZE, "auto", name, "--repository", repository, *calibration,
            "--repeats", "20", cwd=student.folder,
        )  # fmt: skip
        assert done[name].returncode == (0 if rows else 7), done[name].stdout + done[name].stderr
    return Compressed(repository, done)


@pytest.fixture(scope="session")
def api(compressed: Compressed) -> Iterator[LiveServer]:
    """The FastAPI app (TP_Docker) serving the student's repository on 127.0.0.1."""
    live = start_server(settings_for(compressed.repository))
    yield live
    live.stop()


@pytest.fixture(scope="session")
def page_url(compressed: Compressed) -> Iterator[str]:
    """The Flask app (TP_Flask) serving the same repository, on werkzeug, 127.0.0.1."""
    settings = FlaskSettings(
        model_repository=compressed.repository, log_format="text", rate_limit=""
    )
    with serving(create_flask_app(settings)) as url:
        yield url
