"""How well a digits model reads drawings: the page's path, measured per writer style.

A drawing goes the way the page sends it: the canvas PNG (:func:`strokes.canvas_png`)
through :func:`utils.preprocessing.image_to_digit` to the model. Nothing is shortcut, so
a change to the preprocessing, the PNG encoding or the model shows up here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from utils.preprocessing import image_to_digit
from utils.vision.detection import Detection
from utils.vision.strokes import Drawing, canvas_png

if TYPE_CHECKING:
    from utils.deployment_helpers.manifest import Manifest
    from utils.vision.compose import Composition


@dataclass(frozen=True)
class DrawingSet:
    """Drawings of one writer style, reduced to 8x8 by the page's path."""

    writer: str
    images: NDArray[np.float32]
    labels: NDArray[np.int64]


@dataclass
class ModelScore:
    """One model version's accuracy on the held-out digits and on each writer's drawings."""

    model: str
    version: int
    variant: str
    held_out_accuracy: float
    drawings: dict[str, float] = field(default_factory=dict)

    @property
    def drawings_accuracy(self) -> float:
        """Mean over writer styles (each style holds the same number of drawings)."""
        return float(np.mean(list(self.drawings.values()))) if self.drawings else 0.0


def through_the_page(writer: str, drawings: list[Drawing]) -> DrawingSet:
    """Encode each drawing as the canvas PNG and reduce it with ``image_to_digit``."""
    images = np.stack([image_to_digit(canvas_png(d)) for d in drawings]).astype(np.float32)
    labels = np.asarray([d.label for d in drawings], dtype=np.int64)
    return DrawingSet(writer, images, labels)


def score_model(
    model: str,
    version: int,
    variant: str,
    model_path: Path,
    sets: list[DrawingSet],
) -> ModelScore:
    """Accuracy of one ONNX digits model on the held-out split and on each drawing set."""
    from utils.compression.evaluate import digits_accuracy, predict_labels

    score = ModelScore(model, version, variant, digits_accuracy(model_path))
    for drawing_set in sets:
        predicted = predict_labels(model_path, drawing_set.images)
        score.drawings[drawing_set.writer] = float((predicted == drawing_set.labels).mean())
    return score


@dataclass
class LabelCounts:
    """What one source of labels (the detector's class head, or a classifier) got right."""

    correct: int = 0
    """Detections on a true digit's box (IoU >= 0.5) whose label is also right."""
    numbers_read: int = 0
    """Numbers whose text, left to right, is exactly the written one."""


@dataclass
class DetectorScore:
    """Detection quality on held-out numbers: per digit at IoU >= 0.5, and whole numbers.

    ``labels`` holds the counts per source of labels: ``"detector"`` for the detector's
    own class head, and one entry per classifier that read each box.
    """

    numbers: int
    digits: int
    detections: int = 0
    located: int = 0
    """Detections matched to a true digit's box (IoU >= 0.5), whatever their label."""
    labels: dict[str, LabelCounts] = field(default_factory=dict)

    def precision(self, source: str = "detector") -> float:
        return self.labels[source].correct / self.detections if self.detections else 0.0

    def recall(self, source: str = "detector") -> float:
        return self.labels[source].correct / self.digits if self.digits else 0.0

    def number_accuracy(self, source: str = "detector") -> float:
        return self.labels[source].numbers_read / self.numbers if self.numbers else 0.0

    @property
    def location_precision(self) -> float:
        return self.located / self.detections if self.detections else 0.0

    @property
    def location_recall(self) -> float:
        return self.located / self.digits if self.digits else 0.0


def match_detections(
    detections: list[Detection], boxes: list[tuple[float, float, float, float]]
) -> list[int | None]:
    """For each detection (best score first), the index of the unmatched true box it
    overlaps most at IoU >= 0.5, or None."""
    from utils.vision.detection import box_iou

    truth = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    free = np.ones(len(truth), dtype=bool)
    matched: list[int | None] = [None] * len(detections)
    for index in sorted(range(len(detections)), key=lambda i: -detections[i].score):
        if not free.any():
            break
        overlap = box_iou(np.asarray(detections[index].box, dtype=np.float64), truth)
        overlap[~free] = 0.0
        best = int(overlap.argmax())
        if overlap[best] >= 0.5:
            matched[index] = best
            free[best] = False
    return matched


def _count(
    counts: LabelCounts, found: list[Detection], matched: list[int | None], truth: list[int]
) -> None:
    from utils.vision.detection import read_number

    counts.correct += sum(
        m is not None and d.label == str(truth[m]) for d, m in zip(found, matched, strict=True)
    )
    counts.numbers_read += read_number(found) == "".join(str(t) for t in truth)


def score_detector(
    model_path: Path,
    manifest: Manifest,
    numbers: list[Composition],
    *,
    classifiers: Mapping[str, Path] | None = None,
) -> DetectorScore:
    """Run the detector the serving way (PNG -> :func:`image_to_detector_input` -> ONNX ->
    :func:`decode_detections`) on each number and count what it got right; each of
    ``classifiers`` (name -> 8x8 digits model) also reads every box."""
    from utils.compression.evaluate import predict_labels
    from utils.preprocessing import decode_image, ink_image
    from utils.runtime import create_session
    from utils.vision.detection import (
        crop_digits,
        decode_detections,
        ink_to_detector_input,
        relabel,
    )
    from utils.vision.strokes import to_png

    session = create_session(model_path)
    names = [o.name for o in session.get_outputs()]
    input_name = session.get_inputs()[0].name
    size = manifest.preprocessing.image_size or []
    chosen = dict(classifiers or {})
    score = DetectorScore(len(numbers), sum(len(n.labels) for n in numbers))
    score.labels = {source: LabelCounts() for source in ["detector", *chosen]}
    for number in numbers:
        data = to_png(number.alpha)
        ink = ink_image(decode_image(data, max_bytes=1 << 24, max_pixels=1 << 24))
        x = ink_to_detector_input(ink, (size[0], size[1]))[np.newaxis]
        outputs = dict(zip(names, session.run(None, {input_name: x}), strict=True))
        found = decode_detections(outputs, manifest, ink.shape[:2])[0]
        matched = match_detections(found, number.boxes)
        score.detections += len(found)
        score.located += sum(m is not None for m in matched)
        _count(score.labels["detector"], found, matched, number.labels)
        crops = crop_digits(ink, found) if chosen and found else None
        for name, path in chosen.items():
            read = found
            if crops is not None:
                predicted = predict_labels(path, crops)
                read = relabel(found, [str(p) for p in predicted], [1.0] * len(found))
            _count(score.labels[name], read, matched, number.labels)
    return score
