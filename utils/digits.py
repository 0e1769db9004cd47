"""The demo dataset: scikit-learn's bundled 8x8 handwritten digits, split once, for all.

Every demo model, every accuracy figure and every calibration set comes from this one
split, so numbers in manifests, reports and tests can be compared. The data ships inside
scikit-learn: nothing is downloaded. scikit-learn is imported inside :func:`load_split`
only, so serving code can import the constants (labels, pixel scale) without it.

Pixels in the raw data are integers 0..16; models take float32 in [0, 1] (raw / 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput

SEED: Final[int] = 0
"""Seed for the split, the weight initialisation and the data order of every demo model."""

TEST_FRACTION: Final[float] = 0.2
"""Held-out share of the 1,797 samples (360 test, 1,437 train), stratified by label."""

PIXEL_MAX: Final[float] = 16.0
"""Raw pixel values run 0..16; divide by this to get the model's [0, 1] input."""

LABELS: Final[tuple[str, ...]] = tuple(str(d) for d in range(10))
"""Class names in output order."""

IMAGE_SIZE: Final[int] = 8


@dataclass(frozen=True)
class DigitsSplit:
    """Train and test arrays, images as float32 [N, 8, 8] in [0, 1], labels as int64 [N]."""

    x_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]


def load_split() -> DigitsSplit:
    """Return the fixed, stratified train/test split of the bundled digits data."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = (bunch.images / PIXEL_MAX).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_FRACTION, random_state=SEED, stratify=labels
    )
    return DigitsSplit(x_train, y_train, x_test, y_test)


def to_layout(images: NDArray[np.float32], layout: str) -> NDArray[np.float32]:
    """Reshape [N, 8, 8] images into a model's input layout.

    ``layout`` is the manifest's ``preprocessing.layout``: ``"NCHW"`` (torch CNN),
    ``"NHWC"`` (Keras CNN) or ``"flat"`` (scikit-learn, [N, 64]).
    """
    n = images.shape[0]
    if layout == "NCHW":
        return images.reshape(n, 1, IMAGE_SIZE, IMAGE_SIZE)
    if layout == "NHWC":
        return images.reshape(n, IMAGE_SIZE, IMAGE_SIZE, 1)
    if layout == "flat":
        return images.reshape(n, IMAGE_SIZE * IMAGE_SIZE)
    raise BadInput(f"unknown layout {layout!r}: expected NCHW, NHWC or flat")
