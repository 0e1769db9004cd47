"""The data plane's observer: each :class:`RequestOutcome` becomes a
:class:`~utils.monitoring.records.PredictionRecord` for :class:`ModelMonitor`.

``DataPlane(settings, observers=[monitor.observe_outcome])`` is all the wiring a front end
needs. Inputs are taken as the model's input kind sees them (``InputKind.features``: the
64 pixels of a digit, a tabular row), which is what the conversion profiled; labels and
top probabilities come from the task kind's answers, decoded here when the door did not
(the v2 door answers tensors): a softmax over a few classes, a few microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.monitoring.records import PredictionRecord

if TYPE_CHECKING:
    from utils.deployment_helpers.observation import RequestOutcome
    from utils.deployment_helpers.tasks.base import Row


def _numbers(values: list[Any]) -> list[float] | None:
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values]
    return None


def records_of(outcomes: Sequence[RequestOutcome]) -> list[PredictionRecord]:
    """:func:`record_of` for many outcomes at once (the log's writer thread, per batch).

    The v2 door answers raw tensors, so labels and top probabilities are decoded here; the
    outputs of one served version are stacked and decoded by ONE ``task.answer`` call:
    decoding one row alone cost about 30 us on the shared 2-core machine (a softmax on a
    tiny array, a dict per row), most of it per call, not per row.
    """
    from utils.deployment_helpers.tasks import task_kind_of

    decoded: dict[int, list[Row]] = {}
    groups: dict[int, list[int]] = {}
    for index, outcome in enumerate(outcomes):
        if outcome.status == 200 and outcome.answers is None and outcome.outputs and outcome.served:
            groups.setdefault(id(outcome.served), []).append(index)
    for members in groups.values():
        served = outcomes[members[0]].served
        assert served is not None
        feeds = [outcomes[i].outputs or {} for i in members]
        names = list(feeds[0])
        try:
            stacked = {name: np.concatenate([feed[name] for feed in feeds]) for name in names}
        except (KeyError, ValueError):  # outputs of differing shapes: each decoded alone
            continue
        answers = task_kind_of(served.manifest).answer(served.manifest, stacked)
        sizes = [len(feed[names[0]]) for feed in feeds]
        if sum(sizes) != len(answers):
            continue
        start = 0
        for index, size in zip(members, sizes, strict=True):
            decoded[index] = answers[start : start + size]
            start += size
    return [record_of(o, answers=decoded.get(i)) for i, o in enumerate(outcomes)]


def record_of(outcome: RequestOutcome, *, answers: list[Row] | None = None) -> PredictionRecord:
    """The prediction-log record of one request (successes and refusals alike);
    ``answers``: the task's answers when the caller decoded them already."""
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
        answers = outcome.answers if answers is None else answers
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
