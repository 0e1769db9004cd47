"""The reference profile a conversion stores in a model's manifest.

The format belongs to monitoring (:mod:`utils.monitoring.profile`, kind
``feature-sketch-v2``); this module keeps the conversion tools' import path and adds the
profile of the demo digits.
"""

from __future__ import annotations

from typing import Any

from utils.monitoring.profile import HISTOGRAM_BINS, PROFILE_KIND, reference_profile

__all__ = ["HISTOGRAM_BINS", "PROFILE_KIND", "digits_reference_profile", "reference_profile"]


def digits_reference_profile() -> dict[str, Any]:
    """The profile of the digits training split (what every demo model was trained on)."""
    from utils.digits import LABELS, load_split

    split = load_split()
    return reference_profile(
        split.x_train,
        split.y_train,
        LABELS,
        source="digits training split (seed 0)",
        value_range=(0.0, 1.0),
    )
