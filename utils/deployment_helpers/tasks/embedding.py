"""Embeddings: a vector per row, and the cosine similarity of rows to each other.

MiniLM's graph already pools and normalises (its output is the unit sentence vector), but
a graph that does not is normalised here, so similarity is always a cosine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.tasks.base import Feed, Row, TaskKind

if TYPE_CHECKING:
    from utils.deployment_helpers.manifest import Manifest


def vectors(manifest: Manifest, outputs: Feed) -> NDArray[np.float32]:
    """The embedding output [N, D] (the manifest's ``scores_output``, else the first)."""
    name = manifest.scores_output or manifest.outputs[0].name
    return np.asarray(outputs[name], dtype=np.float32).reshape(len(outputs[name]), -1)


def cosine_matrix(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    """Pairwise cosine similarity [N, N] of embedding rows, clipped to [-1, 1]."""
    norms = np.clip(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12, None)
    unit = rows / norms
    return np.clip(unit @ unit.T, -1.0, 1.0)  # type: ignore[no-any-return]


class Embedding(TaskKind):
    """``embedding`` per row."""

    name = "embedding"

    def answer(self, manifest: Manifest, outputs: Feed) -> list[Row]:
        return [{"embedding": [float(v) for v in row]} for row in vectors(manifest, outputs)]

    def summary(self, manifest: Manifest) -> dict[str, Any]:
        return {"dimensions": manifest.outputs[0].shape[-1]}
