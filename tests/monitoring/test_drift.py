"""detect_drift: verdicts on shifted and unshifted digits, and no verdict on tiny samples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from utils.errors import BadInput
from utils.monitoring.drift import detect_drift
from utils.monitoring.profile import reference_profile


def _labels(split: Any) -> list[str]:
    return [str(y) for y in split.y_test]


def test_held_out_digits_show_no_drift(digits_profile: dict[str, Any], digits_split: Any) -> None:
    report = detect_drift(digits_profile, digits_split.x_test, _labels(digits_split))
    assert report.inputs_drifted is False and report.predictions_drifted is False


@pytest.mark.parametrize(
    "shift",
    [
        lambda x: 1.0 - x,
        lambda x: np.roll(x, 2, axis=2),
        lambda x: np.clip(x + np.random.default_rng(0).normal(0, 0.3, x.shape), 0, 1),
    ],
    ids=["inverted", "translated", "noisy"],
)
def test_shifted_digits_drift(
    digits_profile: dict[str, Any], digits_split: Any, shift: Any
) -> None:
    report = detect_drift(digits_profile, shift(digits_split.x_test))
    assert report.inputs_drifted is True and report.inputs_score >= 0.5


def test_a_window_below_the_minimum_gives_no_verdict(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    report = detect_drift(digits_profile, 1.0 - digits_split.x_test[:99], min_samples=100)
    assert report.inputs_drifted is None and report.predictions_drifted is None


def test_predictions_of_one_class_only_drift(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    report = detect_drift(digits_profile, digits_split.x_test, ["1"] * len(digits_split.x_test))
    assert report.predictions_drifted is True and report.predictions_score is not None
    assert report.predictions_score > 0.5


def test_every_feature_reports_its_psi_beside_its_test(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    report = detect_drift(digits_profile, 1.0 - digits_split.x_test)
    assert len(report.features) == 64 and report.psi_mean > 0.25
    assert all(f.psi >= 0 for f in report.features)


def test_a_small_reference_is_tested_with_p_values() -> None:
    rng = np.random.default_rng(0)
    profile = reference_profile(rng.normal(size=(800, 6)), None, [], source="t")
    report = detect_drift(profile, rng.normal(0.4, size=(300, 6)))
    assert {f.test for f in report.features} == {"ks"} and report.inputs_drifted is True


def test_a_profile_of_the_previous_kind_is_refused(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    with pytest.raises(BadInput, match="feature-moments-v1"):
        detect_drift({**digits_profile, "kind": "feature-moments-v1"}, digits_split.x_test)


def test_predictions_are_tested_by_chi_square_whatever_the_reference_size(
    digits_profile: dict[str, Any], digits_split: Any
) -> None:
    labels = [str(y) for y in digits_split.y_test[:100]]
    report = detect_drift(digits_profile, digits_split.x_test[:100], labels)
    assert report.predictions is not None and report.predictions.test == "chisquare"
    assert report.predictions_drifted is False
