"""How fast drift is detected on shifted digits, and how often it is claimed without one.

The stream imitates a served model: each request is one held-out digit, predicted by the
committed ``digits_torch`` v1 ONNX model (onnxruntime), watched through a window of the
last ``window`` requests as :class:`~utils.monitoring.drift_monitor.DriftMonitor` keeps it,
and judged every ``every`` requests as a scrape would.

- False alarms: ``requests`` (10,000) in-distribution requests, drawn with replacement
  from the 360 held-out digits; the rate is the share of judgements that say drift.
- Delay: a full window of in-distribution requests, then shifted ones (noise, inversion,
  translation by one pixel, thicker strokes); the delay is the number of shifted requests
  until the first drift verdict, per signal (inputs, predictions), median over seeds.
- The estimated accuracy (mean top probability) beside the true accuracy on held-out
  digits: the gap of an uncalibrated CBPE-style estimate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from utils.monitoring.drift import detect_drift

MODEL: Final[Path] = (
    Path(__file__).resolve().parents[2] / "models" / "digits_torch" / "1" / "model.onnx"
)
MAX_DELAY: Final[int] = 2000

Shift = Callable[[NDArray[np.float32], np.random.Generator], NDArray[np.float32]]


def _noise(x: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    return np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1).astype(np.float32)


def _inversion(x: NDArray[np.float32], _rng: np.random.Generator) -> NDArray[np.float32]:
    return (1.0 - x).astype(np.float32)


def _translation(x: NDArray[np.float32], _rng: np.random.Generator) -> NDArray[np.float32]:
    shifted = np.roll(x, 1, axis=-1)
    shifted[..., 0] = 0.0
    return shifted


def _thicker(x: NDArray[np.float32], _rng: np.random.Generator) -> NDArray[np.float32]:
    """Grey dilation by one pixel to the right and down: each stroke one pixel wider."""
    right = np.zeros_like(x)
    right[..., 1:] = x[..., :-1]
    down = np.zeros_like(x)
    down[..., 1:, :] = x[..., :-1, :]
    return np.maximum(x, np.maximum(right, down))


SHIFTS: Final[dict[str, Shift]] = {
    "noise (sigma 0.2)": _noise,
    "inversion": _inversion,
    "translation (1 px)": _translation,
    "thicker strokes": _thicker,
}


class _Model:
    def __init__(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])
        self.name = self.session.get_inputs()[0].name

    def predict(self, images: NDArray[np.float32]) -> tuple[list[str], NDArray[np.float64]]:
        logits = self.session.run(None, {self.name: images.reshape(-1, 1, 8, 8)})[0]
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        return [str(i) for i in probabilities.argmax(axis=1)], probabilities.max(axis=1)


def _verdicts(
    profile: dict[str, Any], window: deque[tuple[NDArray[np.float32], str]]
) -> tuple[bool, bool, bool, bool]:
    """Inputs drifted, predictions drifted, and the two halves of the predictions rule
    alone: chi-square p < 0.05, Jensen-Shannon >= 0.1."""
    images = np.stack([image for image, _ in window])
    report = detect_drift(profile, images, [label for _, label in window])
    chi_alone = report.predictions is not None and report.predictions.statistic < 0.05
    js_alone = (report.predictions_score or 0.0) >= 0.1
    return bool(report.inputs_drifted), bool(report.predictions_drifted), chi_alone, js_alone


def false_alarms(
    profile: dict[str, Any],
    *,
    requests: int = 10_000,
    window: int = 500,
    every: int = 50,
    seed: int = 0,
) -> dict[str, Any]:
    """Share of judgements claiming drift over in-distribution requests."""
    from utils.digits import load_split

    rng = np.random.default_rng(seed)
    held_out = load_split().x_test
    model = _Model()
    stream = held_out[rng.integers(0, len(held_out), requests)]
    labels, _ = model.predict(stream)
    recent: deque[tuple[NDArray[np.float32], str]] = deque(maxlen=window)
    judged = inputs = predictions = either = chi_alone = js_alone = 0
    for i, (image, label) in enumerate(zip(stream, labels, strict=True), start=1):
        recent.append((image, label))
        if i % every or len(recent) < 100:
            continue
        a, b, chi, js = _verdicts(profile, recent)
        judged += 1
        inputs += a
        predictions += b
        either += a or b
        chi_alone += chi
        js_alone += js
    return {
        "requests": requests,
        "window": window,
        "judged_every": every,
        "judgements": judged,
        "false_alarm_rate_inputs": round(inputs / judged, 4),
        "false_alarm_rate_predictions": round(predictions / judged, 4),
        "false_alarm_rate_either": round(either / judged, 4),
        "predictions_chi_square_alone": round(chi_alone / judged, 4),
        "predictions_jensen_shannon_alone": round(js_alone / judged, 4),
    }


def class_test_chance(
    *, classes: int = 10, sizes: tuple[int, ...] = (100, 200, 300, 500), draws: int = 2000
) -> dict[str, dict[str, float]]:
    """With no drift at all (windows drawn from the reference class shares), how often
    each half of the predictions rule says drift, by window size."""
    from utils.monitoring.distributions import chisquare_pvalue, jensen_shannon

    rng = np.random.default_rng(0)
    shares = np.full(classes, 1 / classes)
    out: dict[str, dict[str, float]] = {}
    for size in sizes:
        counts = [
            np.bincount(rng.choice(classes, size, p=shares), minlength=classes)
            for _ in range(draws)
        ]
        js = [jensen_shannon(shares, c / size) >= 0.1 for c in counts]
        chi = [chisquare_pvalue(c, shares * size) < 0.05 for c in counts]
        out[str(size)] = {
            "jensen_shannon_at_least_0.1": round(float(np.mean(js)), 4),
            "chi_square_p_below_0.05": round(float(np.mean(chi)), 4),
        }
    return out


def detection_delay(
    profile: dict[str, Any], shift: Shift, *, window: int = 500, every: int = 10, seed: int = 0
) -> dict[str, int | None]:
    """Shifted requests until the first drift verdict per signal (None: not within 2,000)."""
    from utils.digits import load_split

    rng = np.random.default_rng(seed)
    held_out = load_split().x_test
    model = _Model()
    before = held_out[rng.integers(0, len(held_out), window)]
    after = shift(held_out[rng.integers(0, len(held_out), MAX_DELAY)], rng)
    recent: deque[tuple[NDArray[np.float32], str]] = deque(maxlen=window)
    recent.extend(zip(before, model.predict(before)[0], strict=True))
    after_labels, _ = model.predict(after)
    found: dict[str, int | None] = {"inputs": None, "predictions": None}
    for i, item in enumerate(zip(after, after_labels, strict=True), start=1):
        recent.append(item)
        if i % every:
            continue
        inputs, predictions, _, _ = _verdicts(profile, recent)
        if inputs and found["inputs"] is None:
            found["inputs"] = i
        if predictions and found["predictions"] is None:
            found["predictions"] = i
        if all(v is not None for v in found.values()):
            break
    return found


def _median(values: list[int | None]) -> float | None:
    seen = [v for v in values if v is not None]
    return float(np.median(seen)) if len(seen) * 2 > len(values) else None


def delays(profile: dict[str, Any], *, seeds: int = 5, window: int = 500) -> dict[str, Any]:
    """Median detection delay per shift and signal, over ``seeds`` streams."""
    out: dict[str, Any] = {}
    for name, shift in SHIFTS.items():
        runs = [detection_delay(profile, shift, window=window, seed=s) for s in range(seeds)]
        out[name] = {
            "inputs_median_requests": _median([r["inputs"] for r in runs]),
            "predictions_median_requests": _median([r["predictions"] for r in runs]),
            "runs": runs,
        }
    return out


def estimated_accuracy_gap() -> dict[str, float]:
    """True accuracy of digits_torch v1 on held-out digits, and the mean top probability."""
    from utils.digits import load_split

    split = load_split()
    labels, confidence = _Model().predict(split.x_test)
    accuracy = float(np.mean([int(p) == y for p, y in zip(labels, split.y_test, strict=True)]))
    return {
        "accuracy": round(accuracy, 4),
        "estimated_accuracy": round(float(confidence.mean()), 4),
        "gap": round(float(confidence.mean()) - accuracy, 4),
    }
