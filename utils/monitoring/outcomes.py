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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.tasks.base import Logged
from utils.monitoring.records import Fields, PredictionRecord, record_from

if TYPE_CHECKING:
    from utils.deployment_helpers.observation import RequestOutcome
    from utils.deployment_helpers.served_model import ServedModel
    from utils.deployment_helpers.tasks.base import Feed


def _stacked(feeds: Sequence[Feed | None]) -> Feed | None:
    """One feed of all rows, or None when the feeds differ in names or row shapes."""
    first = feeds[0]
    if not first:
        return None
    try:
        return {name: np.concatenate([feed[name] for feed in feeds]) for name in first}  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(slots=True)
class Group:
    """Successful v2 outcomes of one served version, stacked and decoded together."""

    served: ServedModel
    members: list[int]
    """Their indices in the batch."""
    bounds: list[tuple[int, int]]
    """Each member's rows in the stacked arrays."""
    inputs: dict[str, NDArray[Any]]
    """What the log keeps of the inputs, all rows: ``{"features": [rows, F]}`` (the input
    kind's features) or the stacked feed."""
    logged: Logged


def decode_groups(outcomes: Sequence[RequestOutcome]) -> list[Group]:
    """The successful outcomes that answered raw tensors (the v2 door), by served version:
    stacked, decoded by ONE ``task.logged`` call and featurized by ONE ``features`` call.
    Decoding one row alone cost about 30 us on the shared 2-core machine (a softmax on a
    tiny array, a dict per row), most of it per call, not per row. Outcomes whose shapes
    differ from their group's are left out (:func:`record_of` takes them one by one)."""
    from utils.deployment_helpers.tasks import input_kind_of, task_kind_of

    by_served: dict[int, list[int]] = {}
    for index, outcome in enumerate(outcomes):
        if outcome.status == 200 and outcome.answers is None and outcome.outputs and outcome.served:
            by_served.setdefault(id(outcome.served), []).append(index)
    groups = []
    for members in by_served.values():
        served = outcomes[members[0]].served
        assert served is not None
        outputs = _stacked([outcomes[i].outputs for i in members])
        feed = _stacked([outcomes[i].feed for i in members])
        if outputs is None or feed is None:
            continue
        logged = task_kind_of(served.manifest).logged(served.manifest, outputs)
        features = input_kind_of(served.manifest).features(served, feed)
        sizes = [len(next(iter(outcomes[i].outputs.values()))) for i in members]  # type: ignore[union-attr]
        total = sum(sizes)
        columns = (logged.labels, logged.confidences, logged.values)
        if any(c is not None and len(c) != total for c in columns):
            continue
        if features is not None and len(features) != total:
            continue
        bounds = []
        start = 0
        for size in sizes:
            bounds.append((start, start + size))
            start += size
        inputs = {"features": features} if features is not None else feed
        groups.append(Group(served, members, bounds, inputs, logged))
    return groups


def records_of(outcomes: Sequence[RequestOutcome]) -> list[PredictionRecord]:
    """:func:`record_of` for many outcomes at once (the log's writer, per batch), the
    v2 door's raw tensors decoded per served version (:func:`decode_groups`)."""
    records: list[PredictionRecord | None] = [None] * len(outcomes)
    for group in decode_groups(outcomes):
        for index, (start, stop) in zip(group.members, group.bounds, strict=True):
            inputs = {name: rows[start:stop] for name, rows in group.inputs.items()}
            records[index] = _record(outcomes[index], inputs, group.logged.rows(start, stop))
    return [r if r is not None else record_of(outcomes[i]) for i, r in enumerate(records)]


def record_of(outcome: RequestOutcome) -> PredictionRecord:
    """The prediction-log record of one request (successes and refusals alike)."""
    inputs: dict[str, Any] | None = None
    logged: Logged | None = None
    served = outcome.served
    if served is not None and outcome.feed is not None and outcome.status == 200:
        from utils.deployment_helpers.tasks import input_kind_of, task_kind_of

        features = input_kind_of(served.manifest).features(served, outcome.feed)
        inputs = {"features": features} if features is not None else dict(outcome.feed)
        task = task_kind_of(served.manifest)
        if outcome.answers is not None:
            logged = Logged.of_answers(task, outcome.answers)
        elif outcome.outputs is not None:
            logged = task.logged(served.manifest, outcome.outputs)
    return _record(outcome, inputs, logged or NO_ANSWERS)


def outcome_fields(outcome: RequestOutcome, logged: Logged) -> Fields:
    """A request's record fields (:data:`~utils.monitoring.records.FIELDS` order)."""
    context = outcome.context
    return (
        context.request_id,
        outcome.model,
        outcome.version,
        outcome.latency_s * 1000,
        outcome.status,
        context.client,
        context.route,
        logged.labels,
        logged.confidences,
        logged.values,
        None,
        outcome.error or None,
        outcome.started_at,
    )


def _record(
    outcome: RequestOutcome, inputs: dict[str, Any] | None, logged: Logged
) -> PredictionRecord:
    return record_from(outcome_fields(outcome, logged), inputs)


NO_ANSWERS = Logged()
"""No per-row answers: a refusal's, or a grouped request's whose group ships them once."""
