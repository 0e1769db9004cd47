"""A whole series into a series model's windows, and a pasted CSV into a series.

A series model (forecasting, anomaly) takes windows of exactly W points. People have a
series, not windows, so the ``series`` input kind also takes one flat list of L >= W
numbers, oldest first, and slices it here into its L - W + 1 windows of W consecutive
points (stride 1). Answer ``i`` is about the window that ends at point ``W - 1 + i``
of the series: for an anomaly model that point is the one judged; for a forecaster the
H points after it are forecast, so the last answer is the forecast past the series' end.

A series that makes more windows than the model's batch limit is refused (saying how
many points fit), never cut: silently scoring only part of what was sent hides the
rest. Send it in pieces that overlap by W - 1 points (what the page does).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput

_CELL = re.compile(r"[,;\t]")


def windows_of(series: NDArray[Any], width: int, max_windows: int, model: str) -> NDArray[Any]:
    """Every window of ``width`` consecutive points of a 1-D ``series``, oldest first.

    :raise BadInput: empty, shorter than one window, or more windows than ``max_windows``.
    """
    length = int(series.shape[0])
    if length == 0:
        raise BadInput(
            f"'inputs' is empty: model {model!r} takes a series of at least {width} numbers "
            f"(oldest first), or windows of exactly {width}"
        )
    if length < width:
        raise BadInput(
            f"'inputs' holds {length} numbers: model {model!r} takes windows of exactly "
            f"{width} numbers, or a series of at least {width}, oldest first"
        )
    count = length - width + 1
    if max_windows and count > max_windows:
        raise BadInput(
            f"a series of {length} points makes {count} windows of {width}; model {model!r} "
            f"takes at most {max_windows} a request: send at most {width + max_windows - 1} "
            f"points, or the series in pieces that overlap by {width - 1} points"
        )
    return np.lib.stride_tricks.sliding_window_view(series, width).copy()


def series_from_csv(text: str) -> list[float]:
    """The numbers of a pasted or uploaded CSV series, oldest first.

    One value a line, or ``date,value`` lines (the last cell is the value); a first line
    that is not a number is a header and skipped; blank lines are skipped.

    :raise BadInput: no number at all, or a line whose value is missing or not finite
        (naming the line: a series model needs consecutive, complete points).
    """
    values: list[float] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cell = _CELL.split(line.strip())[-1].strip()
        try:
            value = float(cell)
        except ValueError:
            if not values and number == _first_line(text):
                continue  # a header
            raise BadInput(
                f"line {number} of the series has no number ({cell[:20]!r}): give one "
                "value a line, or date,value lines, with no gaps"
            ) from None
        if not math.isfinite(value):
            raise BadInput(
                f"line {number} of the series is {cell!r}: fill the gap with a number "
                "(the model needs complete, consecutive points)"
            )
        values.append(value)
    if not values:
        raise BadInput("the series is empty: paste one value a line, or date,value lines")
    return values


def _first_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            return number
    return 0
