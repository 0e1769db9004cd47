"""The weekly Mauna Loa CO2 series, shared by the forecasting and anomaly models.

It ships inside statsmodels (``statsmodels.datasets.co2``: 2,284 weeks, March 1958 to
December 2001, 59 missing weeks), so nothing is downloaded. Gaps are filled by linear
interpolation in time: the series is smooth at a weekly scale (residual std about 0.4 ppm)
and no gap is longer than a few weeks, so a straight line between neighbours is as good
as anything fancier and invents no seasonality.

The last :data:`HELD_OUT_WEEKS` (2000-2001) are never used for training or for choosing
anything; the :data:`VALIDATION_WEEKS` before them choose epochs and thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput

SEASON: Final[int] = 52
"""Weeks in a seasonal cycle."""
HELD_OUT_WEEKS: Final[int] = 104
"""The last two years: the test period of every figure we report."""
VALIDATION_WEEKS: Final[int] = 104
"""The two years before the test period: early stopping and thresholds."""

Series = NDArray[np.float32]


@dataclass(frozen=True)
class Co2:
    """The filled series and where its periods start."""

    values: Series
    """ppm, one value a week, gaps filled."""
    dates: list[str]
    """ISO date of each week (Saturdays)."""
    missing: int
    """How many weeks were missing before filling."""

    @property
    def test_start(self) -> int:
        """Index of the first held-out week."""
        return len(self.values) - HELD_OUT_WEEKS

    @property
    def validation_start(self) -> int:
        """Index of the first validation week."""
        return self.test_start - VALIDATION_WEEKS


def load_co2() -> Co2:
    """Load statsmodels' weekly CO2 series and fill its gaps (statsmodels imported here)."""
    try:
        from statsmodels.datasets import co2
    except ImportError:
        raise BadInput(
            "statsmodels is not installed: pip install -r requirements-convert.txt"
        ) from None
    frame = co2.load_pandas().data
    missing = int(frame["co2"].isna().sum())
    filled = frame["co2"].interpolate(method="time").bfill()
    return Co2(
        values=filled.to_numpy(dtype=np.float32),
        dates=[d.date().isoformat() for d in frame.index],
        missing=missing,
    )


def sliding_windows(
    values: Series, width: int, horizon: int, *, first_target: int, last_target: int
) -> tuple[Series, Series]:
    """All (window, next ``horizon`` values) pairs whose targets lie in [first, last).

    A pair's window is ``values[o - width: o]`` and its target ``values[o: o + horizon]``
    for every origin ``o`` with ``first_target <= o`` and ``o + horizon <= last_target``.
    """
    origins = np.arange(max(first_target, width), last_target - horizon + 1)
    if origins.size == 0:
        raise BadInput(f"no window of {width} + {horizon} fits in [{first_target}, {last_target})")
    windows = np.stack([values[o - width : o] for o in origins]).astype(np.float32)
    targets = np.stack([values[o : o + horizon] for o in origins]).astype(np.float32)
    return windows, targets


PAGE_SAMPLE_WEEKS: Final[int] = 208
"""The page's CO2 sample: the last four years (1998-2001), enough for the anomaly model
(105-week windows) to judge the two held-out years and for the forecaster to forecast
past the end."""


def co2_sample_csv(weeks: int = PAGE_SAMPLE_WEEKS) -> str:
    """The last ``weeks`` of the filled series as ``date,co2_ppm`` CSV lines.

    The Flask page ships it as ``TP_Flask/static/data/co2_weekly.csv`` (written by
    :func:`write_co2_sample`); a test holds the file to this function.
    """
    co2 = load_co2()
    lines = ["date,co2_ppm"]
    for date, value in zip(co2.dates[-weeks:], co2.values[-weeks:], strict=True):
        lines.append(f"{date},{float(value):.2f}")
    return "\n".join(lines) + "\n"


def write_co2_sample(path: Path) -> Path:
    """Write :func:`co2_sample_csv` to ``path`` (the page's sample file) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(co2_sample_csv(), encoding="utf-8")
    return path
