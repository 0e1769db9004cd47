"""Labelled evaluation data: read it, and keep it beside the model.

A user brings their own rows: ``--samples X.npy --targets y.npy``, one ``.npz`` holding
``x`` and ``y``, or a ``.csv`` with a header and ``--target-column``. The converter keeps
a copy as a small ``.npz`` recorded in the manifest with its sha256, so the quality gate
and the compression tools score every later version on the same rows. Numpy and the
stdlib only: no pickle is ever loaded.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.manifest import EvaluationData
from utils.errors import BadInput
from utils.io import sha256_file, write_atomic

X_KEYS: Final = ("x", "X", "samples", "inputs")
Y_KEYS: Final = ("y", "Y", "targets", "labels")
MAX_KEPT_BYTES: Final = 64 << 20
"""Evaluation data larger than this is scored but not copied beside the model."""


@dataclass(frozen=True)
class LabelledData:
    """Inputs (float32, batch first), their targets when known, the CSV's column names."""

    x: NDArray[np.float32]
    y: NDArray[Any] | None
    feature_names: list[str]
    description: str


def _array(path: Path, what: str) -> NDArray[Any]:
    try:
        return np.load(path, allow_pickle=False)  # type: ignore[no-any-return]
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist: check the {what} path") from None
    except (ValueError, OSError) as exc:
        raise BadInput(f"{path.name} is not a numeric numpy file ({exc})") from None


def _from_npz(path: Path) -> tuple[NDArray[Any], NDArray[Any] | None]:
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist: check the --samples path") from None
    except (ValueError, OSError) as exc:
        raise BadInput(f"{path.name} is not a readable .npz ({exc})") from None
    with archive:
        x_key = next((k for k in X_KEYS if k in archive.files), None)
        if x_key is None:
            raise BadInput(
                f"{path.name} holds {sorted(archive.files)}: name the inputs 'x' (and the "
                "targets 'y'): numpy.savez(path, x=X, y=y)"
            )
        y_key = next((k for k in Y_KEYS if k in archive.files), None)
        try:
            return archive[x_key], (archive[y_key] if y_key else None)
        except ValueError as exc:  # an object array needs pickle: refused
            raise BadInput(f"{path.name}: {exc}") from None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _from_csv(
    path: Path, target_column: str | None
) -> tuple[NDArray[Any], NDArray[Any] | None, list[str]]:
    try:
        rows = [r for r in csv.reader(io.StringIO(path.read_text())) if r]
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist: check the --samples path") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path.name} is not a text CSV file") from None
    if not rows:
        raise BadInput(f"{path.name} is empty")
    header = [c.strip() for c in rows[0]]
    has_header = any(_number(c) is None for c in header)
    names = header if has_header else [f"f{i}" for i in range(len(header))]
    body = rows[1:] if has_header else rows
    target = None
    if target_column is not None:
        if target_column not in names:
            raise BadInput(
                f"{path.name} has no column {target_column!r}; its columns: {', '.join(names)}"
            )
        target = names.index(target_column)
    columns = [i for i in range(len(names)) if i != target]
    x = np.empty((len(body), len(columns)), np.float32)
    for row_number, row in enumerate(body, start=2 if has_header else 1):
        if len(row) != len(names):
            raise BadInput(
                f"{path.name} line {row_number}: {len(row)} values, the header has {len(names)}"
            )
        for j, column in enumerate(columns):
            value = _number(row[column])
            if value is None:
                raise BadInput(
                    f"{path.name} line {row_number}, column {names[column]!r}: {row[column]!r} "
                    "is not a number (pass the target column with --target-column)"
                )
            x[row_number - (2 if has_header else 1), j] = value
    y = None
    if target is not None:
        values = [row[target].strip() for row in body]
        numbers = [_number(v) for v in values]
        y = (
            np.asarray(values)
            if any(n is None for n in numbers)
            else np.asarray(numbers, np.float64)
        )
    return x, y, [names[i] for i in columns] if has_header else []


def load_labelled(
    samples: Path, targets: Path | None = None, *, target_column: str | None = None
) -> LabelledData:
    """Read evaluation rows from ``.npy`` (+ a targets ``.npy``), ``.npz`` or ``.csv``.

    :raise BadInput: a missing or unreadable file, non-finite inputs, a count of targets
        that differs from the count of samples, or a CSV without the named column.
    """
    suffix = samples.suffix.lower()
    names: list[str] = []
    if suffix == ".npy":
        x, y = _array(samples, "--samples"), None
    elif suffix == ".npz":
        x, y = _from_npz(samples)
    elif suffix == ".csv":
        x, y, names = _from_csv(samples, target_column)
    else:
        raise BadInput(f"{samples.name}: samples must be .npy, .npz (x and y) or .csv")
    if target_column is not None and suffix != ".csv":
        raise BadInput("--target-column names a column of a .csv file; this is not one")
    if targets is not None:
        if targets.suffix.lower() != ".npy":
            raise BadInput(f"{targets.name}: targets must be a .npy file (numpy.save)")
        y = _array(targets, "--targets")
    if x.ndim < 2 or len(x) == 0:
        raise BadInput(
            f"{samples.name}: expected a batch of samples [N, ...], got shape {list(x.shape)}"
        )
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise BadInput(f"{samples.name}: samples must be finite numbers")
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(x):
            raise BadInput(f"{len(x)} samples but {len(y)} targets: give one target per sample")
    parts = [samples.name] + ([targets.name] if targets is not None else [])
    return LabelledData(x.astype(np.float32), y, names, f"{' + '.join(parts)} ({len(x)} samples)")


def _class_key(value: Any) -> str:
    """``1``, ``1.0`` and ``"1"`` name the same class; other values stay as written."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def class_indices(y: NDArray[Any], class_values: Sequence[str]) -> NDArray[np.int64]:
    """Targets as indices into the model's outputs.

    ``class_values`` are what the model calls its classes, in output order (scikit-learn's
    ``classes_``; ``0..C-1`` for a network).

    :raise BadInput: a target that is none of them (the message lists both).
    """
    position = {str(v): i for i, v in enumerate(class_values)}
    flat = np.asarray(y).reshape(len(y), -1)
    if flat.shape[1] != 1:
        raise BadInput(f"classification targets must be one value per sample, got {list(y.shape)}")
    keys = [_class_key(v) for v in flat[:, 0]]
    unknown = sorted({k for k in keys if k not in position})
    if unknown:
        raise BadInput(
            f"target value(s) {', '.join(unknown[:5])} are not classes of the model "
            f"({', '.join(list(class_values)[:12])}): give class indices 0..{len(class_values) - 1}"
            " or the class values the model was trained on"
        )
    return np.asarray([position[k] for k in keys], np.int64)


def data_digest(x: NDArray[Any], y: NDArray[Any]) -> str:
    """A digest of the arrays themselves (an .npz file's bytes carry a timestamp)."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(x), np.ascontiguousarray(y)):
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def keep_evaluation(
    folder: Path, file_name: str, x: NDArray[Any], y: NDArray[Any], *, source: str
) -> EvaluationData | None:
    """Write ``x`` and ``y`` to ``folder/file_name`` (.npz) unless an identical copy is there.

    Returns the manifest record, or None when the data is too large to keep
    (:data:`MAX_KEPT_BYTES`).
    """
    if x.nbytes + y.nbytes > MAX_KEPT_BYTES:
        return None
    target = folder / file_name
    if not target.is_file() or _digest_of_file(target) != data_digest(x, y):
        buffer = io.BytesIO()
        np.savez_compressed(buffer, x=x, y=y)
        write_atomic(target, buffer.getvalue())
    return EvaluationData(file=file_name, sha256=sha256_file(target), samples=len(x), source=source)


def _digest_of_file(path: Path) -> str | None:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return data_digest(archive["x"], archive["y"])
    except (OSError, ValueError, KeyError):
        return None


def read_evaluation(folder: Path, record: EvaluationData) -> tuple[NDArray[Any], NDArray[Any]]:
    """The ``(x, y)`` a manifest records, after checking the file's sha256.

    :raise BadInput: the file is missing or was changed since the metrics were recorded.
    """
    path = folder / record.file
    if not path.is_file():
        raise BadInput(f"evaluation data {path} is missing")
    if sha256_file(path) != record.sha256:
        raise BadInput(
            f"evaluation data {path} was changed since the metrics were recorded (sha256 differs)"
        )
    with np.load(path, allow_pickle=False) as archive:
        return archive["x"], archive["y"]
