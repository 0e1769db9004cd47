"""Our verdicts against Evidently 0.7's on the same data (Evidently: dev-only, heavy).

The profile rebuilds the digits' reference columns exactly (value counts), so with the
correction switched off (Evidently has none) every column must get Evidently's test,
statistic and verdict. On a small reference (KS), our asymptotic p-value may differ from
scipy's exact one near the threshold: most column verdicts and the dataset verdict agree.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from utils.monitoring.drift import detect_drift
from utils.monitoring.profile import reference_profile
from utils.monitoring.stattests import Correction

pytestmark = pytest.mark.slow  # Evidently's import and reports take ~3 minutes here

METHODS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


def evidently_columns(
    reference: np.ndarray, current: np.ndarray
) -> tuple[list[tuple[str, float, bool]], bool]:
    """(test, statistic, drifted) per column and the dataset verdict, from Evidently."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandas as pd
        from evidently import Report
        from evidently.presets import DataDriftPreset

        names = [f"f{i}" for i in range(reference.shape[1])]
        snapshot = Report([DataDriftPreset()]).run(
            current_data=pd.DataFrame(current.astype(np.float64), columns=names),
            reference_data=pd.DataFrame(reference.astype(np.float64), columns=names),
        )
    columns: dict[str, tuple[str, float, bool]] = {}
    dataset = False
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            dataset = metric["value"]["share"] >= 0.5
        elif config["type"].endswith("ValueDrift"):
            test = METHODS[config["method"]]
            value = float(metric["value"])
            drifted = (
                value <= 0.05
                if test == "ks"
                else (value < 0.05 if test in ("chisquare", "z") else value >= 0.1)
            )
            columns[config["column"]] = (test, value, drifted)
    return [columns[name] for name in names], dataset


def ours(
    profile: dict[str, Any], current: np.ndarray
) -> tuple[list[tuple[str, float, bool]], bool]:
    report = detect_drift(profile, current, correction=Correction.NONE)
    return [(str(f.test), f.statistic, f.drifted) for f in report.features], bool(
        report.inputs_drifted
    )


SHIFTS = {
    "held-out": lambda x: x,
    "inverted": lambda x: 1.0 - x,
    "translated": lambda x: np.roll(x, 1, axis=2),
    "noisy": lambda x: np.clip(x + np.random.default_rng(0).normal(0, 0.15, x.shape), 0, 1).round(
        4
    ),
}


@pytest.mark.parametrize("shift", list(SHIFTS))
def test_every_digit_column_gets_evidentlys_test_statistic_and_verdict(
    shift: str, digits_profile: dict[str, Any], digits_split: Any
) -> None:
    current = SHIFTS[shift](digits_split.x_test).reshape(-1, 64)
    theirs, their_dataset = evidently_columns(digits_split.x_train.reshape(-1, 64), current)
    mine, my_dataset = ours(digits_profile, current)
    assert [t for t, _, _ in mine] == [t for t, _, _ in theirs]
    assert [d for _, _, d in mine] == [d for _, _, d in theirs]
    assert np.allclose([s for _, s, _ in mine], [s for _, s, _ in theirs], rtol=1e-4, atol=1e-6)
    assert my_dataset == their_dataset


@pytest.mark.parametrize("mean_shift", [0.0, 0.15, 0.5])
def test_on_a_small_reference_the_ks_verdicts_agree_with_evidentlys(mean_shift: float) -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(800, 20))
    current = rng.normal(size=(300, 20)) + mean_shift * (np.arange(20) % 2)
    theirs, their_dataset = evidently_columns(reference, current)
    mine, my_dataset = ours(reference_profile(reference, None, [], source="t"), current)
    assert {t for t, _, _ in mine} == {t for t, _, _ in theirs} == {"ks"}
    agreeing = sum(m[2] == t[2] for m, t in zip(mine, theirs, strict=True))
    assert agreeing >= 19 and my_dataset == their_dataset
