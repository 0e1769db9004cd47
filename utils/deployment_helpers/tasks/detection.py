"""Detection: boxes, their labels and scores, and the text they read, per picture.

The graph answers a fixed grid per picture (``utils/vision/detection.py`` explains it), so
the dynamic batcher stacks and splits detector rows like any model's; turning the grid
into boxes (peaks, non-maximum suppression, left to right) happens here, after the run,
with the manifest's ``postprocessing`` thresholds.

Boxes are given in pixels of the picture the client sent when the input kind knows it
(an upload: :meth:`~utils.deployment_helpers.tasks.inputs.InputKind.read_upload` reports
each picture's size), else in pixels of the model's input (raw rows sent as JSON).
"""

from __future__ import annotations

from typing import Any

from utils.deployment_helpers.manifest import Manifest
from utils.deployment_helpers.tasks.base import Feed, Row, TaskKind


def picture_sizes(manifest: Manifest, sources: list[Row], rows: int) -> list[tuple[int, int]]:
    """Each row's picture (height, width): from ``sources`` when they give it, else the
    model's own input size (boxes then stay in input pixels)."""
    sizes = [tuple(s["image_size"]) for s in sources if "image_size" in s]
    if len(sizes) == rows:
        return [(int(h), int(w)) for h, w in sizes]
    size = manifest.preprocessing.image_size or []
    return [(int(size[0]), int(size[1]))] * rows if len(size) == 2 else []


class Detection(TaskKind):
    """``{"detections": [{"label", "score", "box": [x0, y0, x1, y1]}, ...], "text"}`` per
    picture, detections left to right."""

    name = "detection"

    def answer(self, manifest: Manifest, outputs: Feed) -> list[Row]:
        return self.answer_for(manifest, outputs, [])

    def answer_for(self, manifest: Manifest, outputs: Feed, sources: list[Row]) -> list[Row]:
        from utils.vision.detection import decode_detections, read_number  # Pillow: lazily

        rows = int(next(iter(outputs.values())).shape[0])
        sizes = picture_sizes(manifest, sources, rows)
        answers = []
        for size, found in zip(sizes, decode_detections(outputs, manifest, sizes), strict=True):
            answers.append(
                {
                    "detections": [
                        {"label": d.label, "score": d.score, "box": list(d.box)} for d in found
                    ],
                    "text": read_number(found),
                    "image_size": {"height": size[0], "width": size[1]},
                }
            )
        return answers

    def summary(self, manifest: Manifest) -> dict[str, Any]:
        return {"labels": list(manifest.labels)}
