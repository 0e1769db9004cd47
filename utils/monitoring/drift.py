"""Drift: how far live inputs and predictions have moved from the training data.

The baseline is the ``reference_profile`` a model's manifest carries (kind
``feature-moments-v1``: per-feature histograms on fixed edges, and class frequencies),
written at conversion time from the training split. The score is the Population Stability
Index, PSI = sum((live - reference) * ln(live / reference)) over histogram bins: cheap,
needs no training data at serving time, and has a widely used reading (from credit
scoring): below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a major one.

PSI of a few samples is biased upwards: a live histogram of N samples over B used bins
differs from the reference by chance, by about (B - 1) / N (measured on held-out digits,
64 features x 10 bins: mean PSI 0.45 at N = 30, 0.096 at 100, 0.043 at 200, with no drift
at all). So each score has that expected chance part subtracted (floored at 0: held-out
digits then read 0.03 at N = 100), and below :data:`MIN_SAMPLES` the level is
``too-few-samples``.
Pure numpy; nothing here imports a web framework or touches the disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput

PSI_MODERATE: Final[float] = 0.1
PSI_MAJOR: Final[float] = 0.25
MIN_SAMPLES: Final[int] = 100
"""Fewer live samples than this give no verdict (see the module docstring)."""

PROFILE_KIND: Final[str] = "feature-moments-v1"

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
    if profile.get("kind") != PROFILE_KIND:
        raise BadInput(
            f"unsupported reference profile kind {profile.get('kind')!r}: expected "
            f"{PROFILE_KIND!r} (rebuild the manifest with the current conversion tools)"
        )
    edges = np.asarray(profile["histogram_edges"], dtype=np.float64)
    reference = np.asarray(profile["histograms"], dtype=np.float64)
    flat = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    if flat.shape[1] != reference.shape[0]:
        raise BadInput(
            f"the samples have {flat.shape[1]} features, the reference profile "
            f"{reference.shape[0]}: score inputs of the model the profile belongs to"
        )
    clipped = np.clip(flat, edges[0], edges[-1])  # the profile was built the same way
    scores = np.empty(flat.shape[1])
    for feature in range(flat.shape[1]):
        counts, _ = np.histogram(clipped[:, feature], bins=edges)
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
