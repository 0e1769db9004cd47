"""From a picture of a written number to boxes, labels and the number's text.

The detector (``models/digits_detector``, built by TP_ONNX/use_cases/vision/
build_detector.py) sees the picture's ink letterboxed into a fixed ``image_size`` and
answers a dense grid per image, so its outputs have a fixed shape and the dynamic batcher
can stack and split rows like any other model's:

- ``heatmap`` [N, 1, h, w]: how likely a digit's centre lies in each cell (sigmoid);
- ``boxes`` [N, 4, h, w]: the box centred near that cell, (cx, cy, width, height) in
  pixels of the model's input;
- ``classes`` [N, 10, h, w]: the digit's class probabilities at that cell (softmax).

:func:`decode_detections` keeps the heatmap's local maxima above the manifest's
``postprocessing.threshold``, drops overlapping boxes (non-maximum suppression at
``iou_threshold``), maps the boxes back to the original picture's pixels and sorts them
left to right; :func:`read_number` joins their labels. Numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from utils.errors import BadInput
from utils.preprocessing import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, decode_image, ink_image

if TYPE_CHECKING:
    from utils.deployment_helpers.manifest import Manifest

DETECTOR_INPUT: Final[tuple[int, int]] = (64, 192)
"""(height, width) of the detector's input: 3:1, the wide pad's shape."""

STRIDE: Final[int] = 4
"""Input pixels per grid cell: the grid is (16, 48) for a 64x192 input."""

DEFAULT_THRESHOLD: Final[float] = 0.3
DEFAULT_IOU_THRESHOLD: Final[float] = 0.4

OUTPUTS: Final[tuple[str, str, str]] = ("heatmap", "boxes", "classes")


@dataclass(frozen=True)
class Detection:
    """One digit found: its label, score (heatmap peak), box [x0, y0, x1, y1] in pixels of
    the original picture, and the class probability behind the label."""

    label: str
    score: float
    box: tuple[float, float, float, float]
    class_probability: float


@dataclass(frozen=True)
class Letterbox:
    """How a picture of ``image_size`` sits in the model's input: scaled by ``scale``
    (aspect kept), then offset by (``pad_x``, ``pad_y``) to centre it."""

    scale: float
    pad_x: float
    pad_y: float
    resized: tuple[int, int]
    """(height, width) of the scaled picture inside the input."""


def letterbox(image_size: tuple[int, int], input_size: tuple[int, int]) -> Letterbox:
    """The letterbox of an ``image_size`` (height, width) picture in ``input_size``."""
    height, width = image_size
    in_height, in_width = input_size
    if height <= 0 or width <= 0:
        raise BadInput(f"an image of {width}x{height} pixels has nothing to detect")
    scale = min(in_height / height, in_width / width)
    resized = (max(1, round(height * scale)), max(1, round(width * scale)))
    return Letterbox(scale, (in_width - resized[1]) // 2, (in_height - resized[0]) // 2, resized)


def ink_to_detector_input(
    ink: NDArray[np.float32], input_size: tuple[int, int] = DETECTOR_INPUT
) -> NDArray[np.float32]:
    """Letterbox an ink image ([H, W], ink high in [0, 1]) into float32 [1, h, w]."""
    fit = letterbox(ink.shape[:2], input_size)
    image = Image.fromarray(ink.astype(np.float32), mode="F")
    resized = np.asarray(image.resize((fit.resized[1], fit.resized[0]), Image.Resampling.BOX))
    out = np.zeros((1, *input_size), dtype=np.float32)
    top, left = int(fit.pad_y), int(fit.pad_x)
    out[0, top : top + fit.resized[0], left : left + fit.resized[1]] = resized
    return out


def image_to_detector_input(
    data: bytes,
    *,
    input_size: tuple[int, int] = DETECTOR_INPUT,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[NDArray[np.float32], tuple[int, int]]:
    """Decode an uploaded photo or drawing into the detector's input.

    Returns the float32 [1, h, w] input (ink high, letterboxed) and the picture's
    (height, width), which :func:`decode_detections` needs to map boxes back.
    The same limits and refusals as :func:`utils.preprocessing.image_to_digit`.
    """
    ink = ink_image(decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels))
    return ink_to_detector_input(ink, input_size), (ink.shape[0], ink.shape[1])


def box_iou(box: NDArray[np.float64], others: NDArray[np.float64]) -> NDArray[np.float64]:
    """IoU of one [4] box (x0, y0, x1, y1) with each of [K, 4] boxes."""
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    iou: NDArray[np.float64] = inter / np.maximum(area + areas - inter, 1e-9)
    return iou


def non_max_suppression(
    boxes: NDArray[np.float64], scores: NDArray[np.float64], iou_threshold: float
) -> list[int]:
    """Indices of the boxes kept, best first: each drops the later ones it overlaps by
    more than ``iou_threshold`` (class-agnostic: one digit is one box, whatever its label)."""
    order = list(np.argsort(-scores, kind="stable"))
    kept: list[int] = []
    while order:
        best = order.pop(0)
        kept.append(int(best))
        if order:
            overlap = box_iou(boxes[best], boxes[order])
            order = [i for i, o in zip(order, overlap, strict=True) if o <= iou_threshold]
    return kept


def _peaks(heatmap: NDArray[np.float32], threshold: float) -> tuple[NDArray[np.intp], ...]:
    """Cells that are the maximum of their 3x3 neighbourhood and above ``threshold``."""
    padded = np.pad(heatmap, 1, constant_values=-np.inf)
    rows, cols = heatmap.shape
    neighbours = np.max(
        [padded[i : i + rows, j : j + cols] for i in range(3) for j in range(3)], axis=0
    )
    return np.nonzero((heatmap >= neighbours) & (heatmap >= threshold))


def decode_image_detections(
    heatmap: NDArray[np.float32],
    boxes: NDArray[np.float32],
    classes: NDArray[np.float32],
    labels: Sequence[str],
    image_size: tuple[int, int],
    input_size: tuple[int, int],
    *,
    threshold: float,
    iou_threshold: float,
) -> list[Detection]:
    """One image's grid ([1, h, w], [4, h, w], [C, h, w]) to detections, left to right."""
    rows, cols = _peaks(heatmap[0], threshold)
    if rows.size == 0:
        return []
    scores = heatmap[0, rows, cols].astype(np.float64)
    cx, cy, width, height = (boxes[k, rows, cols].astype(np.float64) for k in range(4))
    corners = np.stack([cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2], 1)
    fit = letterbox(image_size, input_size)
    corners = (corners - [fit.pad_x, fit.pad_y, fit.pad_x, fit.pad_y]) / fit.scale
    corners = np.clip(corners, 0.0, [image_size[1], image_size[0]] * 2)
    probabilities = classes[:, rows, cols]
    found = []
    for index in non_max_suppression(corners, scores, iou_threshold):
        best = int(probabilities[:, index].argmax())
        x0, y0, x1, y1 = (round(float(v), 1) for v in corners[index])
        found.append(
            Detection(
                label=labels[best],
                score=round(float(scores[index]), 4),
                box=(x0, y0, x1, y1),
                class_probability=round(float(probabilities[best, index]), 4),
            )
        )
    return sorted(found, key=lambda d: (d.box[0] + d.box[2]) / 2)


def decode_detections(
    outputs: Mapping[str, NDArray[np.float32]],
    manifest: Manifest,
    image_size: tuple[int, int] | Sequence[tuple[int, int]],
) -> list[list[Detection]]:
    """The detector's batch outputs (by name) to detections per image, left to right.

    ``image_size`` is each original picture's (height, width), or one for all; boxes come
    back in those pictures' pixels. Thresholds come from ``manifest.postprocessing``.

    :raise BadInput: an output is missing or the sizes do not match the batch.
    """
    missing = [name for name in OUTPUTS if name not in outputs]
    if missing:
        raise BadInput(f"the detector's outputs lack {', '.join(missing)}")
    heatmaps, boxes, classes = (np.asarray(outputs[name]) for name in OUTPUTS)
    batch = heatmaps.shape[0]
    sizes: list[tuple[int, int]]
    if len(image_size) == 2 and all(isinstance(v, int | np.integer) for v in image_size):
        sizes = [(int(image_size[0]), int(image_size[1]))] * batch  # type: ignore[arg-type]
    else:
        sizes = [(int(h), int(w)) for h, w in image_size]  # type: ignore[misc]
    if len(sizes) != batch:
        raise BadInput(f"{len(sizes)} image sizes for a batch of {batch}")
    input_size = _input_size(manifest)
    post = manifest.postprocessing
    threshold = post.threshold if post.threshold is not None else DEFAULT_THRESHOLD
    iou = post.iou_threshold if post.iou_threshold is not None else DEFAULT_IOU_THRESHOLD
    labels = manifest.labels or [str(i) for i in range(classes.shape[1])]
    return [
        decode_image_detections(
            heatmaps[i],
            boxes[i],
            classes[i],
            labels,
            sizes[i],
            input_size,
            threshold=threshold,
            iou_threshold=iou,
        )
        for i in range(batch)
    ]


def _input_size(manifest: Manifest) -> tuple[int, int]:
    size = manifest.preprocessing.image_size
    if not size or len(size) != 2:
        raise BadInput(f"{manifest.name}: the manifest gives no preprocessing.image_size")
    return int(size[0]), int(size[1])


def crop_digits(ink: NDArray[np.float32], detections: Sequence[Detection]) -> NDArray[np.float32]:
    """Each detection's box cut from the picture's ink and reduced to the 8x8 digit the
    classifiers read (:func:`utils.preprocessing.ink_to_digit`); an inkless box gives zeros."""
    from utils.preprocessing import ink_to_digit

    digits = np.zeros((len(detections), 8, 8), dtype=np.float32)
    for index, detection in enumerate(detections):
        x0, y0, x1, y1 = (round(v) for v in detection.box)
        try:
            digits[index] = ink_to_digit(ink[max(0, y0) : y1, max(0, x0) : x1])
        except BadInput:
            continue
    return digits


def relabel(
    detections: Sequence[Detection], labels: Sequence[str], probabilities: Sequence[float]
) -> list[Detection]:
    """The same boxes with the labels (and their probabilities) a classifier gave them."""
    return [
        Detection(label, d.score, d.box, round(float(p), 4))
        for d, label, p in zip(detections, labels, probabilities, strict=True)
    ]


def read_number(detections: Sequence[Detection]) -> str:
    """The number written: the labels of the detections from left to right."""
    ordered = sorted(detections, key=lambda d: (d.box[0] + d.box[2]) / 2)
    return "".join(d.label for d in ordered)
