"""Classification: class probabilities and the label of each row.

The manifest says which output holds the scores (``scores_output``, else the last) and
whether they are logits (a softmax is applied here) or probabilities already. Labels come
from the manifest (``str(index)`` when it has none). A text classifier (input kind
``text``) also answers a ``label`` BYTES tensor over v2, as its contract says.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import Manifest, TensorSpec
from utils.deployment_helpers.tasks.base import Feed, Logged, Row, TaskKind


def softmax(logits: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    """Row-wise softmax, shifted by the row maximum so large logits do not overflow."""
    shifted = logits.astype(np.float32) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def scores_output(manifest: Manifest) -> str:
    """The output holding class scores (the manifest's choice, else the last output)."""
    return manifest.scores_output or manifest.outputs[-1].name


def probabilities(manifest: Manifest, outputs: Feed) -> NDArray[np.float32]:
    """Class probabilities [N, C] from raw outputs (softmax when the model gives logits)."""
    scores = outputs[scores_output(manifest)]
    if manifest.scores_kind == "logits":
        return softmax(scores)
    return scores.astype(np.float32)


def labels_of(manifest: Manifest, classes: int) -> list[str]:
    """The manifest's class names, or ``"0" .. "C-1"`` when it has none."""
    labels = list(manifest.labels)
    return labels if len(labels) == classes else [str(i) for i in range(classes)]


class Classification(TaskKind):
    """Labels + probabilities per row."""

    name = "classification"

    def answer(self, manifest: Manifest, outputs: Feed) -> list[Row]:
        probs = probabilities(manifest, outputs)
        labels = labels_of(manifest, probs.shape[1])
        # One tolist() for the whole batch: per-element float() on numpy rows cost ~30 us
        # a row, more than the model run (the log's writer decodes every request).
        indices = probs.argmax(axis=1).tolist() if probs.size else [0] * len(probs)
        return [
            {"label": labels[index], "index": index, "probabilities": row}
            for index, row in zip(indices, probs.tolist(), strict=True)
        ]

    def summary(self, manifest: Manifest) -> dict[str, Any]:
        return {"labels": list(manifest.labels)}

    def predicted_labels(self, answers: list[Row]) -> list[str]:
        return [str(a["label"]) for a in answers]

    def logged(self, manifest: Manifest, outputs: Feed) -> Logged:
        probs = probabilities(manifest, outputs)
        if not probs.size:
            return super().logged(manifest, outputs)
        labels = labels_of(manifest, probs.shape[1])
        return Logged(
            labels=[labels[i] for i in probs.argmax(axis=1).tolist()],
            confidences=probs.max(axis=1).tolist(),
        )

    def v2_outputs(self, manifest: Manifest) -> list[TensorSpec]:
        outputs = list(manifest.outputs)
        if _answers_labels(manifest):
            outputs.append(TensorSpec(name="label", datatype="BYTES", shape=[-1]))
        return outputs

    def derive(self, manifest: Manifest, outputs: Feed) -> Feed:
        if not _answers_labels(manifest):
            return {}
        probs = probabilities(manifest, outputs)
        labels = labels_of(manifest, probs.shape[1])
        chosen = [labels[int(i)].encode() for i in probs.argmax(axis=1)]
        return {"label": np.array(chosen, dtype=np.object_)}


def _answers_labels(manifest: Manifest) -> bool:
    """Text classifiers answer a ``label`` tensor (their graph has no output of that name)."""
    has_label = any(o.name == "label" for o in manifest.outputs)
    return manifest.preprocessing.kind == "text" and not has_label
