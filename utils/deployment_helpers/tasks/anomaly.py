"""Anomaly scores: how unusual the last point of each window is, and whether it is flagged.

The graph gives ``score`` [N] and, usually, ``is_anomaly`` [N] (BOOL) with the threshold
applied inside it; the manifest records the same threshold
(``postprocessing.threshold``), which is applied here when the graph has no flag output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from utils.deployment_helpers.tasks.base import Feed, Row, TaskKind

if TYPE_CHECKING:
    from utils.deployment_helpers.manifest import Manifest

SCORE = "score"
FLAG = "is_anomaly"


class Anomaly(TaskKind):
    """``score`` and ``is_anomaly`` per row."""

    name = "anomaly"

    def answer(self, manifest: Manifest, outputs: Feed) -> list[Row]:
        score_name = manifest.scores_output or (
            SCORE if SCORE in outputs else manifest.outputs[0].name
        )
        scores = np.asarray(outputs[score_name], dtype=np.float64).reshape(-1)
        if FLAG in outputs:
            flags = np.asarray(outputs[FLAG]).reshape(-1).astype(bool)
        else:
            threshold = manifest.postprocessing.threshold
            flags = scores >= threshold if threshold is not None else np.zeros_like(scores, bool)
        return [
            {"score": float(s), "is_anomaly": bool(f)} for s, f in zip(scores, flags, strict=True)
        ]

    def summary(self, manifest: Manifest) -> dict[str, Any]:
        pre = manifest.preprocessing
        return {"window": pre.window, "threshold": manifest.postprocessing.threshold}

    def predicted_labels(self, answers: list[Row]) -> list[str]:
        return ["anomaly" if a["is_anomaly"] else "normal" for a in answers]
