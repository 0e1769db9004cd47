"""The real inputs a parity check runs on.

Parity on random noise proves little (a tree never sees a realistic split; a CNN's
activations stay in an unusual range), so a model shaped like the demo digits is checked
on the held-out digits split, and any other model on the ``.npy`` file its user passes.
Only when neither exists are seeded random-normal inputs used, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput

DIGITS_LAYOUTS: Final[dict[tuple[int, ...], str]] = {
    (64,): "flat",
    (1, 8, 8): "NCHW",
    (8, 8, 1): "NHWC",
}
"""Per-sample input shapes that mean "the 8x8 digits", and their manifest layout."""

RANDOM_SAMPLES: Final[int] = 256


@dataclass(frozen=True)
class SampleSet:
    """Inputs (float32, batch first), their true labels when known, and where they came from."""

    x: NDArray[np.float32]
    y: NDArray[np.int64] | None
    description: str


def digits_layout(sample_shape: tuple[int, ...] | None) -> str | None:
    """``flat``/``NCHW``/``NHWC`` when the shape is the digits', else None."""
    return DIGITS_LAYOUTS.get(tuple(sample_shape)) if sample_shape else None


def load_samples(path: Path) -> SampleSet:
    """Read a user's ``.npy`` of inputs (batch first); no pickles are loaded.

    :raise BadInput: missing, not ``.npy``, holds objects, or has no batch dimension.
    """
    if path.suffix.lower() != ".npy":
        raise BadInput(f"{path.name}: samples must be a .npy file (numpy.save), batch first")
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist: check the --samples path") from None
    except ValueError as exc:
        raise BadInput(f"{path.name} is not a numeric .npy array ({exc})") from None
    if array.ndim < 2 or len(array) == 0:
        raise BadInput(
            f"{path.name}: expected a batch of samples [N, ...], got shape {list(array.shape)}"
        )
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise BadInput(f"{path.name}: samples must be finite numbers")
    return SampleSet(array.astype(np.float32), None, f"{path.name} ({len(array)} samples)")


def default_samples(sample_shape: tuple[int, ...]) -> SampleSet:
    """Held-out digits in the right layout, or seeded random normals for other shapes."""
    layout = digits_layout(sample_shape)
    if layout is not None:
        from utils.digits import load_split, to_layout

        split = load_split()
        return SampleSet(
            to_layout(split.x_test, layout),
            split.y_test,
            f"digits held-out split ({len(split.x_test)} samples)",
        )
    if any(d <= 0 for d in sample_shape):
        raise BadInput(
            f"the model's input shape {list(sample_shape)} has unknown dimensions: "
            "pass --input-shape or --samples"
        )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((RANDOM_SAMPLES, *sample_shape)).astype(np.float32)
    return SampleSet(
        x, None, f"random normal ({RANDOM_SAMPLES} samples; pass --samples for real data)"
    )
