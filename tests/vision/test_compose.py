"""utils.vision.compose: whole numbers drawn on a wide canvas, with each digit's true box."""

from __future__ import annotations

import numpy as np

from utils.vision.compose import WIDE_CANVAS, held_out_numbers, training_numbers


def test_a_number_holds_three_to_five_digits_left_to_right_inside_its_canvas() -> None:
    for number in training_numbers(12, seed=1):
        height, width = number.alpha.shape
        assert 3 <= len(number.labels) <= 5 and number.text == "".join(map(str, number.labels))
        centres = [(x0 + x1) / 2 for x0, _, x1, _ in number.boxes]
        assert centres == sorted(centres)
        for x0, y0, x1, y1 in number.boxes:
            assert -2 <= x0 < x1 <= width + 2 and -2 <= y0 < y1 <= height + 2


def test_each_digits_box_holds_ink() -> None:
    number = next(training_numbers(1, seed=2))
    for x0, y0, x1, y1 in number.boxes:
        assert number.alpha[int(y0) : int(y1), int(x0) : int(x1)].max() > 0.9


def test_held_out_numbers_are_drawn_on_the_wide_pad_and_never_in_training() -> None:
    held_out = list(held_out_numbers(6))
    assert all(n.alpha.shape == (WIDE_CANVAS[1], WIDE_CANVAS[0]) for n in held_out)
    training = list(training_numbers(50))
    assert not any(
        h.alpha.shape == t.alpha.shape and np.array_equal(h.alpha, t.alpha)
        for h in held_out
        for t in training
    )


def test_heights_within_a_number_are_uneven() -> None:
    spreads = [
        max(y1 - y0 for _, y0, _, y1 in n.boxes) / min(y1 - y0 for _, y0, _, y1 in n.boxes)
        for n in held_out_numbers(12)
    ]
    assert max(spreads) > 1.2
