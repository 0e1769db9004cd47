"""A whole series into windows, and a pasted CSV into a series (pure functions), and the
page's CO2 sample held to the series it comes from."""

from __future__ import annotations

import numpy as np
import pytest

from tests.use_cases.conftest import CO2_SAMPLE
from utils.deployment_helpers.tasks.series import series_from_csv, windows_of
from utils.errors import BadInput
from utils.use_cases.series import co2_sample_csv


def test_a_series_of_l_points_makes_l_minus_w_plus_1_windows_in_order() -> None:
    windows = windows_of(np.arange(7.0), 3, 64, "m")
    assert windows.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]]


def test_a_series_shorter_than_a_window_is_refused_saying_the_width() -> None:
    with pytest.raises(BadInput, match="windows of exactly 5 numbers, or a series of at least 5"):
        windows_of(np.arange(4.0), 5, 64, "m")


def test_a_series_making_more_windows_than_the_batch_limit_says_how_many_points_fit() -> None:
    with pytest.raises(BadInput, match="send at most 12 points"):
        windows_of(np.arange(20.0), 5, 8, "m")


def test_csv_takes_the_last_cell_of_each_line_and_skips_a_header_and_blank_lines() -> None:
    text = "date,ppm\n2001-01-06,370.1\n\n2001-01-13;370.4\n370.9\n"
    assert series_from_csv(text) == [370.1, 370.4, 370.9]


@pytest.mark.parametrize("cell", ["", "NaN", "inf", "n/a"])
def test_csv_with_a_gap_names_the_line(cell: str) -> None:
    with pytest.raises(BadInput, match="line 3 of the series"):
        series_from_csv(f"ppm\n370.1\n2001-01-13,{cell}\n370.9\n")


def test_an_empty_csv_is_refused() -> None:
    with pytest.raises(BadInput, match="the series is empty"):
        series_from_csv("date,ppm\n\n")


def test_the_page_co2_sample_is_the_last_four_years_of_the_statsmodels_series() -> None:
    assert CO2_SAMPLE.read_text() == co2_sample_csv()
