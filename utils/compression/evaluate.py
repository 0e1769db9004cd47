"""Measure a model file the same way for every variant: accuracy, latency, size.

Accuracy is always on the demo split's TEST images (the 360 held out in utils/digits.py),
which calibration never sees. Latency uses the project's one benchmark function
(utils/testing/benchmark.py) on a session with a fixed thread count.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.compression.inspect_model import input_specs, load_onnx
from utils.errors import BadInput
from utils.evaluation.scoring import (  # re-exported: they live beside the scoring now
    INT8_RESCORE_TOLERANCE as INT8_RESCORE_TOLERANCE,
)
from utils.evaluation.scoring import rescore_tolerance as rescore_tolerance
from utils.runtime import create_session
from utils.testing.benchmark import LatencyStats, measure_latency, stats_from_samples


def infer_layout(model_path: Path) -> tuple[str, str]:
    """(input name, layout) of a digits model, from its input shape.

    ``[-1, 1, 8, 8]`` is NCHW (torch), ``[-1, 8, 8, 1]`` NHWC (Keras), ``[-1, 64]`` flat
    (scikit-learn). :raise BadInput: a model that is not a one-input digits model.
    """
    specs = input_specs(load_onnx(model_path))
    if len(specs) != 1:
        raise BadInput(f"{model_path} has {len(specs)} inputs; a digits model has one")
    name, (shape, _) = next(iter(specs.items()))
    tail = list(shape[1:])
    layouts = {(1, 8, 8): "NCHW", (8, 8, 1): "NHWC", (64,): "flat"}
    layout = layouts.get(tuple(d if isinstance(d, int) else -1 for d in tail))
    if layout is None:
        raise BadInput(f"{model_path}: input {name} has shape {shape}, not a digits layout")
    return name, layout


def _scores(
    outputs: list[NDArray[Any]], names: list[str], scores_output: str | None
) -> NDArray[Any]:
    if scores_output is not None:
        return outputs[names.index(scores_output)]
    for value in outputs:  # the first float [N, C] output (logits or probabilities)
        if value.ndim == 2 and np.issubdtype(value.dtype, np.floating):
            return value
    return outputs[0]


def predict_labels(
    model_path: Path,
    images: NDArray[np.float32],
    *,
    scores_output: str | None = None,
    batch_size: int = 256,
) -> NDArray[np.int64]:
    """Argmax labels of [N, 8, 8] images in [0, 1] through ``model_path``."""
    from utils.digits import to_layout

    name, layout = infer_layout(model_path)
    session = create_session(model_path)
    names = [o.name for o in session.get_outputs()]
    labels = []
    for start in range(0, len(images), batch_size):
        batch = to_layout(images[start : start + batch_size], layout)
        outputs = session.run(None, {name: batch})
        scores = _scores(outputs, names, scores_output)
        labels.append(scores.argmax(axis=1) if scores.ndim == 2 else scores)
    return np.concatenate(labels).astype(np.int64)


def digits_accuracy(model_path: Path, *, scores_output: str | None = None) -> float:
    """Accuracy on the 360 held-out test digits."""
    from utils.digits import load_split

    split = load_split()
    predicted = predict_labels(model_path, split.x_test, scores_output=scores_output)
    return float((predicted == split.y_test).mean())


def digits_feed(model_path: Path, batch_size: int) -> dict[str, NDArray[np.float32]]:
    """A real batch of test digits in the model's layout, for latency measurements."""
    from utils.digits import load_split, to_layout

    name, layout = infer_layout(model_path)
    images = load_split().x_test
    reps = -(-batch_size // len(images))
    return {name: to_layout(np.tile(images, (reps, 1, 1))[:batch_size], layout)}


def session_latency(
    model_path: Path,
    feed: dict[str, NDArray[Any]],
    *,
    threads: int = 1,
    warmup: int = 20,
    repeats: int = 200,
) -> LatencyStats:
    """Latency of ``session.run`` on ``feed`` (batch size from the first input's rows)."""
    session = create_session(model_path, threads=threads)
    batch = len(next(iter(feed.values())))
    return measure_latency(
        lambda: session.run(None, feed), warmup=warmup, repeats=repeats, batch_size=batch
    )


def interleaved_samples(
    calls: dict[str, Callable[[], object]],
    *,
    warmup: int = 20,
    repeats: int = 200,
    progress: Callable[[Iterable[int]], Iterable[int]] = iter,
) -> dict[str, list[int]]:
    """Time several variants round-robin: call 1 of A, of B, of C, then call 2 of each...

    On a shared machine, load comes in bursts; timing variants one after the other lets
    a burst land on one variant only. Interleaving spreads it over all of them alike.
    Returns raw per-call durations in nanoseconds (for distributions).
    """
    for call in calls.values():
        for _ in range(warmup):
            call()
    samples: dict[str, list[int]] = {name: [] for name in calls}
    clock = time.perf_counter_ns
    for _ in progress(range(repeats)):
        for name, call in calls.items():
            start = clock()
            call()
            samples[name].append(clock() - start)
    return samples


def interleaved_latency(
    calls: dict[str, Callable[[], object]],
    *,
    warmup: int = 20,
    repeats: int = 200,
    batch_size: int = 1,
    progress: Callable[[Iterable[int]], Iterable[int]] = iter,
) -> dict[str, LatencyStats]:
    """:func:`interleaved_samples` summarised by the project's one statistics function."""
    samples = interleaved_samples(calls, warmup=warmup, repeats=repeats, progress=progress)
    return {
        name: stats_from_samples(values, batch_size=batch_size) for name, values in samples.items()
    }


def gzip_size(path: Path) -> int:
    """Bytes after gzip -6: what a download costs, and where unstructured zeros pay off."""
    import gzip

    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def describe_file(path: Path, *, scores_output: str | None = None) -> dict[str, Any]:
    """Size, gzip size, parameters (all / non-zero) and digits accuracy of one ONNX file."""
    from utils.compression.inspect_model import count_nonzero_parameters, count_parameters

    model = load_onnx(path)
    return {
        "size_bytes": path.stat().st_size,
        "gzip_bytes": gzip_size(path),
        "parameters": count_parameters(model),
        "nonzero_parameters": count_nonzero_parameters(model),
        "accuracy": digits_accuracy(path, scores_output=scores_output),
    }
