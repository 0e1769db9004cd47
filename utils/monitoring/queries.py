"""Reading the prediction log: feedback, live and estimated accuracy, drift windows.

Every function takes an engine, so a monitoring page, a report or a test can read the log
every worker writes, without a writer of its own.

Estimated accuracy (CBPE-style, after NannyML's confidence-based performance estimation):
the mean of the largest class probability over recent predictions. If the probabilities
are calibrated, that mean is the expected accuracy, with no label needed. Ours are NOT
calibrated: the manifests carry no calibration map, and fitting one needs labelled data
the server does not have. Softmax confidences of networks trained with cross-entropy run
high, so read the estimate as an upper-leaning proxy whose *changes* matter; the gap
measured on held-out digits is in ``docs/monitoring.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from utils.errors import BadInput, RequestsNotLogged
from utils.monitoring.records import features_from_blob
from utils.monitoring.schema import feedback, predictions

DEFAULT_WINDOW: Final[int] = 500
MAX_FEEDBACK_ITEMS: Final[int] = 10_000


@dataclass(frozen=True)
class FeedbackResult:
    accepted: int
    """Items joined to a logged request (stored; a repeated item replaces the earlier)."""
    unknown: tuple[str, ...]
    """Request ids not (yet) in the log: nothing was stored for them."""


@dataclass(frozen=True)
class Accuracy:
    samples: int
    value: float | None
    """Share correct (live), or mean top probability (estimated); None without samples."""


def _parse(item: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise BadInput("each feedback item must be an object with request_id and label or value")
    request_id = item.get("request_id")
    if not isinstance(request_id, str) or not request_id or len(request_id) > 128:
        raise BadInput("each feedback item needs a request_id (a string of 1 to 128 characters)")
    row = item.get("row", 0)
    if not isinstance(row, int) or isinstance(row, bool) or row < 0:
        raise BadInput(f"feedback for {request_id!r}: row must be a non-negative integer")
    label, value = item.get("label"), item.get("value")
    if (label is None) == (value is None):
        raise BadInput(f"feedback for {request_id!r}: give exactly one of label or value")
    if label is not None and (not isinstance(label, (str, int)) or isinstance(label, bool)):
        raise BadInput(f"feedback for {request_id!r}: label must be a string")
    if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise BadInput(f"feedback for {request_id!r}: value must be a number")
    return {
        "request_id": request_id,
        "row": row,
        "label": None if label is None else str(label)[:128],
        "value": None if value is None else float(value),
    }


def _check_kind(parsed: Sequence[Mapping[str, Any]], model: str, labels: Sequence[str]) -> None:
    """A classifier takes labels among its classes; a model without classes, values."""
    for item in parsed:
        rid = item["request_id"]
        if labels and item["label"] is None:
            raise BadInput(f"feedback for {rid!r}: {model!r} is a classifier, send a label")
        if labels and item["label"] not in labels:
            shown = ", ".join(repr(label) for label in list(labels)[:20])
            raise BadInput(
                f"feedback for {rid!r}: {item['label']!r} is not a class of {model!r} ({shown})"
            )
        if not labels and item["value"] is None:
            raise BadInput(f"feedback for {rid!r}: {model!r} has no classes, send a value")


def submit_feedback(
    engine: sa.Engine,
    items: Sequence[Mapping[str, Any]],
    *,
    now: float | None = None,
    model: str | None = None,
    labels: Sequence[str] = (),
) -> FeedbackResult:
    """Store ground truth for logged requests: ``[{"request_id", "label" | "value", "row"?}]``
    (``row`` for a batched request, 0 by default).

    Without ``model``, ids the log does not hold are returned as ``unknown`` and the others
    stored. With ``model`` (what the HTTP doors pass) the call is all or nothing: every id
    must be a logged request of that model, and ``labels`` (its classes; empty for a
    model that answers values) says which of ``label`` and ``value`` it takes.

    :raise BadInput: a malformed item, a label that is not one of ``labels``, or too many
        items (nothing is stored then).
    :raise RequestsNotLogged: with ``model``, an id that is not a logged request of it.
    """
    import time

    if len(items) > MAX_FEEDBACK_ITEMS:
        raise BadInput(f"at most {MAX_FEEDBACK_ITEMS} feedback items per call, not {len(items)}")
    parsed = {(p["request_id"], p["row"]): p for p in map(_parse, items)}
    if model is not None:
        _check_kind(list(parsed.values()), model, labels)
    stamp = time.time() if now is None else now
    ids = sorted({key[0] for key in parsed})
    with engine.begin() as connection:
        known: set[tuple[str, int]] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = sa.select(predictions.c.request_id, predictions.c.row).where(
                predictions.c.request_id.in_(chunk)
            )
            if model is not None:
                query = query.where(predictions.c.model == model)
            known.update((r, int(w)) for r, w in connection.execute(query))
        missing = sorted(
            {f"{r}" if w == 0 else f"{r} row {w}" for r, w in parsed if (r, w) not in known}
        )
        if model is not None and missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise RequestsNotLogged(
                f"no logged request of {model!r} has the id {shown}: send feedback for the "
                "X-Request-ID (or request id) a prediction of this model answered; nothing "
                "was stored"
            )
        rows = [{**p, "time": stamp} for key, p in parsed.items() if key in known]
        for row in rows:
            connection.execute(
                feedback.delete().where(
                    (feedback.c.request_id == row["request_id"]) & (feedback.c.row == row["row"])
                )
            )
        if rows:
            connection.execute(feedback.insert(), rows)
    unknown = tuple(sorted({key[0] for key in parsed if key not in known}))
    return FeedbackResult(accepted=len(rows), unknown=unknown)


def _of(model: str, version: str | None) -> Any:
    condition = predictions.c.model == model
    if version is not None:
        condition &= predictions.c.version == version
    return condition


def _labelled_pairs(
    engine: sa.Engine,
    model: str,
    version: str | None,
    window: int,
    predicted: sa.Column[Any],
    truth: sa.Column[Any],
) -> list[tuple[Any, Any]]:
    """(prediction, ground truth) of the last ``window`` successful rows with feedback."""
    query = (
        sa.select(predicted, truth)
        .join(
            feedback,
            (feedback.c.request_id == predictions.c.request_id)
            & (feedback.c.row == predictions.c.row),
        )
        .where(
            _of(model, version),
            truth.is_not(None),
            predicted.is_not(None),
            predictions.c.status == 200,
        )
        .order_by(feedback.c.time.desc())
        .limit(window)
    )
    with engine.connect() as connection:
        return [(p, t) for p, t in connection.execute(query)]


def live_accuracy(
    engine: sa.Engine, model: str, version: str | None = None, *, window: int = DEFAULT_WINDOW
) -> Accuracy:
    """Share of the last ``window`` labelled predictions whose label was right."""
    pairs = _labelled_pairs(
        engine, model, version, window, predictions.c.predicted_label, feedback.c.label
    )
    if not pairs:
        return Accuracy(0, None)
    return Accuracy(len(pairs), sum(p == t for p, t in pairs) / len(pairs))


def live_mean_absolute_error(
    engine: sa.Engine, model: str, version: str | None = None, *, window: int = DEFAULT_WINDOW
) -> Accuracy:
    """Mean |predicted - true| of the last ``window`` predictions given a true value."""
    pairs = _labelled_pairs(
        engine, model, version, window, predictions.c.predicted_value, feedback.c.value
    )
    if not pairs:
        return Accuracy(0, None)
    return Accuracy(len(pairs), float(np.mean([abs(p - t) for p, t in pairs])))


def estimated_accuracy(
    engine: sa.Engine, model: str, version: str | None = None, *, window: int = DEFAULT_WINDOW
) -> Accuracy:
    """Mean top-class probability of the last ``window`` predictions (see the module
    docstring: uncalibrated)."""
    query = (
        sa.select(predictions.c.confidence)
        .where(_of(model, version), predictions.c.confidence.is_not(None))
        .order_by(predictions.c.time.desc())
        .limit(window)
    )
    with engine.connect() as connection:
        values = connection.execute(query).scalars().all()
    if not values:
        return Accuracy(0, None)
    return Accuracy(len(values), float(np.mean(values)))


def recent_window(
    engine: sa.Engine, model: str, version: str | None = None, *, window: int = DEFAULT_WINDOW
) -> tuple[NDArray[np.float64], list[str]]:
    """The drift features [n, F] and predicted labels of the last ``window`` successful
    rows that carry features, from every process's traffic (oldest first)."""
    query = (
        sa.select(predictions.c.features, predictions.c.predicted_label)
        .where(
            _of(model, version), predictions.c.features.is_not(None), predictions.c.status == 200
        )
        .order_by(predictions.c.time.desc(), predictions.c.id.desc())
        .limit(window)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()[::-1]
    vectors = [features_from_blob(blob) for blob, _ in rows]
    labels = [label for _, label in rows if label is not None]
    if not vectors:
        return np.zeros((0, 0)), labels
    return np.stack([v for v in vectors if v is not None]), labels


def feedback_coverage(engine: sa.Engine, model: str, version: str | None = None) -> float | None:
    """Share of logged successful rows that have feedback (None when nothing is logged)."""
    joined = sa.and_(
        feedback.c.request_id == predictions.c.request_id, feedback.c.row == predictions.c.row
    )
    query = (
        sa.select(sa.func.count(), sa.func.count(feedback.c.request_id))
        .select_from(predictions.outerjoin(feedback, joined))
        .where(_of(model, version), predictions.c.status == 200)
    )
    with engine.connect() as connection:
        total, covered = connection.execute(query).one()
    return None if not total else covered / total


def served_models(engine: sa.Engine, since: float = 0.0) -> list[tuple[str, str]]:
    """(model, version) pairs logged since Unix time ``since``."""
    query = (
        sa.select(predictions.c.model, predictions.c.version)
        .where(predictions.c.time >= since)
        .distinct()
        .order_by(predictions.c.model, predictions.c.version)
    )
    with engine.connect() as connection:
        return [(m, v) for m, v in connection.execute(query)]
