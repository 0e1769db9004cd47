"""TP_ONNX/model_conversion.py as a user runs it: exit codes, one-line errors, files."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tp_onnx.conftest import TP_ONNX, run_tool

SKLEARN = TP_ONNX / "model.pkl"


def _assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0]


def test_converting_the_demo_pickle_from_another_folder_writes_model_and_manifest(
    workdir: Path,
) -> None:
    result = run_tool(
        "model_conversion.py", "--input", SKLEARN, "--output", "model.onnx", cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in workdir.iterdir()) == ["model.manifest.json", "model.onnx"]
    assert "PASSED" in result.stdout


def test_the_manifest_written_by_the_cli_records_parity_and_accuracy(workdir: Path) -> None:
    run_tool("model_conversion.py", "--input", SKLEARN, "--output", "model.onnx", cwd=workdir)
    version = json.loads((workdir / "model.manifest.json").read_text())["versions"]["1"]
    assert version["parity"]["passed"] is True and version["parity"]["samples"] == 360
    assert version["metrics"]["accuracy"] > 0.95


def test_the_script_runs_from_its_own_folder_with_relative_paths(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "model_conversion.py",
            "--input",
            "model.pkl",
            "--output",
            str(tmp_path / "m.onnx"),
        ],
        cwd=TP_ONNX,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr


def test_help_warns_that_unpickling_runs_code_and_offers_skops(workdir: Path) -> None:
    result = run_tool("model_conversion.py", "--help", cwd=workdir)
    assert "runs code" in result.stdout and ".skops" in result.stdout


def test_publishing_twice_creates_versions_1_and_2(workdir: Path) -> None:
    for stem in ("a", "b"):
        result = run_tool(
            "model_conversion.py",
            "--input",
            SKLEARN,
            "--output",
            f"{stem}.onnx",
            "--repository",
            "repo",
            "--name",
            "digits",
            cwd=workdir,
        )
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (workdir / "repo" / "digits").iterdir()) == [
        "1",
        "2",
        "config.pbtxt",
        "manifest.json",
    ]


def test_repository_without_name_is_refused(workdir: Path) -> None:
    result = run_tool(
        "model_conversion.py",
        "--input",
        SKLEARN,
        "--output",
        "m.onnx",
        "--repository",
        "repo",
        cwd=workdir,
    )
    _assert_one_line_error(result, 2, "--repository needs --name")


def _truncated_pickle(folder: Path) -> Path:
    data = SKLEARN.read_bytes()
    path = folder / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    return path


def _not_a_model(folder: Path) -> Path:
    path = folder / "dict.pkl"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))
    return path


def _unknown_extension(folder: Path) -> Path:
    path = folder / "model.bin"
    shutil.copyfile(SKLEARN, path)
    return path


def _corrupt_keras(folder: Path) -> Path:
    path = folder / "model.keras"
    path.write_bytes(b"this is not a zip archive")
    return path


def _torchscript(folder: Path) -> Path:
    return TP_ONNX / "digits_cnn.pt"


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (_unknown_extension, "unknown model extension '.bin'"),
        (_corrupt_keras, "not a .keras zip archive"),
        (_truncated_pickle, "could not be unpickled"),
        (_not_a_model, "not a scikit-learn model"),
        (_torchscript, "pass --input-shape"),
    ],
    ids=[
        "unknown-extension",
        "corrupt-file",
        "truncated-pickle",
        "pickle-not-a-model",
        "needs-shape",
    ],
)
def test_a_bad_input_file_exits_2_with_one_line_and_writes_nothing(
    workdir: Path, make_input: object, message: str
) -> None:
    source = make_input(workdir)  # type: ignore[operator]
    before = set(workdir.iterdir())
    result = run_tool("model_conversion.py", "--input", source, "--output", "out.onnx", cwd=workdir)
    _assert_one_line_error(result, 2, message)
    assert set(workdir.iterdir()) == before


def test_an_output_in_a_missing_folder_exits_2(workdir: Path) -> None:
    result = run_tool(
        "model_conversion.py", "--input", SKLEARN, "--output", "no/such/m.onnx", cwd=workdir
    )
    _assert_one_line_error(result, 2, "does not exist: create it first")


def test_a_parity_failure_exits_6_and_leaves_no_output(workdir: Path) -> None:
    """The Keras CNN differs from its ONNX form by ~1e-6: an atol of 0 must fail."""
    result = run_tool(
        "model_conversion.py",
        "--input",
        TP_ONNX / "digits_cnn.keras",
        "--output",
        "k.onnx",
        "--atol",
        "0",
        cwd=workdir,
    )
    _assert_one_line_error(result, 6, "logits: max |diff|")
    assert list(workdir.iterdir()) == []
