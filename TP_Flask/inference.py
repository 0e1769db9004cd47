"""What the page and the API ask of the serving core, in the page's words.

The routes take care of HTTP (fields, files, JSON, status codes); this module turns an
image, 8x8 pixels or sentences into a typed answer with the model, the version and the
server-side latency, and knows nothing of Flask. The core (``ModelRepository``,
``ServedModel``) and the image preprocessing (``utils.preprocessing``) do the real work.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from utils.deployment_helpers import ModelRepository, ServedModel
from utils.deployment_helpers.manifest import Manifest, read_manifest
from utils.digits import IMAGE_SIZE
from utils.errors import BadInput, ModelNotFound, ModelNotReady
from utils.preprocessing import image_to_digit, to_model_input

MAX_PIXEL_BATCH = 64
"""Most 8x8 images one JSON request may carry; the page sends one."""

MAX_SIMILARITY_SENTENCES = 8
"""Sentences compared at once on the page: an 8x8 matrix still reads at a glance."""


@dataclass(frozen=True)
class ModelChoice:
    """One served (or refused) version, as the selector and ``/api/models`` list it."""

    name: str
    version: int
    state: str
    """``READY`` or ``UNAVAILABLE`` (then ``reason`` says why)."""
    reason: str = ""
    task: str = ""
    kind: str = ""
    """Preprocessing kind: ``digits-8x8`` (the canvas), ``text`` (sentences), ``tensor``."""
    variant: str = ""
    size_bytes: int | None = None
    accuracy: float | None = None
    labels: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.state == "READY"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "state": self.state,
            "reason": self.reason,
            "task": self.task,
            "input_kind": self.kind,
            "variant": self.variant,
            "size_bytes": self.size_bytes,
            "accuracy": self.accuracy,
            "labels": self.labels,
        }


@dataclass(frozen=True)
class DigitPrediction:
    """The answer for one digit: what the model saw, what it said, who said it, how fast."""

    model: str
    version: int
    variant: str
    index: int
    label: str
    labels: list[str]
    probabilities: list[float]
    pixels: list[list[float]]
    """The 8x8 input in [0, 1], ink high: exactly what the model saw."""
    latency_ms: float
    """Server-side: decoding + preprocessing + inference."""
    inference_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "variant": self.variant,
            "label": self.label,
            "index": self.index,
            "labels": self.labels,
            "probabilities": [round(p, 6) for p in self.probabilities],
            "pixels": [[round(v, 4) for v in row] for row in self.pixels],
            "latency_ms": round(self.latency_ms, 3),
            "inference_ms": round(self.inference_ms, 3),
        }


@dataclass(frozen=True)
class Similarity:
    """Cosine similarity of every pair of sentences (the embeddings are unit vectors)."""

    model: str
    version: int
    sentences: list[str]
    matrix: list[list[float]]
    latency_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "sentences": self.sentences,
            "matrix": [[round(v, 4) for v in row] for row in self.matrix],
            "latency_ms": round(self.latency_ms, 3),
        }


def parse_version(raw: object) -> int | None:
    """``None``/``""``/``"latest"`` mean the newest version; otherwise a positive integer.

    :raise BadInput: anything else, named in the message.
    """
    if raw is None or raw == "" or raw == "latest":
        return None
    if isinstance(raw, bool):
        raise BadInput(f"version must be a positive integer or 'latest', got {raw!r}")
    try:
        version = int(str(raw))
    except ValueError:
        raise BadInput(f"version must be a positive integer or 'latest', got {raw!r}") from None
    if version < 1:
        raise BadInput(f"version must be a positive integer or 'latest', got {raw!r}")
    return version


def pixels_from_json(raw: object) -> NDArray[np.float32]:
    """Read 8x8 images from JSON: one [8, 8], a batch [N, 8, 8], or flat [64] / [N, 64].

    :raise BadInput: not numbers, the wrong shape, outside [0, 1], or too many images.
    """
    try:
        array = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError):
        raise BadInput(
            "'inputs' must be numbers: one 8x8 image, a list of them, or rows of 64 pixels"
        ) from None
    side = IMAGE_SIZE
    if array.shape == (side, side) or array.shape == (side * side,):
        array = array.reshape(1, side, side)
    elif array.ndim == 2 and array.shape[1] == side * side:
        array = array.reshape(-1, side, side)
    if array.ndim != 3 or array.shape[1:] != (side, side):
        raise BadInput(
            f"'inputs' has shape {list(array.shape)}: send [8, 8], [N, 8, 8], [64] or [N, 64]"
        )
    if array.shape[0] == 0:
        raise BadInput("'inputs' is empty: send at least one 8x8 image")
    if array.shape[0] > MAX_PIXEL_BATCH:
        raise BadInput(f"'inputs' holds {array.shape[0]} images; the limit is {MAX_PIXEL_BATCH}")
    if not np.isfinite(array).all():
        raise BadInput("'inputs' contains NaN or infinite values: send numbers in [0, 1]")
    if array.min() < 0.0 or array.max() > 1.0:
        raise BadInput(
            "'inputs' must be pixels in [0, 1] (raw 0..16 digits divided by 16), "
            f"got values from {array.min():g} to {array.max():g}"
        )
    return array


class Predictor:
    """The app's door to the repository: lists models, classifies digits, compares text."""

    def __init__(
        self,
        repository: ModelRepository,
        *,
        root: Path,
        default_model: str = "digits_torch",
        text_model: str = "minilm",
        max_image_pixels: int,
        max_image_bytes: int,
    ) -> None:
        self.repository = repository
        self.root = root
        self.default_model = default_model
        self.text_model = text_model
        self.max_image_pixels = max_image_pixels
        self.max_image_bytes = max_image_bytes

    # -- listing ---------------------------------------------------------------------

    def _manifest(self, name: str) -> Manifest | None:
        """The manifest of a model, read from disk when the model did not load."""
        try:
            return self.repository.get(name).manifest
        except (ModelNotFound, ModelNotReady):
            try:
                return read_manifest(self.root / name)
            except BadInput:
                return None

    def models(self) -> list[ModelChoice]:
        """Every version the repository knows, ready or not, sorted by name then version."""
        manifests: dict[str, Manifest | None] = {}
        choices = []
        for state in sorted(self.repository.index(), key=lambda s: (s.name, s.version)):
            if state.name not in manifests:
                manifests[state.name] = self._manifest(state.name)
            manifest = manifests[state.name]
            info = manifest.versions.get(str(state.version)) if manifest else None
            choices.append(
                ModelChoice(
                    name=state.name,
                    version=state.version,
                    state=state.state,
                    reason=state.reason,
                    task=manifest.task if manifest else "",
                    kind=manifest.preprocessing.kind if manifest else "",
                    variant=info.variant if info else "",
                    size_bytes=info.size_bytes if info else None,
                    accuracy=info.metrics.get("accuracy") if info else None,
                    labels=list(manifest.labels) if manifest else [],
                )
            )
        return choices

    def digit_models(self) -> list[ModelChoice]:
        """Ready versions the canvas can feed (``digits-8x8`` preprocessing)."""
        return [c for c in self.models() if c.ready and c.kind == "digits-8x8"]

    def default_digit_model(self) -> ModelChoice | None:
        """The configured default's latest ready version, else the first ready digits model."""
        choices = self.digit_models()
        if not choices:
            return None
        name = self.default_model if any(c.name == self.default_model for c in choices) else None
        name = name or choices[0].name
        return max((c for c in choices if c.name == name), key=lambda c: c.version)

    def text_models(self) -> list[ModelChoice]:
        """Ready versions of the sentence model (fp32, int8...), for the text box's selector."""
        return [
            c for c in self.models() if c.ready and c.name == self.text_model and c.kind == "text"
        ]

    def text_model_choice(self) -> ModelChoice | None:
        """The ready sentence model's latest version, or None (the page hides the text box)."""
        ready = [
            c for c in self.models() if c.ready and c.name == self.text_model and c.kind == "text"
        ]
        return max(ready, key=lambda c: c.version) if ready else None

    # -- digits ----------------------------------------------------------------------

    def _digit_model(self, name: str | None, version: int | None) -> ServedModel:
        if not name:
            default = self.default_digit_model()
            if default is None:
                raise ModelNotReady("no digits model is ready: run `make models` and restart")
            name = default.name
        return self.repository.get(name, version)

    def classify_image(
        self, data: bytes, *, model: str | None = None, version: int | None = None
    ) -> DigitPrediction:
        """Read an image file (upload or canvas drawing) and classify the digit in it.

        The model is resolved first, so an unknown model is reported as such even when the
        image is also bad.
        """
        served = self._digit_model(model, version)
        started = time.perf_counter()
        pixels = image_to_digit(
            data, max_pixels=self.max_image_pixels, max_bytes=self.max_image_bytes
        )
        return self._classify(served, pixels[np.newaxis], started)[0]

    def classify_pixels(
        self, images: NDArray[np.float32], *, model: str | None = None, version: int | None = None
    ) -> list[DigitPrediction]:
        """Classify 8x8 images already in [0, 1] (the JSON API)."""
        served = self._digit_model(model, version)
        return self._classify(served, images, time.perf_counter())

    def _classify(
        self, served: ServedModel, images: NDArray[np.float32], started: float
    ) -> list[DigitPrediction]:
        x = to_model_input(images, served.manifest.preprocessing)
        inference_started = time.perf_counter()
        rows = served.classify(x)
        finished = time.perf_counter()
        variant = served.manifest.versions[str(served.version)].variant
        labels = list(served.manifest.labels) or [str(i) for i in range(len(rows[0].probabilities))]
        return [
            DigitPrediction(
                model=served.name,
                version=served.version,
                variant=variant,
                index=row.index,
                label=row.label,
                labels=labels,
                probabilities=row.probabilities,
                pixels=image.tolist(),
                latency_ms=(finished - started) * 1000.0,
                inference_ms=(finished - inference_started) * 1000.0,
            )
            for row, image in zip(rows, images, strict=True)
        ]

    # -- text ------------------------------------------------------------------------

    def similarity(
        self, sentences: Sequence[str], *, model: str | None = None, version: int | None = None
    ) -> Similarity:
        """Embed the sentences and return their pairwise cosine similarities.

        :raise BadInput: fewer than two or more than :data:`MAX_SIMILARITY_SENTENCES`.
        :raise ModelNotFound: the text model is not in the repository (``make minilm``).
        """
        from utils.text import tokenize  # tokenizers only matters when text is served

        cleaned = [s.strip() for s in sentences if isinstance(s, str) and s.strip()]
        if len(cleaned) < 2:
            raise BadInput("type at least two sentences, one per line, to compare them")
        if len(cleaned) > MAX_SIMILARITY_SENTENCES:
            raise BadInput(
                f"{len(cleaned)} sentences; compare at most {MAX_SIMILARITY_SENTENCES} at once"
            )
        name = model or self.text_model
        try:
            served = self.repository.get(name, version)
        except ModelNotFound:
            if version is not None and name in self.repository.model_names():
                raise
            raise ModelNotFound(
                f"the sentence model {name!r} is not in the repository: build it with "
                "`make minilm`, then restart the app"
            ) from None
        preprocessing = served.manifest.preprocessing
        if preprocessing.kind != "text" or not preprocessing.tokenizer:
            raise BadInput(f"model {name!r} does not take text")
        started = time.perf_counter()
        tokenizer_file = self.root / name / preprocessing.tokenizer
        kwargs = {"max_length": preprocessing.max_length} if preprocessing.max_length else {}
        feed = tokenize(cleaned, tokenizer_file, **kwargs)
        wanted = {spec.name for spec in served.manifest.inputs}
        outputs = served.predict({k: v for k, v in feed.items() if k in wanted})
        vectors = np.asarray(outputs[served.scores_output], dtype=np.float32)
        norms = np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        unit = vectors / norms
        matrix = np.clip(unit @ unit.T, -1.0, 1.0)
        return Similarity(
            model=served.name,
            version=served.version,
            sentences=cleaned,
            matrix=matrix.tolist(),
            latency_ms=(time.perf_counter() - started) * 1000.0,
        )
