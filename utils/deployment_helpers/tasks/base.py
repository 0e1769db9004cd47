"""What a task kind is: the post-processing of one kind of model, in one place.

A served model's manifest names its ``task`` (what the outputs mean) and its
``preprocessing.kind`` (what a person sends). The data plane asks the model's
:class:`TaskKind` to turn raw outputs into answers a person reads (labels and
probabilities, values, a forecast, anomaly flags, boxes) and, for v2, which derived
outputs to add; it asks the model's input kind (``inputs.py``) to turn plain JSON, a
sentence or an upload into the feed. Front ends never decode outputs themselves: a new
use case adds a task kind here, not a code path in each app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from numpy.typing import NDArray

if TYPE_CHECKING:
    from utils.deployment_helpers.manifest import Manifest, TensorSpec

Feed = dict[str, NDArray[Any]]
Row = dict[str, Any]
"""One row's answer, JSON-ready (plain floats, ints, strings, lists)."""


@dataclass(frozen=True, slots=True)
class Logged:
    """What the monitor keeps of each row's answer (the prediction log's columns, the
    predictions-per-class metric, the confidence-based accuracy estimate): one entry per
    row, or None when the task has no such notion."""

    labels: list[str] | None = None
    confidences: list[float] | None = None
    """The top class probability of each row."""
    values: list[float] | None = None
    """The predicted number of each row (regression, anomaly score)."""

    @classmethod
    def of_answers(cls, task: TaskKind, answers: list[Row]) -> Logged:
        """Read from JSON answers (a plain-JSON door decoded them already)."""
        if not answers:
            return cls()
        tops = [max(a["probabilities"]) for a in answers if a.get("probabilities")]
        values = [a.get("value") for a in answers]
        numbers = [
            float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        return cls(
            labels=task.predicted_labels(answers) or None,
            confidences=tops if len(tops) == len(answers) else None,
            values=numbers if len(numbers) == len(answers) else None,
        )

    def rows(self, start: int, stop: int) -> Logged:
        """The entries of rows ``start`` to ``stop`` (one request of a stacked batch)."""
        return Logged(
            None if self.labels is None else self.labels[start:stop],
            None if self.confidences is None else self.confidences[start:stop],
            None if self.values is None else self.values[start:stop],
        )


class TaskKind:
    """Base class: raw outputs as they are (``outputs`` per row), no derived tensors."""

    name: ClassVar[str] = "tensor"

    def answer(self, manifest: Manifest, outputs: Feed) -> list[Row]:
        """One JSON-ready answer per input row."""
        rows = _rows_of(outputs)
        return [{"outputs": {k: v[i].tolist() for k, v in outputs.items()}} for i in range(rows)]

    def answer_for(self, manifest: Manifest, outputs: Feed, sources: list[Row]) -> list[Row]:
        """The answers for rows that came from an upload, ``sources`` saying per row what
        the input kind knows of the original (a picture's ``image_size``): a detector puts
        its boxes in the picture's pixels. Most kinds need none of it."""
        return self.answer(manifest, outputs)

    def summary(self, manifest: Manifest) -> dict[str, Any]:
        """Model-level facts a page shows beside the answers (labels, horizon...)."""
        return {}

    def predicted_labels(self, answers: list[Row]) -> list[str]:
        """The class each row was given, for the predictions-per-class metric ([] if none)."""
        return []

    def logged(self, manifest: Manifest, outputs: Feed) -> Logged:
        """What the monitor keeps of raw outputs of many rows (the log's writer stacks a
        whole batch of requests and calls this once). A kind may compute it without
        building the JSON answers, as classification does."""
        return Logged.of_answers(self, self.answer(manifest, outputs))

    def v2_outputs(self, manifest: Manifest) -> list[TensorSpec]:
        """The outputs v2 metadata lists: the graph's, plus any this kind derives."""
        return list(manifest.outputs)

    def derive(self, manifest: Manifest, outputs: Feed) -> Feed:
        """Outputs computed from the graph's (e.g. a text classifier's ``label``)."""
        return {}


def _rows_of(outputs: Feed) -> int:
    first = next(iter(outputs.values()))
    return int(first.shape[0]) if first.ndim else 1
