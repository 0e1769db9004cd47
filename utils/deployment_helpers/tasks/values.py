"""Regression and forecasting: numbers out, one value (or a few) per row.

A regressor's output is ``[N]``, ``[N, 1]`` (one value a row) or ``[N, K]`` (K values a
row); a forecaster's is ``[N, H]``, the next H points after each input window (H is
``preprocessing.horizon`` in the manifest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from utils.deployment_helpers.tasks.base import Feed, Row, TaskKind

if TYPE_CHECKING:
    from utils.deployment_helpers.manifest import Manifest


def values_output(manifest: Manifest, outputs: Feed) -> np.ndarray[Any, Any]:
    """The output holding the values: the manifest's ``scores_output``, else the first."""
    name = manifest.scores_output or manifest.outputs[0].name
    return np.asarray(outputs[name], dtype=np.float64)


class Regression(TaskKind):
    """``value`` per row (or ``values`` when the model gives several)."""

    name = "regression"

    def answer(self, manifest: Manifest, outputs: Feed) -> list[Row]:
        values = values_output(manifest, outputs)
        if values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1):
            return [{"value": float(v)} for v in values.reshape(-1)]
        return [{"values": row.reshape(-1).tolist()} for row in values]


class Forecasting(TaskKind):
    """``forecast``: the next H points per input window."""

    name = "forecasting"

    def answer(self, manifest: Manifest, outputs: Feed) -> list[Row]:
        values = values_output(manifest, outputs)
        return [{"forecast": row.reshape(-1).tolist()} for row in values.reshape(len(values), -1)]

    def summary(self, manifest: Manifest) -> dict[str, Any]:
        pre = manifest.preprocessing
        return {"window": pre.window, "horizon": pre.horizon}
