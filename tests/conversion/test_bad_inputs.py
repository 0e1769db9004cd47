"""Every bad input is refused with a typed error that says what to do; nothing is written."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from utils.conversion import convert, detect_format
from utils.errors import BadInput


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("model.txt", b"hello", "unknown model extension"),
        ("model.pt2", b"not a zip at all", "not a torch.export archive"),
        ("model.keras", b"\x00\x01garbage", "not a .keras zip archive"),
        ("model.h5", b"garbage!", "not an HDF5 file"),
        ("model.pkl", b"garbage", "not a pickle file"),
        ("model.pkl", b"", "is empty"),
    ],
)
def test_a_wrong_or_corrupt_file_is_refused_before_loading(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInput, match=message):
        detect_format(path)


def test_a_missing_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        detect_format(tmp_path / "nope.pkl")


def test_a_truncated_pickle_is_refused(
    logistic_pipeline: Any, tmp_path: Path, out_dir: Path
) -> None:
    data = pickle.dumps(logistic_pipeline)
    (tmp_path / "cut.pkl").write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput, match="could not be unpickled"):
        convert(tmp_path / "cut.pkl", out_dir / "m.onnx")
    assert list(out_dir.iterdir()) == []


def test_a_pickle_that_is_not_a_model_is_refused(tmp_path: Path, out_dir: Path) -> None:
    (tmp_path / "dict.pkl").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(BadInput, match="holds a dict, not a scikit-learn model"):
        convert(tmp_path / "dict.pkl", out_dir / "m.onnx")


def test_a_corrupt_torch_archive_is_refused(tmp_path: Path, out_dir: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "broken.pt2", "w") as archive:
        archive.writestr("nothing.txt", "no program here")
    with pytest.raises(BadInput, match="could not be loaded by torch"):
        convert(tmp_path / "broken.pt2", out_dir / "m.onnx")


def test_an_output_in_a_missing_folder_is_refused(logistic_pipeline: Any, tmp_path: Path) -> None:
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(logistic_pipeline))
    with pytest.raises(BadInput, match="does not exist: create it first"):
        convert(tmp_path / "m.pkl", tmp_path / "missing" / "m.onnx")


def test_an_output_without_the_onnx_extension_is_refused(
    logistic_pipeline: Any, tmp_path: Path
) -> None:
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(logistic_pipeline))
    with pytest.raises(BadInput, match=r"must end in \.onnx"):
        convert(tmp_path / "m.pkl", tmp_path / "m.bin")
