"""Classification: class probabilities and the label of each row.

The manifest says which output holds the scores (``scores_output``, else the last) and
whether they are logits (a softmax is applied here) or probabilities already. Labels come
from the manifest (``str(index)`` when it has none). A text classifier (input kind
``text``) also answers a ``label`` BYTES tensor over v2, as its contract says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import TensorSpec
from utils.deployment_helpers.tasks.base import Feed, Row, TaskKind

if TYPE_CHECKING:
    from utils.deployment_helpers.served_model import ServedModel


def softmax(logits: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    """Row-wise softmax, shifted by the row maximum so large logits do not overflow."""
    shifted = logits.astype(np.float32) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]


def scores_output(model: ServedModel) -> str:
    """The output holding class scores (the manifest's choice, else the last output)."""
    return model.manifest.scores_output or model.output_names[-1]


def probabilities(model: ServedModel, outputs: Feed) -> NDArray[np.float32]:
    """Class probabilities [N, C] from raw outputs (softmax when the model gives logits)."""
    scores = outputs[scores_output(model)]
    if model.manifest.scores_kind == "logits":
        return softmax(scores)
    return scores.astype(np.float32)


def labels_of(model: ServedModel, classes: int) -> list[str]:
    """The manifest's class names, or ``"0" .. "C-1"`` when it has none."""
    labels = list(model.manifest.labels)
    return labels if len(labels) == classes else [str(i) for i in range(classes)]


class Classification(TaskKind):
    """Labels + probabilities per row."""

    name = "classification"

    def answer(self, model: ServedModel, outputs: Feed) -> list[Row]:
        probs = probabilities(model, outputs)
        labels = labels_of(model, probs.shape[1])
        rows = []
        for row in probs:
            index = int(np.argmax(row))
            rows.append(
                {"label": labels[index], "index": index, "probabilities": [float(p) for p in row]}
            )
        return rows

    def summary(self, model: ServedModel) -> dict[str, Any]:
        return {"labels": list(model.manifest.labels)}

    def predicted_labels(self, answers: list[Row]) -> list[str]:
        return [str(a["label"]) for a in answers]

    def v2_outputs(self, model: ServedModel) -> list[TensorSpec]:
        outputs = list(model.manifest.outputs)
        if _answers_labels(model):
            outputs.append(TensorSpec(name="label", datatype="BYTES", shape=[-1]))
        return outputs

    def derive(self, model: ServedModel, outputs: Feed) -> Feed:
        if not _answers_labels(model):
            return {}
        probs = probabilities(model, outputs)
        labels = labels_of(model, probs.shape[1])
        chosen = [labels[int(i)].encode() for i in probs.argmax(axis=1)]
        return {"label": np.array(chosen, dtype=np.object_)}


def _answers_labels(model: ServedModel) -> bool:
    """Text classifiers answer a ``label`` tensor (their graph has no output of that name)."""
    return model.manifest.preprocessing.kind == "text" and "label" not in model.output_names
