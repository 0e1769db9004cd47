"""The last inputs each model saw, scored for drift against its training profile.

Every digit the page or the API classifies is kept (its 8x8 input, flattened, and the
predicted label) in a bounded window per model; the monitoring page asks for
:meth:`LiveDrift.scores`, computed by ``utils.monitoring.drift`` against the
``reference_profile`` of the model's manifest. The window is small on purpose: drift is
about what the model sees *now*.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers.observation import RequestOutcome
from utils.deployment_helpers.tasks import input_kind_of, task_kind_of
from utils.errors import BadInput
from utils.monitoring.drift import drift_score

WINDOW = 500
"""Inputs kept per model (memory: 500 x 64 floats, 128 KB)."""


class LiveDrift:
    """Thread-safe per-model windows of recent inputs and predictions."""

    def __init__(self, window: int = WINDOW) -> None:
        self._window = window
        self._inputs: dict[str, deque[tuple[NDArray[np.float32], str]]] = {}
        self._lock = threading.Lock()

    def record(self, model: str, pixels: NDArray[np.float32], label: str) -> None:
        """Keep one input (any shape, flattened) and the label predicted for it."""
        with self._lock:
            ring = self._inputs.setdefault(model, deque(maxlen=self._window))
            ring.append((np.asarray(pixels, dtype=np.float32).ravel(), label))

    def observe(self, outcome: RequestOutcome) -> None:
        """The data plane's observer: keep what a served model saw and said, per row."""
        served, feed = outcome.served, outcome.feed
        if served is None or feed is None or outcome.status != 200:
            return
        features = input_kind_of(served.manifest).features(served, feed)
        if features is None:
            return
        labels: list[str] = []
        if outcome.answers:
            labels = task_kind_of(served.manifest).predicted_labels(outcome.answers)
        for i, row in enumerate(features):
            self.record(served.name, row, labels[i] if i < len(labels) else "")

    def scores(self, profiles: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """Drift of every model that has both a profile and live inputs, by model name."""
        with self._lock:
            windows = {name: list(ring) for name, ring in self._inputs.items()}
        result: dict[str, dict[str, Any]] = {}
        for name, items in windows.items():
            profile = profiles.get(name)
            if not profile or not items:
                continue
            samples = np.stack([pixels for pixels, _ in items])
            try:
                score = drift_score(profile, samples, [label for _, label in items])
            except BadInput:  # a profile of another kind or shape: no verdict
                continue
            result[name] = score.as_dict()
        return result
