"""The data plane's observer: each :class:`RequestOutcome` becomes a
:class:`~utils.monitoring.records.PredictionRecord` for :class:`ModelMonitor`.

``DataPlane(settings, observers=[monitor.observe_outcome])`` is all the wiring a front end
needs. Inputs are taken as the model's input kind sees them (``InputKind.features``: the
64 pixels of a digit, a tabular row), which is what the conversion profiled; labels and
top probabilities come from the task kind's answers, decoded here when the door did not
(the v2 door answers tensors): a softmax over a few classes, a few microseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from utils.monitoring.records import PredictionRecord

if TYPE_CHECKING:
    from utils.deployment_helpers.observation import RequestOutcome


def _numbers(values: list[Any]) -> list[float] | None:
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values]
    return None


def record_of(outcome: RequestOutcome) -> PredictionRecord:
    """The prediction-log record of one request (successes and refusals alike)."""
    from utils.deployment_helpers.tasks import input_kind_of, task_kind_of

    inputs: dict[str, Any] | None = None
    labels: list[str] | None = None
    confidences: list[float] | None = None
    values: list[float] | None = None
    served = outcome.served
    if served is not None and outcome.feed is not None and outcome.status == 200:
        features = input_kind_of(served.manifest).features(served, outcome.feed)
        inputs = {"features": features} if features is not None else dict(outcome.feed)
        task = task_kind_of(served.manifest)
        answers = outcome.answers
        if answers is None and outcome.outputs is not None:
            answers = task.answer(served.manifest, outcome.outputs)
        if answers:
            labels = task.predicted_labels(answers) or None
            tops = [max(a["probabilities"]) for a in answers if a.get("probabilities")]
            confidences = tops if len(tops) == len(answers) else None
            values = _numbers([a.get("value") for a in answers])
    return PredictionRecord(
        outcome.context.request_id,
        outcome.model,
        outcome.version,
        outcome.latency_s * 1000,
        status=outcome.status,
        client=outcome.context.client,
        route=outcome.context.route,
        inputs=inputs,
        labels=labels,
        confidences=confidences,
        values=values,
        error=outcome.error or None,
        time=outcome.started_at,
    )
