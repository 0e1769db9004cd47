"""Whole numbers drawn on a wide canvas: 3 to 5 drawn digits with uneven gaps and heights.

One writer draws the whole number (one pen width, one slant range), as a person does;
each digit gets its own height (up to 35 % apart), its own baseline shift and its own gap
to the previous one (from touching to half a digit's height). The number is placed
anywhere on a canvas of varied size, so the detector learns scale and position. The
ground truth is each digit's ink box (pen width included) and its label.

Training compositions come from the training stream and :data:`TRAINING_WRITER`, held-out
ones from the evaluation stream and the named :data:`EVALUATION_WRITERS` (one per number,
in turn), as for single digits (see :mod:`utils.vision.strokes`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from utils.vision.strokes import (
    EVAL_STREAM,
    EVALUATION_WRITERS,
    TRAIN_STREAM,
    TRAINING_WRITER,
    Stroke,
    Writer,
    glyph_strokes,
    render_strokes,
)

WIDE_CANVAS: Final[tuple[int, int]] = (840, 280)
"""(width, height) of the wide drawing pad a number is drawn on, 3:1."""

MIN_DIGITS: Final[int] = 3
MAX_DIGITS: Final[int] = 5


@dataclass(frozen=True)
class Composition:
    """A drawn number: opacity [H, W] in [0, 1], each digit's label and box (x0, y0, x1, y1)."""

    alpha: NDArray[np.float32]
    labels: list[int]
    boxes: list[tuple[float, float, float, float]]

    @property
    def text(self) -> str:
        """The number as written, e.g. "2026"."""
        return "".join(str(label) for label in self.labels)

    def to_png(self, *, scale: float = 1.0) -> bytes:
        """The drawing as the page's pad sends it (opaque strokes on a transparent
        background), resized by ``scale``: the boxes then scale by ``scale`` too."""
        height, width = self.alpha.shape
        rgba = np.zeros((height, width, 4), dtype=np.uint8)
        rgba[..., 3] = np.round(self.alpha * 255.0).astype(np.uint8)
        image = Image.fromarray(rgba, mode="RGBA")
        if scale != 1.0:
            size = (round(width * scale), round(height * scale))
            image = image.resize(size, Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()


def _canvas_size(rng: np.random.Generator, vary: bool) -> tuple[int, int]:
    if not vary:
        return WIDE_CANVAS
    width = int(rng.integers(560, 1121))
    height = int(rng.integers(max(180, width // 5), min(420, width // 2) + 1))
    return width, height


def compose_number(
    writer: Writer,
    rng: np.random.Generator,
    *,
    digits: int | None = None,
    canvas: tuple[int, int] | None = None,
) -> Composition:
    """Draw a number of ``digits`` digits (3 to 5 at random when None) on a wide canvas.

    ``canvas`` is (width, height); None draws a random size between 560x180 and
    1120x420 (the training set's variety); pass :data:`WIDE_CANVAS` for the page's pad.
    """
    count = int(rng.integers(MIN_DIGITS, MAX_DIGITS + 1)) if digits is None else digits
    width, height = canvas if canvas is not None else _canvas_size(rng, vary=True)
    labels = [int(v) for v in rng.integers(0, 10, size=count)]
    base_height = float(rng.uniform(0.35, 0.75)) * height
    thickness = 0.0
    placed: list[tuple[list[Stroke], NDArray[np.float64], NDArray[np.float64]]] = []
    cursor = 0.0
    for label in labels:
        digit_height = base_height * float(rng.uniform(0.8, 1.15))
        strokes, thickness_drawn = glyph_strokes(label, writer, rng, height_px=digit_height)
        thickness = thickness or thickness_drawn  # one pen for the whole number
        points = np.concatenate(strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        gap = float(rng.uniform(0.02, 0.5)) * digit_height + thickness
        shift_x = cursor + (gap if placed else 0.0) - low[0]
        shift_y = float(rng.normal(0.0, 0.06)) * digit_height
        offset = np.array([shift_x, shift_y])
        placed.append(([s + offset for s in strokes], low + offset, high + offset))
        cursor = float(high[0] + shift_x)
    lows = np.min([p[1] for p in placed], axis=0)
    highs = np.max([p[2] for p in placed], axis=0)
    margin = thickness / 2 + 4
    span = highs - lows
    fit = min(1.0, (width - 2 * margin) / span[0], (height - 2 * margin) / span[1])
    free = np.array([width, height]) - span * fit - 2 * margin
    corner = np.array([margin, margin]) + free * rng.uniform(0.0, 1.0, size=2)
    pen = max(2.0, thickness * fit)
    strokes_px: list[Stroke] = []
    boxes = []
    for strokes, low, high in placed:
        strokes_px += [(s - lows) * fit + corner for s in strokes]
        x0, y0 = (low - lows) * fit + corner - pen / 2
        x1, y1 = (high - lows) * fit + corner + pen / 2
        boxes.append((float(x0), float(y0), float(x1), float(y1)))
    alpha = render_strokes(strokes_px, pen, (width, height))
    return Composition(alpha, labels, boxes)


def training_numbers(count: int, *, seed: int = 0) -> Iterator[Composition]:
    """``count`` numbers by the training writer, on canvases of varied size."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TRAIN_STREAM, 1)))
    for _ in range(count):
        yield compose_number(TRAINING_WRITER, rng)


def held_out_numbers(count: int, *, seed: int = 0) -> Iterator[Composition]:
    """``count`` numbers on the page's wide pad, by the evaluation writers in turn."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(EVAL_STREAM, 1)))
    for index in range(count):
        writer = EVALUATION_WRITERS[index % len(EVALUATION_WRITERS)]
        yield compose_number(writer, rng, canvas=WIDE_CANVAS)
