"""Drawn digits as training data for the 8x8 demo models.

The demo models learn from the dataset's digits and from digits drawn by
:data:`~utils.vision.strokes.TRAINING_WRITER` on the training stream (never the
evaluation stream the benchmark draws from), reduced to 8x8 by the very function that
serves a drawing (:func:`utils.preprocessing.ink_to_digit`). The opacity is rounded to
8 bits first, as the page's PNG holds it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from utils.preprocessing import ink_to_digit
from utils.vision.strokes import TRAIN_STREAM, TRAINING_WRITER, drawings, stream


def as_png_levels(alpha: NDArray[np.float32]) -> NDArray[np.float32]:
    """Round an opacity image to the 256 levels a PNG keeps."""
    rounded: NDArray[np.float32] = (np.round(alpha * 255.0) / 255.0).astype(np.float32)
    return rounded


def drawn_digits(count: int, *, seed: int = 0) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``count`` drawn digits (labels cycling 0..9) as float32 [N, 8, 8] and int64 [N]."""
    images = []
    labels = []
    for drawing in drawings(TRAINING_WRITER, count, stream(seed, TRAIN_STREAM)):
        images.append(ink_to_digit(as_png_levels(drawing.alpha)))
        labels.append(drawing.label)
    return np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64)
