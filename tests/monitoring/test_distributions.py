"""The numpy drift statistics give scipy's values (scipy is a dev-only dependency)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from utils.monitoring import distributions


@pytest.fixture
def samples() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [
        (
            rng.normal(size=rng.integers(100, 1000)),
            rng.normal(rng.uniform(0, 0.3), size=rng.integers(100, 600)),
        )
        for _ in range(100)
    ]


def test_wasserstein_distance_equals_scipys(samples: list[tuple[np.ndarray, np.ndarray]]) -> None:
    worst = max(
        abs(distributions.wasserstein(a, b) - stats.wasserstein_distance(a, b)) for a, b in samples
    )
    assert worst < 1e-9


def test_ks_p_value_is_within_a_hundredth_of_scipys_exact_one_near_the_threshold(
    samples: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    pairs = [(distributions.ks_2samp_pvalue(a, b), stats.ks_2samp(a, b).pvalue) for a, b in samples]
    near = [abs(ours - exact) for ours, exact in pairs if 0.01 < exact < 0.2]
    assert near and max(near) < 0.01


@pytest.mark.parametrize("dof", [1, 2, 5, 9, 30])
def test_chi_square_survival_equals_scipys(dof: int) -> None:
    for statistic in (0.1, 1.0, 3.0, 10.0, 40.0, 100.0):
        assert distributions.chi2_sf(statistic, dof) == pytest.approx(
            stats.chi2.sf(statistic, dof), abs=1e-9
        )


def test_chi_square_p_value_equals_scipys() -> None:
    observed = np.array([30.0, 14, 34, 45, 57, 20])
    expected = np.full(6, observed.sum() / 6)
    assert distributions.chisquare_pvalue(observed, expected) == pytest.approx(
        stats.chisquare(observed, expected).pvalue
    )


def test_jensen_shannon_distance_equals_scipys() -> None:
    rng = np.random.default_rng(1)
    p, q = rng.random(12), rng.random(12)
    q[3] = 0.0
    assert distributions.jensen_shannon(p, q) == pytest.approx(
        distance.jensenshannon(p, q), abs=1e-12
    )


def test_normal_survival_equals_scipys() -> None:
    for z in (-2.0, 0.0, 1.0, 1.96, 4.0):
        assert distributions.normal_sf(z) == pytest.approx(stats.norm.sf(z), abs=1e-12)
