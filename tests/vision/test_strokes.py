"""utils.vision.strokes: digits drawn as a person draws them on the page's canvas."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from utils.vision.strokes import (
    CANVAS_SIZE,
    EVALUATION_WRITERS,
    INK_RGB,
    TRAIN_STREAM,
    TRAINING_WRITER,
    canvas_png,
    draw_digit,
    drawings,
    evaluation_set,
    stream,
)


def test_the_same_seed_draws_the_same_pixels() -> None:
    first = draw_digit(4, TRAINING_WRITER, np.random.default_rng(7))
    again = draw_digit(4, TRAINING_WRITER, np.random.default_rng(7))
    assert np.array_equal(first.alpha, again.alpha)


def test_no_evaluation_drawing_is_also_a_training_drawing() -> None:
    held_out = [d.alpha for ds in evaluation_set(10).values() for d in ds]
    training = [d.alpha for d in drawings(TRAINING_WRITER, 200, stream(0, TRAIN_STREAM))]
    assert not any(np.array_equal(e, t) for e in held_out for t in training)


def test_the_evaluation_set_holds_each_named_writer_with_balanced_labels() -> None:
    sets = evaluation_set(20)
    assert list(sets) == [w.name for w in EVALUATION_WRITERS]
    for drawn in sets.values():
        assert np.bincount([d.label for d in drawn], minlength=10).tolist() == [2] * 10


def test_all_ink_lies_inside_the_drawings_box_and_the_canvas() -> None:
    rng = np.random.default_rng(3)
    for label in range(10):
        drawing = draw_digit(label, TRAINING_WRITER, rng)
        x0, y0, x1, y1 = drawing.box
        assert 0 <= x0 < x1 <= CANVAS_SIZE and 0 <= y0 < y1 <= CANVAS_SIZE
        rows, cols = np.nonzero(drawing.alpha > 0.05)
        assert rows.min() >= y0 - 2 and rows.max() <= y1 + 2  # anti-aliasing: a pixel or two
        assert cols.min() >= x0 - 2 and cols.max() <= x1 + 2


def test_a_thick_finger_lays_more_ink_than_a_thin_mouse() -> None:
    thin, thick = EVALUATION_WRITERS[1], EVALUATION_WRITERS[2]
    assert (thin.name, thick.name) == ("thin-mouse", "thick-finger")
    ink = [
        np.mean([d.alpha.sum() for d in drawings(w, 20, np.random.default_rng(0))])
        for w in (thin, thick)
    ]
    assert ink[1] > 3 * ink[0]


def test_the_png_is_the_pages_canvas_dark_strokes_on_a_transparent_pad() -> None:
    drawing = draw_digit(8, EVALUATION_WRITERS[0], np.random.default_rng(1))
    image = Image.open(io.BytesIO(canvas_png(drawing)))
    assert image.mode == "RGBA" and image.size == (CANVAS_SIZE, CANVAS_SIZE)
    pixels = np.asarray(image)
    assert pixels[0, 0, 3] == 0  # a corner is never drawn on
    assert tuple(pixels[pixels[..., 3] == 255][0, :3]) == INK_RGB
