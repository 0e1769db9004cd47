"""Tests are chosen as Evidently chooses them; the multiple-testing correction works."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from utils.monitoring.stattests import (
    ColumnVerdict,
    Correction,
    StatTest,
    check_column,
    choose_test,
    corrected,
)


@pytest.mark.parametrize(
    ("rows", "distinct", "categorical", "expected"),
    [
        (800, 17, False, StatTest.KS),
        (800, 4, False, StatTest.CHI_SQUARE),
        (800, 2, False, StatTest.Z),
        (800, 10, True, StatTest.CHI_SQUARE),
        (800, 2, True, StatTest.Z),
        (1437, 17, False, StatTest.WASSERSTEIN),
        (1437, 4, False, StatTest.JENSEN_SHANNON),
        (1437, 10, True, StatTest.JENSEN_SHANNON),
    ],
)
def test_the_test_is_chosen_by_reference_size_and_distinct_values(
    rows: int, distinct: int, categorical: bool, expected: StatTest
) -> None:
    assert choose_test(rows, distinct, categorical=categorical) is expected


def test_a_shifted_numerical_column_drifts_and_a_resampled_one_does_not() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=800)
    assert check_column(reference, rng.normal(0.5, size=300), reference_rows=800).drifted
    assert not check_column(reference, rng.normal(size=300), reference_rows=800).drifted


def test_benjamini_hochberg_flags_what_statsmodels_flags() -> None:
    rng = np.random.default_rng(2)
    p_values = np.concatenate(
        [rng.uniform(0, 0.01, size=8), [0.03, 0.04, 0.045], rng.uniform(0, 1, size=40)]
    )
    results = [ColumnVerdict(StatTest.KS, float(p), bool(p <= 0.05)) for p in p_values]
    ours = [r.drifted for r in corrected(results, Correction.BENJAMINI_HOCHBERG)]
    theirs = multipletests(p_values, alpha=0.05, method="fdr_bh")[0].tolist()
    assert ours == theirs and sum(ours) < sum(r.drifted for r in results)


def test_bonferroni_asks_each_column_for_alpha_over_the_count() -> None:
    results = [ColumnVerdict(StatTest.KS, p, True) for p in (0.001, 0.02, 0.04)]
    assert [r.drifted for r in corrected(results, Correction.BONFERRONI)] == [True, False, False]


def test_distance_verdicts_are_not_corrected() -> None:
    results = [
        ColumnVerdict(StatTest.WASSERSTEIN, 0.2, True),
        ColumnVerdict(StatTest.KS, 0.04, True),
        ColumnVerdict(StatTest.KS, 0.001, True),
    ]
    assert [r.drifted for r in corrected(results, Correction.BONFERRONI)] == [True, False, True]
