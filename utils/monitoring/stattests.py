"""Per-column drift tests, chosen as Evidently chooses them (0.7, its legacy stattest
registry), so that a verdict here can be checked against Evidently on the same data.

Evidently's default rule, by the number of reference rows and the distinct values of the
reference and current column together:

==================  ==============================  ==================================
                    at most 1,000 reference rows    more than 1,000 reference rows
==================  ==============================  ==================================
numerical, > 5      Kolmogorov-Smirnov, p <= 0.05   Wasserstein / std(ref) >= 0.1
numerical, <= 5     chi-square (z-test if <= 2),    Jensen-Shannon distance >= 0.1
categorical         p < 0.05                        (bins: see :func:`binned_shares`)
==================  ==============================  ==================================

Every model input here is a float feature, which Evidently types as numerical; the
predicted class is categorical. The p-value tests can then be corrected for testing many
columns at once (see :class:`Correction`); the distance tests have nothing to correct.
The statistics are computed in numpy (:mod:`utils.monitoring.distributions`), not scipy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.monitoring import distributions

LARGE_REFERENCE_ROWS: Final[int] = 1000
FEW_VALUES: Final[int] = 5
P_VALUE_THRESHOLD: Final[float] = 0.05
DISTANCE_THRESHOLD: Final[float] = 0.1
JS_DISTINCT_AS_BINS: Final[int] = 20
"""Jensen-Shannon bins a numerical column by value when its reference has at most this
many distinct values, else on Sturges' edges over both samples (Evidently's rule)."""


class StatTest(StrEnum):
    KS = "ks"
    CHI_SQUARE = "chisquare"
    Z = "z"
    WASSERSTEIN = "wasserstein"
    JENSEN_SHANNON = "jensenshannon"

    @property
    def gives_p_value(self) -> bool:
        """True for tests whose statistic is a p-value (drift when small)."""
        return self in (StatTest.KS, StatTest.CHI_SQUARE, StatTest.Z)

    @property
    def threshold(self) -> float:
        return P_VALUE_THRESHOLD if self.gives_p_value else DISTANCE_THRESHOLD


class Correction(StrEnum):
    """How p-values of many columns tested at once are corrected.

    ``benjamini-hochberg`` is the default: it bounds the expected share of false drift
    verdicts among the columns flagged (the false discovery rate) at 5 %, and stays valid
    when the columns are positively correlated, as neighbouring pixels are. Bonferroni
    bounds the chance of even one false verdict, which with 64 columns asks each for
    p < 0.0008 and makes detection slower for no gain: the dataset verdict already needs
    half the columns. ``none`` is Evidently's behaviour.
    """

    NONE = "none"
    BENJAMINI_HOCHBERG = "benjamini-hochberg"
    BONFERRONI = "bonferroni"


@dataclass(frozen=True)
class ColumnVerdict:
    test: StatTest
    statistic: float
    """The p-value (KS, chi-square, z) or the distance (Wasserstein, Jensen-Shannon)."""
    drifted: bool


def choose_test(reference_rows: int, distinct_values: int, *, categorical: bool) -> StatTest:
    """Evidently's default test for a column (see the module docstring)."""
    if reference_rows <= LARGE_REFERENCE_ROWS:
        if categorical or distinct_values <= FEW_VALUES:
            return StatTest.CHI_SQUARE if distinct_values > 2 else StatTest.Z
        return StatTest.KS
    if categorical or distinct_values <= FEW_VALUES:
        return StatTest.JENSEN_SHANNON
    return StatTest.WASSERSTEIN


def _shares_by_value(
    reference: NDArray[Any], current: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    keys = np.union1d(reference, current)
    ref = np.searchsorted(keys, reference)
    cur = np.searchsorted(keys, current)
    return (
        np.bincount(ref, minlength=len(keys)) / len(reference),
        np.bincount(cur, minlength=len(keys)) / len(current),
    )


def binned_shares(
    reference: NDArray[Any], current: NDArray[Any], *, categorical: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Shares of each sample per bin, as Evidently bins for Jensen-Shannon."""
    if not categorical and len(np.unique(reference)) > JS_DISTINCT_AS_BINS:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        return (
            np.histogram(reference, edges)[0] / len(reference),
            np.histogram(current, edges)[0] / len(current),
        )
    return _shares_by_value(reference, current)


def _z_test(reference: NDArray[Any], current: NDArray[Any]) -> float:
    keys = np.union1d(reference, current)
    if len(keys) == 1:
        return 1.0
    p1, p2 = float(np.mean(reference != keys[0])), float(np.mean(current != keys[0]))
    n1, n2 = len(reference), len(current)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * distributions.normal_sf(abs(float(z)))


def run_test(
    test: StatTest, reference: NDArray[Any], current: NDArray[Any], *, categorical: bool = False
) -> float:
    """The test's statistic on two samples (:mod:`utils.monitoring.distributions`)."""
    if test is StatTest.KS:
        return distributions.ks_2samp_pvalue(reference, current)
    if test is StatTest.WASSERSTEIN:
        norm = max(float(np.std(reference)), 0.001)
        return distributions.wasserstein(reference, current) / norm
    if test is StatTest.Z:
        return _z_test(reference, current)
    if test is StatTest.CHI_SQUARE:
        ref_shares, cur_shares = _shares_by_value(reference, current)
        observed = cur_shares * len(current)
        expected = ref_shares * len(current)
        return distributions.chisquare_pvalue(observed, expected)
    ref_shares, cur_shares = binned_shares(reference, current, categorical=categorical)
    return distributions.jensen_shannon(ref_shares, cur_shares)


def check_column(
    reference: NDArray[Any],
    current: NDArray[Any],
    *,
    reference_rows: int,
    categorical: bool = False,
) -> ColumnVerdict:
    """Choose and run the test for one column; ``reference_rows`` is the size of the real
    reference (the sample here may be rebuilt from a sketch), which picks the test."""
    distinct = len(np.union1d(reference, current))
    test = choose_test(reference_rows, distinct, categorical=categorical)
    statistic = run_test(test, reference, current, categorical=categorical)
    if test is StatTest.KS:
        drifted = statistic <= P_VALUE_THRESHOLD
    elif test.gives_p_value:
        drifted = statistic < P_VALUE_THRESHOLD
    else:
        drifted = statistic >= DISTANCE_THRESHOLD
    return ColumnVerdict(test, statistic, drifted)


def corrected(results: list[ColumnVerdict], correction: Correction) -> list[ColumnVerdict]:
    """The same results with the p-value tests' verdicts corrected for their number.

    Benjamini-Hochberg at 5 %: sort the m p-values, find the largest k with
    p_(k) <= 0.05 k / m, and flag the k smallest. Distance verdicts are kept as they are.
    """
    tested = [i for i, r in enumerate(results) if r.test.gives_p_value]
    if correction is Correction.NONE or not tested:
        return list(results)
    p = np.array([results[i].statistic for i in tested])
    m = len(p)
    if correction is Correction.BONFERRONI:
        flagged = p < P_VALUE_THRESHOLD / m
    else:
        order = np.argsort(p, kind="stable")
        passing = np.nonzero(p[order] <= P_VALUE_THRESHOLD * np.arange(1, m + 1) / m)[0]
        flagged = np.zeros(m, dtype=bool)
        if len(passing):
            flagged[order[: passing[-1] + 1]] = True
    out = list(results)
    for index, flag in zip(tested, flagged, strict=True):
        out[index] = ColumnVerdict(results[index].test, results[index].statistic, bool(flag))
    return out
