"""Calibration data from each source a user has: the demo split, a .npy file, an image folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from utils.compression import (
    feeds_from_digits,
    feeds_from_image_folder,
    feeds_from_npy,
    quantize_static_int8,
)
from utils.compression.evaluate import digits_accuracy
from utils.errors import BadInput
from utils.paths import TESTDATA


def test_demo_split_calibration_uses_the_train_images_only() -> None:
    feeds = feeds_from_digits("input", "NCHW")
    assert sum(len(f["input"]) for f in feeds) == 1437  # 80 % of 1,797: never the 360 test images


def test_npy_calibration_gives_batches_of_the_file_rows(tmp_path: Path) -> None:
    data = np.random.default_rng(0).random((100, 1, 8, 8), dtype=np.float32)
    np.save(tmp_path / "calib.npy", data)
    feeds = feeds_from_npy(tmp_path / "calib.npy", "input", batch_size=32)
    assert [len(f["input"]) for f in feeds] == [32, 32, 32, 4]


def test_image_folder_calibration_quantizes_a_model_that_still_classifies(
    torch_cnn: Path, torch_accuracy: float, tmp_path: Path
) -> None:
    images = sorted(TESTDATA.glob("digit_*.png"))
    assert len(images) >= 5, (
        "tests/testdata/digit_*.png are committed but missing: this clone is incomplete"
        " (git restore tests/testdata/)"
    )
    folder = tmp_path / "images"
    folder.mkdir()
    for image in images:
        shutil.copy(image, folder / image.name)
    feeds = feeds_from_image_folder(folder, "input", "NCHW")
    report = quantize_static_int8(torch_cnn, tmp_path / "img.onnx", feeds)
    # Ten images are a thin calibration set: allow more than the 1-point budget, not collapse.
    assert digits_accuracy(report.output) >= torch_accuracy - 0.05


def test_an_image_folder_without_images_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(BadInput, match="holds no image"):
        feeds_from_image_folder(tmp_path, "input", "NCHW")


def test_an_image_models_folder_is_resized_to_its_image_size_in_its_layout(
    tmp_path: Path,
) -> None:
    from PIL import Image

    from utils.compression.calibration import feeds_from_images

    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "a.png")
    Image.new("L", (7, 9), 128).save(tmp_path / "b.jpg")
    feeds = feeds_from_images(tmp_path, "pixels", image_size=(16, 24), layout="NCHW", channels=3)
    (batch,) = feeds
    assert batch["pixels"].shape == (2, 3, 16, 24)
    assert batch["pixels"][0, 0].max() == 1.0 and batch["pixels"][0, 1].max() == 0.0
