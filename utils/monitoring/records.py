"""What the prediction log keeps of one request, and how it becomes table rows.

The data plane builds one :class:`PredictionRecord` per request, successes and refusals
alike, and hands it over; everything costly (summaries, JSON, drift features) happens
later in the log's writer thread, so the request pays only for the dataclass and a queue
append. A request of N rows becomes N rows of the ``predictions`` table, keyed by
(request_id, row), so that feedback can name the row it labels; a refusal is one row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import orjson
from numpy.typing import NDArray

Featurizer = Callable[["PredictionRecord"], NDArray[np.float64] | None]
"""Turns a record's inputs into drift features [rows, F] (None: the model has no profile)."""


@dataclass(slots=True)
class PredictionRecord:
    """One answered request. Arrays are kept by reference: do not modify them afterwards."""

    request_id: str
    model: str
    version: str
    latency_ms: float
    status: int = 200
    """HTTP status answered (200, or the refusal's 4xx/5xx)."""
    client: str | None = None
    """The API key's id (never the key itself), or None without authentication."""
    route: str = ""
    """Which door: "v2-infer", "predict", "flask-api", "flask-page" ..."""
    inputs: Mapping[str, Any] | None = None
    """Named input tensors as decoded ([rows, ...] arrays), or None for a refusal."""
    labels: Sequence[str] | None = None
    """Predicted class of each row (classification)."""
    confidences: Sequence[float] | None = None
    """Largest class probability of each row (the CBPE estimate reads these)."""
    values: Sequence[float] | None = None
    """Predicted value of each row (regression, anomaly score)."""
    outputs: Sequence[Any] | None = None
    """Anything JSON-ready per row to keep beside (probabilities, boxes ...)."""
    error: str | None = None
    """The refusal's message, as the client saw it."""
    time: float = field(default_factory=time.time)
    """Unix time the request arrived, in seconds."""

    @property
    def rows(self) -> int:
        for per_row in (self.labels, self.values, self.confidences, self.outputs):
            if per_row is not None:
                return max(len(per_row), 1)
        if self.inputs:
            first = next(iter(self.inputs.values()))
            return max(len(first), 1) if hasattr(first, "__len__") else 1
        return 1


def _per_row(tensor: Any, rows: int) -> NDArray[Any]:
    array = np.asarray(tensor)
    if array.ndim == 0 or len(array) != rows:
        array = np.broadcast_to(array, (rows, *array.shape))
    return array


def _summaries(arrays: Sequence[NDArray[Any]]) -> list[list[dict[str, Any]]]:
    """Shape, dtype, mean, min and max of each row of each array ([rows, ...], all of one
    row shape and dtype), computed in one numpy pass over all of them: per-row numpy
    calls cost more than the insert itself (measured: 4x the writer's time)."""
    first = arrays[0]
    base: dict[str, Any] = {"shape": list(first.shape[1:]), "dtype": str(first.dtype)}
    if not first.size or first.dtype.kind not in "biuf":
        return [[dict(base) for _ in range(len(a))] for a in arrays]
    flat = np.concatenate([a.reshape(len(a), -1) for a in arrays]).astype(np.float64)
    stats = np.round(np.stack([flat.mean(axis=1), flat.min(axis=1), flat.max(axis=1)], 1), 6)
    out: list[list[dict[str, Any]]] = []
    start = 0
    for array in arrays:
        chunk = stats[start : start + len(array)].tolist()
        out.append([{**base, "mean": m, "min": lo, "max": hi} for m, lo, hi in chunk])
        start += len(array)
    return out


def input_columns(
    records: Sequence[PredictionRecord], *, keep_tensors: bool
) -> list[dict[str, list[Any]]]:
    """The ``inputs`` column of each record's rows: ``{input name: [one entry per row]}``.

    Summaries are computed per group of inputs sharing a name, row shape and dtype (the
    same model's requests, as a batch of the writer holds), all at once.
    """
    out: list[dict[str, list[Any]]] = [{} for _ in records]
    groups: dict[tuple[str, tuple[int, ...], np.dtype[Any]], list[tuple[int, NDArray[Any]]]] = {}
    for index, record in enumerate(records):
        for name, tensor in (record.inputs or {}).items():
            array = _per_row(tensor, record.rows)
            if keep_tensors:
                out[index][name] = array.tolist()
            else:
                key = (name, array.shape[1:], array.dtype)
                groups.setdefault(key, []).append((index, array))
    for (name, _, _), members in groups.items():
        summaries = _summaries([array for _, array in members])
        for (index, _), rows in zip(members, summaries, strict=True):
            out[index][name] = rows
    return out


def _item(per_row: Sequence[Any] | None, row: int) -> Any:
    return per_row[row] if per_row is not None and len(per_row) > row else None


COLUMNS: Final[tuple[str, ...]] = (
    "request_id",
    "row",
    "time",
    "model",
    "version",
    "latency_ms",
    "status",
    "client",
    "route",
    "inputs",
    "features",
    "predicted_label",
    "confidence",
    "predicted_value",
    "outputs",
    "error",
)
"""The ``predictions`` columns :func:`to_rows` fills, in its tuples' order."""


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()


def to_rows(
    record: PredictionRecord,
    *,
    inputs: Mapping[str, Sequence[Any]],
    features: NDArray[np.float64] | None,
) -> list[tuple[Any, ...]]:
    """The ``predictions`` rows of one record as tuples in :data:`COLUMNS` order, JSON
    columns already encoded (orjson): the writer hands them to the driver's executemany
    as they are, which is 5x cheaper than SQLAlchemy's per-row parameter processing and
    leaves the serving threads the interpreter lock. ``inputs`` from :func:`input_columns`.
    """
    count = record.rows
    blobs: list[bytes | None] = [None] * count
    if features is not None:
        blobs[: len(features)] = [v.tobytes() for v in np.asarray(features, dtype="<f4")[:count]]
    error = None if record.error is None else record.error[:500]
    latency_ms, status = float(record.latency_ms), int(record.status)
    rows = []
    for row in range(count):
        label = _item(record.labels, row)
        confidence = _item(record.confidences, row)
        value = _item(record.values, row)
        rows.append(
            (
                record.request_id,
                row,
                record.time,
                record.model,
                record.version,
                latency_ms,
                status,
                record.client,
                record.route,
                _json({name: values[row] for name, values in inputs.items()} or None),
                blobs[row],
                None if label is None else str(label),
                None if confidence is None else float(confidence),
                None if value is None else float(value),
                _json(_item(record.outputs, row)),
                error,
            )
        )
    return rows


def features_from_blob(blob: bytes | None) -> NDArray[np.float64] | None:
    """A row's drift features back from the log."""
    if blob is None:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float64)
