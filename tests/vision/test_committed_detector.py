"""models/digits_detector: the committed detector is what its manifest says, and reads numbers."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils.deployment_helpers.manifest import read_manifest
from utils.io import sha256_file
from utils.paths import DEFAULT_MODEL_REPOSITORY
from utils.runtime import create_session
from utils.vision.compose import held_out_numbers
from utils.vision.detection import OUTPUTS, ink_to_detector_input
from utils.vision.evaluation import score_detector
from utils.vision.training_data import as_png_levels

DETECTOR = DEFAULT_MODEL_REPOSITORY / "digits_detector"
MAX_FILE_BYTES = 2 * 1024 * 1024


def _file() -> Path:
    manifest = read_manifest(DETECTOR)
    return DETECTOR / "1" / manifest.version(1).file


def test_the_committed_detector_matches_the_sha256_in_its_manifest() -> None:
    assert read_manifest(DETECTOR).version(1).sha256 == sha256_file(_file())


def test_the_committed_detector_is_small_enough_to_commit() -> None:
    assert _file().stat().st_size < MAX_FILE_BYTES


def test_the_manifest_declares_a_detection_model_on_images_with_its_thresholds() -> None:
    manifest = read_manifest(DETECTOR)
    assert manifest.task == "detection"
    assert manifest.preprocessing.kind == "image" and manifest.preprocessing.image_size
    assert manifest.postprocessing.threshold and manifest.postprocessing.iou_threshold
    assert [o.name for o in manifest.outputs] == list(OUTPUTS)


def test_every_output_has_a_fixed_shape_per_image_so_batches_can_be_split() -> None:
    for output in read_manifest(DETECTOR).outputs:
        assert output.shape[0] == -1 and all(d > 0 for d in output.shape[1:]), output


def test_an_image_gets_the_same_outputs_alone_and_inside_a_batch() -> None:
    session = create_session(_file())
    numbers = list(held_out_numbers(3, seed=5))
    x = np.stack([ink_to_detector_input(as_png_levels(n.alpha)) for n in numbers])
    batch = session.run(None, {"input": x})
    alone = session.run(None, {"input": x[1:2]})
    for together, single in zip(batch, alone, strict=True):
        assert np.abs(together[1:2] - single).max() < 1e-4


def test_the_detector_reads_most_held_out_numbers_exactly() -> None:
    """40 numbers of another seed than the manifest's 300: a quick check of the path."""
    manifest = read_manifest(DETECTOR)
    score = score_detector(_file(), manifest, list(held_out_numbers(40, seed=3)))
    assert score.recall() >= 0.9
    assert score.number_accuracy() >= manifest.version(1).metrics["number_accuracy"] - 0.15


@pytest.mark.slow
def test_the_detector_reads_as_many_numbers_as_its_manifest_records() -> None:
    manifest = read_manifest(DETECTOR)
    metrics = manifest.version(1).metrics
    score = score_detector(_file(), manifest, list(held_out_numbers(300, seed=0)))
    assert score.number_accuracy() == pytest.approx(metrics["number_accuracy"], abs=0.01)
    assert score.recall() == pytest.approx(metrics["recall"], abs=0.01)


def test_a_photo_of_a_written_number_is_read_like_the_drawing() -> None:
    """Dark ink on grey paper with a little noise, as a JPEG: the upload path."""
    from utils.vision.detection import decode_detections, image_to_detector_input, read_number

    manifest = read_manifest(DETECTOR)
    session = create_session(_file())
    rng = np.random.default_rng(0)
    read = []
    numbers = list(held_out_numbers(6, seed=9))
    for number in numbers:
        paper = 235.0 - 195.0 * number.alpha + rng.normal(0.0, 4.0, number.alpha.shape)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
        x, size = image_to_detector_input(buffer.getvalue())
        outputs = dict(
            zip(OUTPUTS, session.run(list(OUTPUTS), {"input": x[np.newaxis]}), strict=True)
        )
        read.append(read_number(decode_detections(outputs, manifest, size)[0]))
    assert sum(r == n.text for r, n in zip(read, numbers, strict=True)) >= 5, read
