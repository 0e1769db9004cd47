"""The reference profile stored in a manifest: what the training inputs looked like.

Drift detection compares live inputs with this baseline, so it holds what a monitor needs
without the training data itself: per-feature mean and standard deviation, per-feature
histograms on fixed edges (for a population-stability index) and the class frequencies.
Numpy only; a few KB of JSON for the 64 digit pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

PROFILE_KIND = "feature-moments-v1"
HISTOGRAM_BINS = 10


def _round(values: NDArray[Any]) -> list[float]:
    return [round(float(v), 6) for v in np.ravel(values)]


def reference_profile(
    x: NDArray[np.float32],
    y: NDArray[np.int64] | None,
    labels: Sequence[str],
    *,
    source: str,
    value_range: tuple[float, float] | None = None,
    feature_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Summarise training inputs ``x`` ([N, ...], flattened per sample) and labels ``y``.

    Returns a JSON-ready dict::

        {"kind", "source", "samples", "features", "layout": "flat row-major",
         "mean": [F], "std": [F], "histogram_edges": [B+1], "histograms": [F][B] (shares),
         "class_frequencies": {label: share}}
    """
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    low, high = value_range or (float(flat.min()), float(flat.max()))
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    clipped = np.clip(flat, low, high)
    histograms = [
        _round(np.histogram(clipped[:, j], bins=edges)[0] / len(flat)) for j in range(flat.shape[1])
    ]
    profile: dict[str, Any] = {
        "kind": PROFILE_KIND,
        "source": source,
        "samples": len(flat),
        "features": flat.shape[1],
        "layout": "flat row-major",
        "mean": _round(flat.mean(axis=0)),
        "std": _round(flat.std(axis=0)),
        "histogram_edges": _round(edges),
        "histograms": histograms,
    }
    if feature_names:
        profile["feature_names"] = list(feature_names)
    if y is not None and len(labels):
        counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(labels))
        profile["class_frequencies"] = {
            label: round(float(c) / len(y), 6) for label, c in zip(labels, counts, strict=False)
        }
    return profile


def digits_reference_profile() -> dict[str, Any]:
    """The profile of the digits training split (what every demo model was trained on)."""
    from utils.digits import LABELS, load_split

    split = load_split()
    return reference_profile(
        split.x_train, split.y_train, LABELS, source="digits training split (seed 0)"
    )
