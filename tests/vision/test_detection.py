"""utils.vision.detection: the detector's fixed-shape grid becomes boxes, labels and a number."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from utils.deployment_helpers.manifest import Manifest, Postprocessing, Preprocessing, TensorSpec
from utils.errors import BadInput, PayloadTooLarge
from utils.vision.detection import (
    DETECTOR_INPUT,
    STRIDE,
    Detection,
    decode_detections,
    image_to_detector_input,
    letterbox,
    non_max_suppression,
    read_number,
)

ROWS, COLS = DETECTOR_INPUT[0] // STRIDE, DETECTOR_INPUT[1] // STRIDE


def _manifest(threshold: float = 0.3, iou: float = 0.4) -> Manifest:
    return Manifest(
        name="detector",
        task="detection",
        inputs=[TensorSpec(name="input", datatype="FP32", shape=[-1, 1, *DETECTOR_INPUT])],
        outputs=[],
        labels=[str(d) for d in range(10)],
        preprocessing=Preprocessing(kind="image", layout="NCHW", image_size=[*DETECTOR_INPUT]),
        postprocessing=Postprocessing(threshold=threshold, iou_threshold=iou),
    )


def _grid(peaks: list[tuple[int, int, float, int, tuple[float, float]]]) -> dict[str, np.ndarray]:
    """One image's outputs with a peak (row, col, heat, label, (width, height)) each."""
    heat = np.zeros((1, 1, ROWS, COLS), np.float32)
    boxes = np.zeros((1, 4, ROWS, COLS), np.float32)
    classes = np.full((1, 10, ROWS, COLS), 0.1, np.float32)
    for row, col, value, label, (width, height) in peaks:
        heat[0, 0, row, col] = value
        boxes[0, :, row, col] = [col * STRIDE, row * STRIDE, width, height]
        classes[0, :, row, col] = 0.01
        classes[0, label, row, col] = 0.91
    return {"heatmap": heat, "boxes": boxes, "classes": classes}


def test_peaks_become_boxes_sorted_left_to_right_with_their_labels() -> None:
    outputs = _grid([(8, 30, 0.9, 6, (20, 40)), (8, 10, 0.8, 2, (20, 40))])
    found = decode_detections(outputs, _manifest(), DETECTOR_INPUT)[0]
    assert [d.label for d in found] == ["2", "6"]
    assert found[0].box == (30.0, 12.0, 50.0, 52.0)


def test_boxes_are_given_in_pixels_of_the_original_picture() -> None:
    """A 280x840 picture is letterboxed at scale 64/280: boxes scale back by 280/64."""
    outputs = _grid([(8, 24, 0.9, 3, (32, 48))])
    found = decode_detections(outputs, _manifest(), (280, 840))[0]
    x0, y0, x1, y1 = found[0].box
    assert (x0, x1) == pytest.approx((80 * 280 / 64, 112 * 280 / 64), abs=0.1)
    assert (y0, y1) == pytest.approx((8 * 280 / 64, 56 * 280 / 64), abs=0.1)


def test_a_peak_below_the_manifests_threshold_is_dropped() -> None:
    outputs = _grid([(8, 10, 0.25, 1, (20, 40)), (8, 30, 0.35, 7, (20, 40))])
    found = decode_detections(outputs, _manifest(threshold=0.3), DETECTOR_INPUT)[0]
    assert [d.label for d in found] == ["7"]


def test_two_peaks_on_one_digit_give_one_box() -> None:
    outputs = _grid([(8, 10, 0.9, 4, (24, 40)), (8, 12, 0.7, 4, (24, 40))])
    found = decode_detections(outputs, _manifest(iou=0.4), DETECTOR_INPUT)[0]
    assert len(found) == 1 and found[0].score == pytest.approx(0.9)


def test_each_image_of_a_batch_is_decoded_with_its_own_size() -> None:
    one = _grid([(8, 24, 0.9, 3, (32, 48))])
    batch = {name: np.concatenate([one[name], one[name]]) for name in one}
    small, large = decode_detections(batch, _manifest(), [(64, 192), (128, 384)])
    assert large[0].box == pytest.approx(tuple(2 * v for v in small[0].box))


def test_a_batch_with_the_wrong_number_of_sizes_is_refused() -> None:
    one = _grid([])
    batch = {name: np.concatenate([one[name]] * 3) for name in one}
    with pytest.raises(BadInput, match="3"):
        decode_detections(batch, _manifest(), [(64, 192), (64, 192)])


def test_non_max_suppression_keeps_the_best_of_overlapping_boxes_only() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10]], dtype=np.float64)
    assert non_max_suppression(boxes, np.array([0.5, 0.9, 0.6]), 0.4) == [1, 2]


def test_read_number_reads_the_labels_left_to_right_whatever_their_order() -> None:
    found = [
        Detection("6", 0.9, (300.0, 0.0, 340.0, 50.0), 0.9),
        Detection("2", 0.9, (0.0, 0.0, 40.0, 50.0), 0.9),
        Detection("0", 0.9, (100.0, 0.0, 140.0, 50.0), 0.9),
        Detection("2", 0.9, (200.0, 0.0, 240.0, 50.0), 0.9),
    ]
    assert read_number(found) == "2026"


def test_a_wide_picture_is_letterboxed_into_the_detector_input_with_its_size() -> None:
    pad = np.zeros((280, 840, 4), np.uint8)
    pad[100:180, 20:60, 3] = 255  # a stroke near the left edge
    buffer = io.BytesIO()
    Image.fromarray(pad, "RGBA").save(buffer, "PNG")
    x, size = image_to_detector_input(buffer.getvalue())
    assert x.shape == (1, *DETECTOR_INPUT) and x.dtype == np.float32 and size == (280, 840)
    fit = letterbox(size, DETECTOR_INPUT)
    assert x[0, :, : int(20 * fit.scale)].max() == 0.0  # paper left of the stroke
    assert x[0, int(110 * fit.scale), int(40 * fit.scale)] == pytest.approx(1.0)


def test_an_upload_over_the_byte_limit_is_refused_before_decoding() -> None:
    with pytest.raises(PayloadTooLarge, match="byte limit"):
        image_to_detector_input(b"\x89PNG" + bytes(2000), max_bytes=1000)
