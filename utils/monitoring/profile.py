"""The reference profile stored in a manifest: what the training inputs looked like.

Drift detection compares live inputs with this baseline, so the profile holds what the
statistical tests of :mod:`utils.monitoring.drift` need, without the training data itself:

- per feature, a *sketch* from which a stand-in for the reference sample is rebuilt: the
  exact value counts when the feature takes at most :data:`MAX_DISTINCT_VALUES` values
  (digit pixels take 17: the rebuilt sample is then the training column itself, so the
  Kolmogorov-Smirnov, chi-square, Wasserstein and Jensen-Shannon tests see what they
  would see on the real data), else :data:`QUANTILES` + 1 quantiles (1 % resolution);
- per feature, a histogram for the population-stability index (PSI), on edges taken from
  ``value_range`` when given, else from the feature's own minimum and maximum;
- the class frequencies of the labels (the predicted-class test's baseline).

Any input kind reduces to at most :data:`MAX_FEATURES` numeric features (the ``reduction``
entry says how, and :func:`features_of` applies the same rule to live inputs):
``flat`` (a fixed-shape input of at most 256 values, flattened row-major: 8x8 digits,
tabular rows), ``chunk-mean`` (a larger fixed-shape input, an image or a long vector: the
means of 256 contiguous chunks of the flattened values) or ``sequence-stats`` (inputs of
varying length, such as token ids: length, mean, std, min and max of each sequence).

Size (``profile_json_bytes`` in ``docs/monitoring_results.json``): the digits profile
(64 pixels, 1,437 samples) is about 23 KB of JSON; 64 continuous features about 66 KB
(the quantiles dominate).
Numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.errors import BadInput

PROFILE_KIND: Final[str] = "feature-sketch-v2"
LEGACY_KIND: Final[str] = "feature-moments-v1"
"""The previous kind (histograms only): PSI still reads it; the statistical tests need v2."""

HISTOGRAM_BINS: Final[int] = 10
MAX_FEATURES: Final[int] = 256
"""More values per sample than this are averaged into this many chunks."""
MAX_DISTINCT_VALUES: Final[int] = 32
"""A feature with at most this many distinct values keeps its exact value counts."""
QUANTILES: Final[int] = 100
"""A continuous feature keeps its 0, 1, ..., 100th percentiles."""
SEQUENCE_FEATURES: Final[tuple[str, ...]] = ("length", "mean", "std", "min", "max")


def _round(values: Any) -> list[float]:
    return [round(float(v), 6) for v in np.ravel(values)]


def _significant(values: Any, digits: int = 4) -> list[float]:
    return [float(f"{float(v):.{digits}g}") for v in np.ravel(values)]


def _as_sequences(x: Any) -> list[NDArray[np.float64]] | None:
    """The samples as 1-D sequences when they differ in length, else None."""
    if isinstance(x, np.ndarray):
        return None
    rows = [np.asarray(row, dtype=np.float64).ravel() for row in x]
    if len({len(row) for row in rows}) <= 1:
        return None
    return rows


def _sequence_stats(rows: Sequence[NDArray[np.float64]]) -> NDArray[np.float64]:
    out = np.zeros((len(rows), len(SEQUENCE_FEATURES)))
    for i, row in enumerate(rows):
        if row.size:
            out[i] = (row.size, row.mean(), row.std(), row.min(), row.max())
    return out


def _chunk_bounds(size: int, chunks: int) -> NDArray[np.int64]:
    return np.linspace(0, size, chunks + 1).round().astype(np.int64)


def reduce_inputs(
    x: Any, reduction: Mapping[str, Any] | None = None
) -> tuple[NDArray[np.float64], dict[str, Any]]:
    """The features of a batch ``x`` ([N, ...] array, or a list of N sequences) and the
    reduction that produced them (chosen here when ``reduction`` is None).

    :raise BadInput: the batch does not fit the given reduction.
    """
    if reduction is not None and reduction.get("kind") == "sequence-stats":
        rows = [np.asarray(row, dtype=np.float64).ravel() for row in x]
        return _sequence_stats(rows), dict(reduction)
    if reduction is None:
        rows_or_none = _as_sequences(x)
        if rows_or_none is not None:
            return _sequence_stats(rows_or_none), {"kind": "sequence-stats"}
    flat = np.asarray(x, dtype=np.float64)
    flat = flat.reshape(len(flat), -1)
    size = flat.shape[1]
    if reduction is None:
        reduction = (
            {"kind": "flat"}
            if size <= MAX_FEATURES
            else {"kind": "chunk-mean", "chunks": MAX_FEATURES, "input_size": size}
        )
    if reduction["kind"] == "flat":
        return flat, dict(reduction)
    if reduction["kind"] == "chunk-mean":
        if size != reduction["input_size"]:
            raise BadInput(
                f"the samples have {size} values, the reference profile "
                f"{reduction['input_size']}: score inputs of the model the profile belongs to"
            )
        bounds = _chunk_bounds(size, int(reduction["chunks"]))
        sums = np.add.reduceat(flat, bounds[:-1], axis=1)
        return sums / np.diff(bounds), dict(reduction)
    raise BadInput(f"unknown reduction {reduction.get('kind')!r} in the reference profile")


def features_of(profile: Mapping[str, Any], x: Any) -> NDArray[np.float64]:
    """Live inputs ``x`` as the profile's features [N, F], reduced as the profile was.

    :raise BadInput: the inputs do not fit the profile.
    """
    features, _ = reduce_inputs(x, profile.get("reduction") or {"kind": "flat"})
    if features.shape[1] != int(profile["features"]):
        raise BadInput(
            f"the samples have {features.shape[1]} features, the reference profile "
            f"{profile['features']}: score inputs of the model the profile belongs to"
        )
    return features


def _sketch(column: NDArray[np.float64]) -> dict[str, Any]:
    values, counts = np.unique(column, return_counts=True)
    if len(values) <= MAX_DISTINCT_VALUES:
        # exact values: live inputs must meet them again as the same keys
        return {"values": [float(v) for v in values], "counts": [int(c) for c in counts]}
    levels = np.linspace(0.0, 1.0, QUANTILES + 1)
    return {"quantiles": _significant(np.quantile(column, levels))}


def _edges(column: NDArray[np.float64], value_range: tuple[float, float] | None) -> NDArray[Any]:
    low, high = value_range if value_range is not None else (column.min(), column.max())
    if high <= low:
        high = low + 1.0
    return np.linspace(low, high, HISTOGRAM_BINS + 1)


def reference_profile(
    x: Any,
    y: NDArray[np.int64] | None,
    labels: Sequence[str],
    *,
    source: str,
    value_range: tuple[float, float] | None = None,
    feature_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Summarise training inputs ``x`` ([N, ...] array, or N sequences of varying length)
    and labels ``y`` (indices into ``labels``, or None for a model without classes).

    ``value_range`` fixes the PSI histogram edges for every feature (pixels in [0, 1]);
    without it each feature's edges span its own training minimum and maximum.
    ``feature_names`` names the features (tabular columns); it must have one name per
    feature after reduction.

    Returns a JSON-ready dict::

        {"kind", "source", "samples", "features", "reduction", "layout",
         "feature_names" (optional), "mean": [F], "std": [F],
         "histogram_edges": [F][B+1], "histograms": [F][B] (shares),
         "sketches": [F] x ({"values", "counts"} | {"quantiles"}),
         "class_frequencies": {label: share}}

    :raise BadInput: no samples, or ``feature_names`` of the wrong length.
    """
    if len(x) == 0:
        raise BadInput("a reference profile needs at least one training sample")
    features, reduction = reduce_inputs(x)
    count, width = features.shape
    if feature_names is not None and len(feature_names) != width:
        raise BadInput(f"{len(feature_names)} feature names for {width} features")
    edges = [_edges(features[:, j], value_range) for j in range(width)]
    histograms = [
        _round(np.histogram(np.clip(features[:, j], e[0], e[-1]), bins=e)[0] / count)
        for j, e in enumerate(edges)
    ]
    profile: dict[str, Any] = {
        "kind": PROFILE_KIND,
        "source": source,
        "samples": count,
        "features": width,
        "reduction": reduction,
        "layout": "flat row-major" if reduction["kind"] == "flat" else reduction["kind"],
        "mean": _round(features.mean(axis=0)),
        "std": _round(features.std(axis=0)),
        "histogram_edges": [_round(e) for e in edges],
        "histograms": histograms,
        "sketches": [_sketch(features[:, j]) for j in range(width)],
    }
    if feature_names is not None:
        profile["feature_names"] = list(feature_names)
    elif reduction["kind"] == "sequence-stats":
        profile["feature_names"] = list(SEQUENCE_FEATURES)
    if y is not None and len(labels):
        counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(labels))
        profile["class_frequencies"] = {
            label: round(float(c) / len(y), 6) for label, c in zip(labels, counts, strict=False)
        }
    return profile


def reference_sample(sketch: Mapping[str, Any], size: int) -> NDArray[np.float64]:
    """A stand-in for a reference column of ``size`` values, rebuilt from its sketch.

    Value counts give back the column itself (sorted) when ``size`` is the profile's
    sample count; quantiles give ``size`` evenly spaced points of the quantile function
    (linear between stored percentiles).
    """
    if "values" in sketch:
        values = np.asarray(sketch["values"], dtype=np.float64)
        counts = np.asarray(sketch["counts"], dtype=np.float64)
        total = counts.sum()
        scaled = np.floor(counts * size / total).astype(np.int64)
        short = size - int(scaled.sum())  # largest remainders take the rounding leftovers
        if short > 0:
            order = np.argsort(-(counts * size / total - scaled), kind="stable")[:short]
            scaled[order] += 1
        return np.repeat(values, scaled)
    quantiles = np.asarray(sketch["quantiles"], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, len(quantiles))
    return np.interp((np.arange(size) + 0.5) / size, levels, quantiles)


def require_sketches(profile: Mapping[str, Any]) -> None:
    """:raise BadInput: the profile is not of the kind the statistical tests read."""
    if profile.get("kind") != PROFILE_KIND:
        raise BadInput(
            f"unsupported reference profile kind {profile.get('kind')!r}: expected "
            f"{PROFILE_KIND!r} (rebuild the manifest with the current conversion tools)"
        )
