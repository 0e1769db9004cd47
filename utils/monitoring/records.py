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
        return row_count(self.labels, self.confidences, self.values, self.outputs, self.inputs)


def row_count(
    labels: Sequence[Any] | None,
    confidences: Sequence[Any] | None,
    values: Sequence[Any] | None,
    outputs: Sequence[Any] | None,
    inputs: Mapping[str, Any] | None,
) -> int:
    """How many rows a request answered: its per-row answers say, else its inputs."""
    for per_row in (labels, values, confidences, outputs):
        if per_row is not None:
            return max(len(per_row), 1)
    if inputs:
        first = next(iter(inputs.values()))
        return max(len(first), 1) if hasattr(first, "__len__") else 1
    return 1


Answers = tuple["Sequence[str] | None", "Sequence[float] | None", "Sequence[float] | None"]
"""Labels, confidences and values of a batch's rows, in :class:`PredictionRecord`'s terms."""
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
"""The ``predictions`` columns :func:`rows_of` fills, in its tuples' order."""


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=str).decode()


def _named(per_name: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Each row's ``inputs`` column, ``{"name": text, ...}``, from each name's row texts."""
    if not per_name:
        return None
    parts = [(orjson.dumps(name).decode(), texts) for name, texts in per_name.items()]
    if len(parts) == 1:
        key, texts = parts[0]
        head = "{" + key + ":"
        return [head + text + "}" for text in texts]
    keys = [key for key, _ in parts]
    return [
        "{" + ",".join(f"{key}:{text}" for key, text in zip(keys, row, strict=True)) + "}"
        for row in zip(*(texts for _, texts in parts), strict=True)
    ]


def feed_texts(
    inputs: Mapping[str, Any] | None, rows: int, *, keep_tensors: bool
) -> list[str] | None:
    """Each row's ``inputs`` column of one feed of ``rows`` rows (a batch's stacked inputs
    or one request's): a summary of each named tensor, or the tensor itself with
    ``keep_tensors``; None without inputs."""
    if not inputs:
        return None
    per_name: dict[str, list[str]] = {}
    for name, tensor in inputs.items():
        array = _per_row(tensor, rows)
        if keep_tensors:
            per_name[name] = [_json(row) or "null" for row in array]
        else:
            per_name[name] = _summaries([array])[0]
    return _named(per_name)


def input_columns(
    records: Sequence[PredictionRecord], *, keep_tensors: bool
) -> list[list[str] | None]:
    """Each record's ``inputs`` column per row (:func:`feed_texts` for many records).

    Summaries are computed per group of inputs sharing a name, row shape and dtype (the
    same model's requests, as a batch of the writer holds), all at once.
    """
    if keep_tensors:
        return [feed_texts(r.inputs, r.rows, keep_tensors=True) for r in records]
    per_record: list[dict[str, list[str]]] = [{} for _ in records]
    groups: dict[tuple[str, tuple[int, ...], np.dtype[Any]], list[tuple[int, NDArray[Any]]]] = {}
    for index, record in enumerate(records):
        for name, tensor in (record.inputs or {}).items():
            array = _per_row(tensor, record.rows)
            groups.setdefault((name, array.shape[1:], array.dtype), []).append((index, array))
    for (name, _, _), members in groups.items():
        summaries = _summaries([array for _, array in members])
        for (index, _), rows in zip(members, summaries, strict=True):
            per_record[index][name] = rows
    return [_named(names) for names in per_record]


def feature_blobs(features: NDArray[np.float32] | None) -> list[bytes] | None:
    """Each row's ``features`` column: its drift features as little-endian float32 bytes."""
    return None if features is None else [row.tobytes() for row in features]


def rows_of(
    fields: Fields,
    count: int,
    texts: Sequence[str] | None,
    blobs: Sequence[bytes] | None,
    offset: int = 0,
    answers: Answers | None = None,
) -> list[tuple[Any, ...]]:
    """The ``predictions`` rows of one record as tuples in :data:`COLUMNS` order, JSON
    columns already encoded (orjson): the writer hands them to the driver's executemany
    as they are, which is 5x cheaper than SQLAlchemy's per-row parameter processing.

    ``fields``: the record's (:data:`FIELDS` order); ``count``: its rows; ``texts`` and
    ``blobs``: the ``inputs`` and ``features`` columns of a feed holding its rows from
    ``offset`` on (a batch's stacked inputs, or the record's own at offset 0); so do
    ``answers`` when given (a batch's, in place of the record's own).
    """
    (request_id, model, version, latency_ms, status, client, route) = fields[:7]
    labels, confidences, values, outputs, error, time_s = fields[7:]
    at = 0
    if answers is not None:
        labels, confidences, values = answers
        at = offset
    latency_ms, status = float(latency_ms), int(status)
    error = None if error is None else error[:500]
    return [
        (
            request_id,
            row,
            time_s,
            model,
            version,
            latency_ms,
            status,
            client,
            route,
            text,
            blob,
            None if label is None else str(label),
            None if confidence is None else float(confidence),
            None if value is None else float(value),
            _json(output),
            error,
        )
        for row, (text, blob, label, confidence, value, output) in enumerate(
            zip(
                _column(texts, offset, count),
                _column(blobs, offset, count),
                _column(labels, at, count),
                _column(confidences, at, count),
                _column(values, at, count),
                _column(outputs, 0, count),
                strict=True,
            )
        )
    ]


def _column(per_row: Sequence[Any] | None, start: int, count: int) -> Sequence[Any]:
    """Entries ``start`` to ``start + count`` of a per-row sequence, None past its end."""
    if per_row is None:
        return (None,) * count
    taken = per_row[start : start + count]
    if len(taken) == count:
        return taken
    return [*taken, *(None,) * (count - len(taken))]


def features_from_blob(blob: bytes | None) -> NDArray[np.float64] | None:
    """A row's drift features back from the log."""
    if blob is None:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float64)
