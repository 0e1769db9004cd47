"""Drift: how far live inputs and predictions have moved from the training data.

The baseline is the ``reference_profile`` a model's manifest carries
(:mod:`utils.monitoring.profile`), written at conversion time from the training split.

Two readings, side by side:

- :func:`detect_drift`, the verdict: per-feature statistical tests chosen as Evidently
  chooses them (:mod:`utils.monitoring.stattests`), p-values corrected for the number of
  features (Benjamini-Hochberg by default), dataset drift when at least half the features
  drift, and a test of the predicted-class distribution against the training labels'
  (chi-square and Jensen-Shannon together, not Evidently's distance alone:
  :func:`_predictions_drift` says why).
  Below ``min_samples`` (default :data:`MIN_SAMPLES`) there is no verdict at all: a test on
  a few dozen rows answers noise (Evidently users' complaint, evidently#509).
- The Population Stability Index, PSI = sum((live - reference) * ln(live / reference))
  over histogram bins: cheap, and with a widely used reading (from credit scoring): below
  0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a major one.

PSI of a few samples is biased upwards: a live histogram of N samples over B used bins
differs from the reference by chance, by about (B - 1) / N (measured on held-out digits,
64 features x 10 bins: mean PSI 0.45 at N = 30, 0.096 at 100, 0.043 at 200, with no drift
at all). So each score has that expected chance part subtracted (floored at 0: held-out
digits then read 0.03 at N = 100), and below :data:`MIN_SAMPLES` the level is
``too-few-samples``.
Pure numpy (scipy inside the tests); nothing here imports a web framework or touches the
disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput
from utils.monitoring.profile import (
    LEGACY_KIND,
    PROFILE_KIND,
    features_of,
    reference_sample,
    require_sketches,
)
from utils.monitoring.stattests import (
    DISTANCE_THRESHOLD,
    P_VALUE_THRESHOLD,
    Correction,
    StatTest,
    binned_shares,
    check_column,
    corrected,
    run_test,
)

PSI_MODERATE: Final[float] = 0.1
PSI_MAJOR: Final[float] = 0.25
MIN_SAMPLES: Final[int] = 100
"""Fewer live samples than this give no verdict (see the module docstring)."""

DriftLevel = Literal["stable", "moderate", "major", "too-few-samples"]


def population_stability_index(
    reference: Sequence[float] | NDArray[Any],
    live: Sequence[float] | NDArray[Any],
    *,
    floor: float = 1e-4,
) -> float:
    """PSI between two distributions over the same bins (fractions or counts).

    Empty bins are floored at ``floor`` (after normalising) so the logarithm stays finite:
    a bin the training data never used, now filled, then scores high instead of infinite.

    :raise BadInput: the two have different shapes, or no bins at all.
    """
    expected = np.asarray(reference, dtype=np.float64)
    actual = np.asarray(live, dtype=np.float64)
    if expected.shape != actual.shape or expected.size == 0:
        raise BadInput(
            f"PSI needs the same non-empty bins on both sides: reference {expected.shape}, "
            f"live {actual.shape}"
        )
    expected = np.clip(expected / max(expected.sum(), 1e-12), floor, None)
    actual = np.clip(actual / max(actual.sum(), 1e-12), floor, None)
    expected /= expected.sum()
    actual /= actual.sum()
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def level_of(psi: float, samples: int) -> DriftLevel:
    """The conventional reading of a PSI value."""
    if samples < MIN_SAMPLES:
        return "too-few-samples"
    if psi >= PSI_MAJOR:
        return "major"
    if psi >= PSI_MODERATE:
        return "moderate"
    return "stable"


@dataclass(frozen=True)
class DriftScore:
    """Live traffic of one model against its training profile."""

    samples: int
    input_psi_mean: float
    """Mean over features of each feature's PSI (the overall input shift)."""
    input_psi_max: float
    worst_feature: int
    """Index of the feature that moved most (for 8x8 digits: row * 8 + column)."""
    prediction_psi: float | None
    """PSI of the predicted classes against the training class frequencies."""
    level: DriftLevel
    """Reading of the larger of ``input_psi_mean`` and ``prediction_psi``."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chance_psi(reference: Sequence[float] | NDArray[Any], samples: int) -> float:
    """The PSI that ``samples`` draws from ``reference`` itself show by chance: (B - 1) / N
    for B bins the reference uses."""
    used = int(np.count_nonzero(np.asarray(reference, dtype=np.float64) > 0))
    return max(used - 1, 0) / max(samples, 1)


def input_psi(profile: Mapping[str, Any], samples: NDArray[Any]) -> NDArray[np.float64]:
    """Chance-corrected PSI of every feature of ``samples`` [N, features] against the
    profile's histograms (see :func:`chance_psi`).

    :raise BadInput: the profile is of another kind or has another number of features.
    """
    if profile.get("kind") not in (PROFILE_KIND, LEGACY_KIND):
        raise BadInput(
            f"unsupported reference profile kind {profile.get('kind')!r}: expected "
            f"{PROFILE_KIND!r} (rebuild the manifest with the current conversion tools)"
        )
    flat = features_of(profile, samples)
    reference = np.asarray(profile["histograms"], dtype=np.float64)
    edges = np.asarray(profile["histogram_edges"], dtype=np.float64)
    if edges.ndim == 1:  # feature-moments-v1: one set of edges for every feature
        edges = np.broadcast_to(edges, (flat.shape[1], len(edges)))
    scores = np.empty(flat.shape[1])
    for feature in range(flat.shape[1]):
        low, high = edges[feature][0], edges[feature][-1]  # the profile clipped the same way
        counts, _ = np.histogram(np.clip(flat[:, feature], low, high), bins=edges[feature])
        raw = population_stability_index(reference[feature], counts)
        scores[feature] = max(0.0, raw - chance_psi(reference[feature], len(flat)))
    return scores


def drift_score(
    profile: Mapping[str, Any],
    samples: NDArray[Any],
    predicted: Sequence[str] = (),
) -> DriftScore:
    """Score live ``samples`` (model inputs as features) and ``predicted`` labels."""
    count = len(samples)
    if count == 0:
        return DriftScore(0, 0.0, 0.0, 0, None, "too-few-samples")
    per_feature = input_psi(profile, samples)
    prediction_psi = None
    frequencies: Mapping[str, float] = profile.get("class_frequencies") or {}
    if frequencies and predicted:
        labels = list(frequencies)
        live = [sum(1 for p in predicted if p == label) for label in labels]
        expected = [frequencies[k] for k in labels]
        prediction_psi = max(
            0.0,
            population_stability_index(expected, live) - chance_psi(expected, len(predicted)),
        )
    worst = int(np.argmax(per_feature))
    mean = float(per_feature.mean())
    return DriftScore(
        samples=count,
        input_psi_mean=round(mean, 4),
        input_psi_max=round(float(per_feature[worst]), 4),
        worst_feature=worst,
        prediction_psi=None if prediction_psi is None else round(prediction_psi, 4),
        level=level_of(max(mean, prediction_psi or 0.0), count),
    )


REFERENCE_SAMPLE_CAP: Final[int] = 5000
"""Largest reference sample rebuilt from a sketch (the test is chosen on the real size)."""


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's test against the reference."""

    name: str
    test: StatTest
    statistic: float
    """p-value (ks, chisquare, z) or distance (wasserstein, jensenshannon)."""
    drifted: bool
    """After the multiple-testing correction."""
    psi: float
    """Chance-corrected PSI, kept beside the test for its familiar reading."""


@dataclass(frozen=True)
class DriftReport:
    """Verdicts on one window of live traffic; ``None`` verdicts mean too few samples."""

    samples: int
    min_samples: int
    correction: Correction
    features: tuple[FeatureDrift, ...]
    inputs_score: float
    """Share of features that drifted (0..1); dataset drift at >= ``dataset_share``."""
    inputs_drifted: bool | None
    predictions: FeatureDrift | None
    """The predicted-class distribution against the training labels' (chi-square p-value
    as statistic; None without a class baseline or below ``min_samples`` predictions)."""
    predictions_score: float | None
    """Jensen-Shannon distance between the two class distributions (0..1), whichever
    test gave the verdict: one reading for every model size."""
    predictions_drifted: bool | None
    psi_mean: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rebuilt(profile: Mapping[str, Any], feature: int) -> NDArray[np.float64]:
    size = min(int(profile["samples"]), REFERENCE_SAMPLE_CAP)
    return reference_sample(profile["sketches"][feature], size)


def _class_samples(
    frequencies: Mapping[str, float], rows: int, predicted: Sequence[str]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The reference labels rebuilt from their shares, and the predictions, as indices
    (a label the training data never had gets its own index)."""
    labels = list(frequencies)
    index = {label: i for i, label in enumerate(labels)}
    extra: dict[str, int] = {}
    current = np.array(
        [index.get(p, extra.setdefault(p, len(labels) + len(extra))) for p in predicted],
        dtype=np.int64,
    )
    sketch = {"values": list(range(len(labels))), "counts": [frequencies[k] for k in labels]}
    reference = reference_sample(sketch, min(rows, REFERENCE_SAMPLE_CAP)).astype(np.int64)
    return reference, current


def _predictions_drift(
    frequencies: Mapping[str, float], rows: int, predicted: Sequence[str]
) -> FeatureDrift:
    """Drift when the predicted classes differ from the training frequencies both
    significantly (chi-square goodness of fit, p < 0.05; z-test for two classes) and by
    enough to matter (Jensen-Shannon distance >= 0.1, Evidently's threshold).

    Where we differ from Evidently, and why: above 1,000 reference rows Evidently takes the
    distance alone, which a window reaches by chance: with 10 equally likely classes and no
    drift at all, JS >= 0.1 in about half of 100-row windows, where chi-square says
    p < 0.05 in about 5 % at every size (``class_test_chance`` in
    ``docs/monitoring_results.json``). The p-value alone fails the other way: the baseline
    is the training *labels*, and a model 98 % right predicts a slightly different mix,
    which chi-square on 500 rows flags in about one held-out window in eight
    (``predictions_chi_square_alone``). Both together keep each one's strength.
    """
    reference, current = _class_samples(frequencies, rows, predicted)
    test = StatTest.CHI_SQUARE if len(np.union1d(reference, current)) > 2 else StatTest.Z
    statistic = run_test(test, reference, current, categorical=True)
    ref_shares, cur_shares = binned_shares(reference, current, categorical=True)
    chance = chance_psi(ref_shares, len(current))
    psi = max(0.0, population_stability_index(ref_shares, cur_shares) - chance)
    distance = run_test(StatTest.JENSEN_SHANNON, reference, current, categorical=True)
    drifted = statistic < P_VALUE_THRESHOLD and distance >= DISTANCE_THRESHOLD
    return FeatureDrift("predicted class", test, statistic, drifted, psi)


def detect_drift(
    profile: Mapping[str, Any],
    samples: Any,
    predicted: Sequence[str] = (),
    *,
    min_samples: int = MIN_SAMPLES,
    correction: Correction = Correction.BENJAMINI_HOCHBERG,
    dataset_share: float = 0.5,
) -> DriftReport:
    """Test live ``samples`` (model inputs, any shape the profile reduces) and the labels
    ``predicted`` for them against the reference ``profile``.

    :raise BadInput: the profile is not ``feature-sketch-v2`` or does not fit the inputs.
    """
    require_sketches(profile)
    count = len(samples)
    frequencies: Mapping[str, float] = profile.get("class_frequencies") or {}
    if count < min_samples:
        return DriftReport(count, min_samples, correction, (), 0.0, None, None, None, None, 0.0)
    live = features_of(profile, samples)
    rows = int(profile["samples"])
    raw = [
        check_column(_rebuilt(profile, j), live[:, j], reference_rows=rows)
        for j in range(live.shape[1])
    ]
    verdicts = corrected(raw, correction)
    psi = input_psi(profile, live)
    names = profile.get("feature_names") or [str(j) for j in range(live.shape[1])]
    features = tuple(
        FeatureDrift(str(names[j]), v.test, round(v.statistic, 6), v.drifted, round(psi[j], 4))
        for j, v in enumerate(verdicts)
    )
    share = sum(f.drifted for f in features) / len(features)
    predictions = None
    predictions_score = None
    if frequencies and len(predicted) >= min_samples:
        predictions = _predictions_drift(frequencies, rows, predicted)
        reference, current = _class_samples(frequencies, rows, predicted)
        predictions_score = round(
            run_test(StatTest.JENSEN_SHANNON, reference, current, categorical=True), 6
        )
    return DriftReport(
        samples=count,
        min_samples=min_samples,
        correction=correction,
        features=features,
        inputs_score=round(share, 4),
        inputs_drifted=share >= dataset_share,
        predictions=predictions,
        predictions_score=predictions_score,
        predictions_drifted=None if predictions is None else predictions.drifted,
        psi_mean=round(float(psi.mean()), 4),
    )
