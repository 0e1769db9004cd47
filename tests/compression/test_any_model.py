"""TP_Quantization's commands on a model that is not the digits: the user's calibration
rows are read before anything is assumed, and every variant is scored on labelled rows."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from utils.conversion import ConversionOptions, convert_model
from utils.deployment_helpers.manifest import read_manifest
from utils.paths import PROJECT_ROOT


def _tool() -> ModuleType:
    path = PROJECT_ROOT / "TP_Quantization" / "quantization_tools.py"
    spec = importlib.util.spec_from_file_location("quantization_tools_any", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _tool()


@pytest.fixture(scope="module")
def iris_mlp(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An iris MLP (torch, trained here), converted with its test rows into a repository."""
    import torch
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    folder = tmp_path_factory.mktemp("iris")
    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype(np.float32), y, test_size=0.3, random_state=0, stratify=y
    )
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            model(torch.tensor(x_train)), torch.tensor(y_train)
        )
        loss.backward()
        optimizer.step()
    paths = {name: folder / f"{name}.npy" for name in ("x_train", "x_test", "y_test")}
    for name, array in (("x_train", x_train), ("x_test", x_test), ("y_test", y_test)):
        np.save(paths[name], array)
    options = ConversionOptions(
        samples=paths["x_test"], targets=paths["y_test"], repository=folder / "models",
        name="iris_mlp", benchmark_repeats=5,
    )  # fmt: skip
    convert_model(model.eval(), folder / "iris_mlp.onnx", options)
    return {**paths, "repository": folder / "models", "folder": folder}


def run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    code = tool.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_static_int8_of_an_iris_mlp_calibrates_on_the_users_npy(
    iris_mlp: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = iris_mlp["repository"] / "iris_mlp" / "1" / "model.onnx"
    code, out, err = run(capsys, "static", source, tmp_path / "int8.onnx",
                         "--calibration", iris_mlp["x_train"])  # fmt: skip
    assert code == 0, err
    assert "accuracy" in out and "recorded evaluation data" in out


def test_static_int8_without_calibration_rows_asks_for_the_users_own(
    iris_mlp: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = iris_mlp["repository"] / "iris_mlp" / "1" / "model.onnx"
    code, _, err = run(capsys, "static", source, tmp_path / "int8.onnx")
    assert code == 2
    assert "--calibration" in err and "digits" not in err.split("--calibration")[0]


def test_dynamic_and_fp16_report_the_accuracy_on_the_recorded_rows(
    iris_mlp: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = iris_mlp["repository"] / "iris_mlp" / "1" / "model.onnx"
    for command in ("dynamic", "fp16"):
        code, out, err = run(capsys, command, source, tmp_path / f"{command}.onnx")
        assert code == 0, err
        assert "; accuracy " in out, out


def test_auto_publishes_a_variant_scored_on_the_same_rows_as_its_fp32_version(
    iris_mlp: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    repository = tmp_path / "models"
    shutil.copytree(iris_mlp["repository"], repository)
    code, out, err = run(capsys, "auto", "iris_mlp", "--repository", repository,
                         "--calibration", iris_mlp["x_train"], "--repeats", "10",
                         "--budget", "0.05")  # fmt: skip
    assert code == 0, out + err
    manifest = read_manifest(repository / "iris_mlp")
    assert manifest.versions["2"].evaluation == manifest.versions["1"].evaluation
    assert (
        manifest.versions["2"].metrics["accuracy"]
        >= manifest.versions["1"].metrics["accuracy"] - 0.05
    )


def test_evaluate_scores_any_model_on_a_given_npz(
    iris_mlp: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.npz"
    np.savez(rows, x=np.load(iris_mlp["x_test"]), y=np.load(iris_mlp["y_test"]))
    source = iris_mlp["repository"] / "iris_mlp" / "1" / "model.onnx"
    code, out, err = run(capsys, "evaluate", source, "--data", rows)
    assert code == 0, err
    assert json.loads(out)["accuracy"] >= 0.9


def test_evaluate_without_labelled_rows_says_what_to_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    onnx_file = tmp_path / "bare.onnx"
    options = ConversionOptions(samples=np.asarray(x, np.float32), benchmark_repeats=5)
    convert_model(LogisticRegression(max_iter=300).fit(x, y), onnx_file, options)
    (tmp_path / "bare.manifest.json").unlink()  # a file converted elsewhere
    code, _, err = run(capsys, "evaluate", onnx_file)
    assert code == 2
    assert "--data" in err
