"""Fixtures for the conversion tests: the digits split and small real models to convert."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from utils.digits import DigitsSplit, load_split, to_layout


@pytest.fixture(scope="session")
def digits() -> DigitsSplit:
    return load_split()


@pytest.fixture(scope="session")
def logistic_pipeline(digits: DigitsSplit) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return model.fit(to_layout(digits.x_train, "flat"), digits.y_train)


@pytest.fixture(scope="session")
def forest_pipeline(digits: DigitsSplit) -> Any:
    """A tree ensemble behind a scaler: the case where float32 may flip a label."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(), RandomForestClassifier(n_estimators=25, max_depth=8, random_state=0)
    )
    return model.fit(to_layout(digits.x_train, "flat"), digits.y_train)


@pytest.fixture(scope="session")
def small_cnn() -> Any:
    """An untrained but deterministic torch CNN for the digits' NCHW layout."""
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 8 * 8, 10),
    ).eval()


@pytest.fixture(scope="session")
def keras_model() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(10),
            ]
        )


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def onnx_predict(path: Path, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})
