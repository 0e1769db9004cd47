"""The few distribution functions the drift tests need, in numpy and the math module.

Why not scipy.stats: scipy is 143 MB installed, more than half the serving image's venv,
and it would push the serverless bundle past Vercel's 250 MB limit. Each function here is
checked against scipy in ``tests/monitoring/test_distributions.py`` (scipy is a dev-only
dependency): the same values to 1e-9, except the two-sample Kolmogorov-Smirnov p-value,
which uses Kolmogorov's limiting distribution with Stephens' small-sample correction where
scipy computes the exact one (within 0.01 of it around p = 0.05 for 100+ rows a side).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

_EPS: Final[float] = 1e-15
_MAX_ITERATIONS: Final[int] = 10_000


def ks_statistic(a: NDArray[Any], b: NDArray[Any]) -> float:
    """The largest distance between the two empirical CDFs."""
    a, b = np.sort(a), np.sort(b)
    everything = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, everything, side="right") / len(a)
    cdf_b = np.searchsorted(b, everything, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for Kolmogorov's distribution: 2 sum (-1)^(k-1) exp(-2 k^2 x^2)."""
    if x < 0.2:  # the series converges slowly there, and the answer is 1 to 1e-9
        return 1.0
    total = 0.0
    for k in range(1, 101):
        term = 2 * (-1) ** (k - 1) * math.exp(-2 * k * k * x * x)
        total += term
        if abs(term) < 1e-12:
            break
    return min(max(total, 0.0), 1.0)


def ks_2samp_pvalue(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Two-sided two-sample Kolmogorov-Smirnov p-value (asymptotic, Stephens-corrected)."""
    n = len(a) * len(b) / (len(a) + len(b))
    root = math.sqrt(n)
    return kolmogorov_sf((root + 0.12 + 0.11 / root) * ks_statistic(a, b))


def _lower_series(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x) by its series (x < a + 1)."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_ITERATIONS):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_fraction(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) by Lentz's continued fraction."""
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, _MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X > statistic) for a chi-square variable with ``dof`` degrees of freedom."""
    if statistic <= 0:
        return 1.0
    a, x = dof / 2.0, statistic / 2.0
    if x < a + 1:
        return 1.0 - _lower_series(a, x)
    return _upper_fraction(a, x)


def chisquare_pvalue(observed: NDArray[Any], expected: NDArray[Any]) -> float:
    """Pearson's goodness-of-fit p-value (k - 1 degrees of freedom), as scipy's chisquare."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (observed - expected) ** 2 / expected
    statistic = float(np.sum(terms))
    if math.isnan(statistic):
        return float("nan")
    if math.isinf(statistic):
        return 0.0
    return chi2_sf(statistic, len(observed) - 1)


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal variable."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def wasserstein(a: NDArray[Any], b: NDArray[Any]) -> float:
    """First Wasserstein distance of two 1-D samples: the area between their CDFs."""
    a, b = np.sort(a), np.sort(b)
    everything = np.sort(np.concatenate([a, b]))
    widths = np.diff(everything)
    cdf_a = np.searchsorted(a, everything[:-1], side="right") / len(a)
    cdf_b = np.searchsorted(b, everything[:-1], side="right") / len(b)
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def jensen_shannon(p: NDArray[Any], q: NDArray[Any]) -> float:
    """Jensen-Shannon distance (natural log, the square root of the divergence)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def relative_entropy(x: NDArray[np.float64]) -> float:
        used = x > 0
        return float(np.sum(x[used] * np.log(x[used] / m[used])))

    return math.sqrt(max((relative_entropy(p) + relative_entropy(q)) / 2, 0.0))
