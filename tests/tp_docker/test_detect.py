"""Reading a number through both apps: the API's ``POST /detect`` (a live uvicorn server)
and the page's ``POST /api/detect`` (the Flask app) are one data-plane door.

Each test runs against both: the same picture gets the same contract (detections left to
right with label, score and a box in the uploaded picture's pixels; the number as text),
and the same bad upload the same 4xx.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tp_docker.tp_docker_server import LiveServer, settings_for, start_server
from TP_Flask.app import create_app as create_flask_app
from TP_Flask.settings import Settings as FlaskSettings
from utils.paths import DEFAULT_MODEL_REPOSITORY
from utils.vision.compose import Composition, held_out_numbers
from utils.vision.detection import box_iou

MAX_UPLOAD_BYTES = 256 * 1024
Post = Callable[..., tuple[int, dict[str, Any]]]


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed detector and one digits classifier (to ask the wrong model)."""
    root = tmp_path_factory.mktemp("detect") / "models"
    for name in ("digits_detector", "digits_torch"):
        shutil.copytree(DEFAULT_MODEL_REPOSITORY / name, root / name)
    return root


@pytest.fixture(scope="module")
def api(repository: Path) -> Iterator[LiveServer]:
    live = start_server(settings_for(repository, max_upload_bytes=MAX_UPLOAD_BYTES))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def page(repository: Path) -> Any:
    settings = FlaskSettings(
        model_repository=repository,
        log_format="text",
        rate_limit="",
        max_upload_bytes=MAX_UPLOAD_BYTES,
    )
    return create_flask_app(settings).test_client()


@pytest.fixture(params=["api", "page"])
def post(request: pytest.FixtureRequest) -> Post:
    """``post(files=..., data=...)`` on one app's detect door: (status, JSON body)."""
    if request.param == "api":
        api: LiveServer = request.getfixturevalue("api")

        def to_api(**kwargs: Any) -> tuple[int, dict[str, Any]]:
            response = httpx.post(api.url + "/detect", timeout=30, **kwargs)
            return response.status_code, response.json()

        return to_api
    client = request.getfixturevalue("page")

    def to_page(
        files: dict[str, tuple[str, bytes, str]] | None = None,
        data: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        if content is not None:
            response = client.post("/api/detect", data=content, headers=headers)
        else:
            fields: dict[str, Any] = dict(data or {})
            for name, (filename, blob, _) in (files or {}).items():
                fields[name] = (io.BytesIO(blob), filename)
            response = client.post("/api/detect", data=fields, content_type="multipart/form-data")
        return response.status_code, response.get_json()

    return to_page


def picture(blob: bytes, name: str = "number.png") -> dict[str, tuple[str, bytes, str]]:
    return {"image": (name, blob, "image/png")}


NUMBERS = list(held_out_numbers(4, seed=11))
"""Held-out numbers (evaluation writers, 3 to 5 digits): '1176', '51027', '943', '137'."""


def _matched(found: list[dict[str, Any]], number: Composition, scale: float) -> list[float]:
    """Each true digit's best IoU among the boxes found (true boxes scaled by ``scale``)."""
    boxes = np.array([d["box"] for d in found], dtype=np.float64)
    return [float(box_iou(np.array(b) * scale, boxes).max()) for b in number.boxes]


@pytest.mark.parametrize("number", NUMBERS, ids=[n.text for n in NUMBERS])
def test_a_drawn_number_is_read_exactly_digit_by_digit_left_to_right(
    post: Post, number: Composition
) -> None:
    status, body = post(files=picture(number.to_png()))
    assert status == 200, body
    assert body["text"] == number.text
    assert [d["label"] for d in body["detections"]] == [str(v) for v in number.labels]


def test_each_detection_has_a_label_a_score_and_a_box_in_the_pictures_pixels(post: Post) -> None:
    number = NUMBERS[1]
    status, body = post(files=picture(number.to_png()))
    assert status == 200
    for detection in body["detections"]:
        assert set(detection) == {"label", "score", "box"}
        assert 0.0 < detection["score"] <= 1.0
    assert min(_matched(body["detections"], number, 1.0)) >= 0.5
    assert body["image_size"] == {"height": 280, "width": 840}


def test_boxes_follow_the_picture_when_it_is_uploaded_larger(post: Post) -> None:
    """The same drawing at 1.5x (1260x420): boxes come back in the larger picture's pixels."""
    number = NUMBERS[0]
    status, body = post(files=picture(number.to_png(scale=1.5)))
    assert status == 200 and body["text"] == number.text
    assert body["image_size"] == {"height": 420, "width": 1260}
    assert min(_matched(body["detections"], number, 1.5)) >= 0.5
    assert max(d["box"][2] for d in body["detections"]) > 840  # not the 840 px pad's


def test_a_photo_of_dark_ink_on_light_paper_is_read_like_the_drawing(post: Post) -> None:
    number = NUMBERS[2]
    paper = np.clip(235.0 - 195.0 * number.alpha, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(paper).save(buffer, "JPEG", quality=90)
    status, body = post(files={"image": ("photo.jpg", buffer.getvalue(), "image/jpeg")})
    assert status == 200 and body["text"] == number.text


def test_the_answer_names_the_model_that_read_it(post: Post) -> None:
    status, body = post(files=picture(NUMBERS[3].to_png()), data={"model": "digits_detector"})
    assert status == 200
    assert (body["model"], body["version"], body["task"]) == ("digits_detector", 1, "detection")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _corrupt() -> bytes:
    data = bytearray(NUMBERS[0].to_png())
    data[len(data) // 2 : len(data) // 2 + 32] = bytes(range(32))
    return bytes(data)


BAD_UPLOADS: dict[str, tuple[dict[str, Any], int, str]] = {
    "not an image": (
        {"files": picture(b"these are my notes, not a picture", "notes.png")},
        415,
        "not an image",
    ),
    "a corrupt PNG": ({"files": picture(_corrupt())}, 400, "image"),
    "too many pixels": (
        {"files": picture(_png(Image.new("L", (5000, 5000), 255)))},
        413,
        "pixels",
    ),
    "too many bytes": (
        {"files": picture(b"\x89PNG\r\n\x1a\n" + bytes(MAX_UPLOAD_BYTES))},
        413,
        "limit",
    ),
    "an empty drawing": (
        {"files": picture(_png(Image.new("RGBA", (840, 280), (0, 0, 0, 0))))},
        400,
        "empty",
    ),
    "an empty file": ({"files": picture(b"")}, 400, "empty"),
    "no image field": ({"files": {"photo": ("n.png", b"x", "image/png")}}, 400, "'image'"),
    "a classifier named": (
        {"files": picture(NUMBERS[0].to_png()), "data": {"model": "digits_torch"}},
        400,
        "not a detection",
    ),
    "an unknown model": (
        {"files": picture(NUMBERS[0].to_png()), "data": {"model": "nope"}},
        404,
        "nope",
    ),
    "JSON instead of multipart": (
        {"content": b'{"image": "x"}', "headers": {"Content-Type": "application/json"}},
        415,
        "multipart",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_a_bad_upload_is_refused_with_a_4xx_that_says_why(post: Post, case: str) -> None:
    kwargs, status, words = BAD_UPLOADS[case]
    got, body = post(**kwargs)
    assert (got, set(body)) == (status, {"error"}), body
    assert words in body["error"]


def test_both_apps_give_the_same_answer_to_the_same_picture(api: LiveServer, page: Any) -> None:
    blob = NUMBERS[1].to_png()
    from_api = httpx.post(api.url + "/detect", files=picture(blob), timeout=30).json()
    from_page = page.post(
        "/api/detect",
        data={"image": (io.BytesIO(blob), "number.png")},
        content_type="multipart/form-data",
    ).get_json()
    keys = ("detections", "text", "image_size", "model", "version")
    assert {k: from_api[k] for k in keys} == {k: from_page[k] for k in keys}


def test_v2_infer_of_the_detector_still_takes_its_raw_tensor(api: LiveServer) -> None:
    from utils.vision.detection import ink_to_detector_input

    x = ink_to_detector_input(NUMBERS[0].alpha)[np.newaxis]
    body = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                        "data": x.ravel().tolist()}]}  # fmt: skip
    response = httpx.post(api.url + "/v2/models/digits_detector/infer", json=body, timeout=30)
    assert response.status_code == 200
    shapes = {o["name"]: o["shape"] for o in response.json()["outputs"]}
    assert shapes == {
        "heatmap": [1, 1, 16, 48],
        "boxes": [1, 4, 16, 48],
        "classes": [1, 10, 16, 48],
    }


def test_plain_json_rows_of_the_input_get_boxes_in_input_pixels(api: LiveServer) -> None:
    from utils.vision.detection import ink_to_detector_input

    number = NUMBERS[0]
    x = ink_to_detector_input(number.alpha)[np.newaxis]
    response = httpx.post(
        api.url + "/predict",
        json={"model": "digits_detector", "inputs": x.tolist()},
        timeout=30,
    )
    assert response.status_code == 200
    (answer,) = response.json()["predictions"]
    assert answer["text"] == number.text
    assert answer["image_size"] == {"height": 64, "width": 192}


def test_the_api_documents_detect_as_a_multipart_picture(api: LiveServer) -> None:
    operation = httpx.get(api.url + "/openapi.json").json()["paths"]["/detect"]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["image"] and body["properties"]["image"]["format"] == "binary"
