"""What the prediction log keeps of one request, and how it becomes table rows.

The data plane builds one :class:`PredictionRecord` per request, successes and refusals
alike, and hands it over; everything costly (summaries, JSON, drift features) happens
later in the log's writer thread, so the request pays only for the dataclass and a queue
append. A request of N rows becomes N rows of the ``predictions`` table, keyed by
(request_id, row), so that feedback can name the row it labels; a refusal is one row.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import orjson
from numpy.typing import NDArray

Featurizer = Callable[[Sequence["PredictionRecord"]], list[NDArray[np.float32] | None]]
"""Turns each record's inputs into drift features, float32 [rows, F] (None: no profile);
called on a whole batch of the writer, so that one numpy pass serves many requests."""


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


Fields = tuple[Any, ...]
"""A record's plain fields (all but ``inputs``), in :data:`FIELDS` order: how records
travel to the log process."""
FIELDS: Final[tuple[str, ...]] = tuple(
    f.name for f in dataclasses.fields(PredictionRecord) if f.name != "inputs"
)


def fields_of(record: PredictionRecord) -> Fields:
    return tuple(getattr(record, name) for name in FIELDS)


def record_from(fields: Fields, inputs: Mapping[str, Any] | None = None) -> PredictionRecord:
    record = PredictionRecord(**dict(zip(FIELDS, fields, strict=True)))
    record.inputs = inputs
    return record


def _per_row(tensor: Any, rows: int) -> NDArray[Any]:
    array = np.asarray(tensor)
    if array.ndim == 0 or len(array) != rows:
        array = np.broadcast_to(array, (rows, *array.shape))
    return array


def _summaries(arrays: Sequence[NDArray[Any]]) -> list[list[str]]:
    """Shape, dtype, mean, min and max of each row of each array ([rows, ...], all of one
    row shape and dtype) as JSON text, computed in one numpy pass over all of them and
    formatted without building a dict per row: per-row numpy calls and JSON encoding cost
    more than the insert itself (measured)."""
    first = arrays[0]
    prefix = f'{{"shape":{orjson.dumps(list(first.shape[1:])).decode()},"dtype":"{first.dtype}"'
    if not first.size or first.dtype.kind not in "biuf":
        return [[prefix + "}"] * len(a) for a in arrays]
    flat = np.concatenate([a.reshape(len(a), -1) for a in arrays]).astype(np.float64)
    stats = np.round(np.stack([flat.mean(axis=1), flat.min(axis=1), flat.max(axis=1)], 1), 6)
    if not np.isfinite(stats).all():  # NaN/inf are not JSON: orjson writes them as null
        rows = [
            prefix + "," + (_json({"mean": m, "min": lo, "max": hi}) or "{}")[1:]
            for m, lo, hi in stats.tolist()
        ]
    else:
        rows = [
            f'{prefix},"mean":{m!r},"min":{lo!r},"max":{hi!r}}}' for m, lo, hi in stats.tolist()
        ]
    out: list[list[str]] = []
    start = 0
    for array in arrays:
        out.append(rows[start : start + len(array)])
        start += len(array)
    return out


def input_columns(
    records: Sequence[PredictionRecord], *, keep_tensors: bool
) -> list[dict[str, list[str]]]:
    """The ``inputs`` column of each record's rows, as ``{input name: [JSON text per row]}``.

    Summaries are computed per group of inputs sharing a name, row shape and dtype (the
    same model's requests, as a batch of the writer holds), all at once.
    """
    out: list[dict[str, list[str]]] = [{} for _ in records]
    groups: dict[tuple[str, tuple[int, ...], np.dtype[Any]], list[tuple[int, NDArray[Any]]]] = {}
    for index, record in enumerate(records):
        for name, tensor in (record.inputs or {}).items():
            array = _per_row(tensor, record.rows)
            if keep_tensors:
                out[index][name] = [_json(row) or "null" for row in array]
            else:
                key = (name, array.shape[1:], array.dtype)
                groups.setdefault(key, []).append((index, array))
    for (name, _, _), members in groups.items():
        summaries = _summaries([array for _, array in members])
        for (index, _), rows in zip(members, summaries, strict=True):
            out[index][name] = rows
    return out


def _inputs_json(inputs: Mapping[str, Sequence[str]], row: int) -> str | None:
    if not inputs:
        return None
    return (
        "{"
        + ",".join(f"{orjson.dumps(name).decode()}:{rows[row]}" for name, rows in inputs.items())
        + "}"
    )


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
    features: NDArray[np.float32] | None,
) -> list[tuple[Any, ...]]:
    """The ``predictions`` rows of one record as tuples in :data:`COLUMNS` order, JSON
    columns already encoded (orjson): the writer hands them to the driver's executemany
    as they are, which is 5x cheaper than SQLAlchemy's per-row parameter processing and
    leaves the serving threads the interpreter lock. ``inputs`` from :func:`input_columns`.
    """
    count = record.rows
    if count == 1:  # most requests: one tuple, no per-row lookups
        labels, confidences, values = record.labels, record.confidences, record.values
        label = labels[0] if labels else None
        confidence = confidences[0] if confidences else None
        value = values[0] if values else None
        return [
            (
                record.request_id,
                0,
                record.time,
                record.model,
                record.version,
                float(record.latency_ms),
                int(record.status),
                record.client,
                record.route,
                _inputs_json(inputs, 0),
                None if features is None else features.tobytes(),
                None if label is None else str(label),
                None if confidence is None else float(confidence),
                None if value is None else float(value),
                _json(record.outputs[0]) if record.outputs else None,
                None if record.error is None else record.error[:500],
            )
        ]
    blobs: list[bytes | None] = [None] * count
    if features is not None and count == 1:
        blobs[0] = features.tobytes()
    elif features is not None:
        blobs[: len(features)] = [v.tobytes() for v in features[:count]]
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
                _inputs_json(inputs, row),
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
