"""The detector in the data plane: the ``image`` input kind and the ``detection`` task kind.

The apps' contract is in tests/tp_docker/test_detect.py (both doors) and the page's in
tests/tp_flask/test_flask_browser_detect.py; here, the pieces one at a time.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from utils.deployment_helpers.dataplane import DataPlane, DataPlaneSettings
from utils.deployment_helpers.manifest import read_manifest
from utils.deployment_helpers.observation import RequestContext, RequestOutcome
from utils.deployment_helpers.tasks import UploadLimits, input_kind_of, task_kind_of
from utils.errors import UnsupportedMediaType
from utils.monitoring.outcomes import record_of
from utils.paths import DEFAULT_MODEL_REPOSITORY, TESTDATA
from utils.vision.compose import held_out_numbers
from utils.vision.detection import DETECTOR_INPUT

from .test_detection import _grid, _manifest

LIMITS = UploadLimits(max_bytes=1024 * 1024, max_pixels=4096 * 4096)


def test_the_committed_detector_takes_images_and_answers_detections() -> None:
    manifest = read_manifest(DEFAULT_MODEL_REPOSITORY / "digits_detector")
    assert (input_kind_of(manifest).name, input_kind_of(manifest).widget) == ("image", "picture")
    assert task_kind_of(manifest).name == "detection"


def test_rows_sent_as_json_get_boxes_in_the_models_input_pixels() -> None:
    outputs = _grid([(8, 10, 0.8, 2, (20, 40))])
    (answer,) = task_kind_of(_manifest()).answer(_manifest(), outputs)
    assert answer["detections"] == [{"label": "2", "score": 0.8, "box": [30.0, 12.0, 50.0, 52.0]}]
    assert answer["image_size"] == {"height": 64, "width": 192}


def test_an_uploads_rows_get_boxes_in_the_pictures_pixels() -> None:
    """A 280x840 picture is the input scaled by 280/64: so are its boxes."""
    outputs = _grid([(8, 10, 0.8, 2, (20, 40))])
    sources = [{"image_size": [280, 840]}]
    (answer,) = task_kind_of(_manifest()).answer_for(_manifest(), outputs, sources)
    assert answer["detections"][0]["box"] == pytest.approx([131.2, 52.5, 218.8, 227.5], abs=0.1)
    assert (answer["text"], answer["image_size"]) == ("2", {"height": 280, "width": 840})


def _served(layout: str) -> SimpleNamespace:
    manifest = _manifest().model_copy(deep=True)
    manifest.preprocessing.layout = layout
    return SimpleNamespace(name="detector", manifest=manifest)


@pytest.mark.parametrize(
    ("layout", "shape"),
    [("NCHW", (1, 1, *DETECTOR_INPUT)), ("NHWC", (1, *DETECTOR_INPUT, 1))],
)
def test_an_upload_is_laid_out_as_the_manifest_says(layout: str, shape: tuple[int, ...]) -> None:
    sample = (TESTDATA / "number_1176.png").read_bytes()
    feed, sources = input_kind_of(_manifest()).read_upload(_served(layout), sample, LIMITS)
    assert feed["input"].shape == shape
    assert sources == [{"image_size": [280, 840]}]


def test_a_picture_is_profiled_for_drift_by_its_share_of_ink_only() -> None:
    kind = input_kind_of(_manifest())
    sample = (TESTDATA / "number_1176.png").read_bytes()
    feed = kind.feed_from_upload(_served("NCHW"), sample, LIMITS)
    features = kind.features(_served("NCHW"), feed)
    assert features is not None and features.shape == (1, 1)
    assert 0.0 < float(features[0, 0]) < 0.5


def test_the_sample_number_in_testdata_is_the_held_out_number_1176() -> None:
    """tests/testdata/number_1176.png, which the READMEs' curl examples send."""
    number = next(held_out_numbers(1, seed=11))
    image = Image.open(io.BytesIO((TESTDATA / "number_1176.png").read_bytes()))
    assert number.text == "1176"
    assert np.array_equal(np.asarray(image)[..., 3], np.round(number.alpha * 255).astype(np.uint8))


@pytest.fixture(scope="module")
def plane_and_outcomes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DataPlane, list[RequestOutcome]]]:
    outcomes: list[RequestOutcome] = []
    settings = DataPlaneSettings(
        model_repository=DEFAULT_MODEL_REPOSITORY, models=("digits_detector",)
    )
    plane = DataPlane(settings, observers=[outcomes.append])
    plane.start_background()
    yield plane, outcomes
    plane.stop_background()


def test_a_reading_is_logged_with_a_small_input_profile_and_no_class(
    plane_and_outcomes: tuple[DataPlane, list[RequestOutcome]],
) -> None:
    plane, outcomes = plane_and_outcomes
    data = (TESTDATA / "number_1176.png").read_bytes()
    answer = plane.call(plane.detect(None, None, data, RequestContext("r-1", "me", "detect")))
    record = record_of(outcomes[-1])
    assert answer["text"] == "1176" and record.status == 200
    assert record.inputs is not None and np.asarray(record.inputs["features"]).shape == (1, 1)
    assert record.labels is None


def test_a_server_without_pillow_refuses_pictures_with_415_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Vercel bundle leaves Pillow out: v2 still serves the detector, pictures are 415."""
    monkeypatch.setitem(sys.modules, "utils.vision.detection", None)  # import now fails
    sample = (TESTDATA / "number_1176.png").read_bytes()
    with pytest.raises(UnsupportedMediaType, match="Pillow"):
        input_kind_of(_manifest()).read_upload(_served("NCHW"), sample, LIMITS)
