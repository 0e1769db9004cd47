"""The JSON API of the Flask app: /api/predict, /api/models, /api/health, and its errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from flask.testing import FlaskClient

from utils.digits import load_split


def upload(client: FlaskClient, data: bytes, *, field: str = "image", **form: str):
    return client.post(
        "/api/predict",
        data={field: (io.BytesIO(data), "digit.png"), **form},
        content_type="multipart/form-data",
    )


def test_models_lists_every_version_of_the_repository_with_its_state(
    client: FlaskClient, model_repository
) -> None:
    names = {p.parent.name for p in model_repository.glob("*/manifest.json")}
    body = client.get("/api/models").get_json()
    assert {m["name"] for m in body["models"]} == names
    assert all(m["state"] in ("READY", "UNAVAILABLE") for m in body["models"])


def test_models_names_a_ready_digits_model_as_the_default(client: FlaskClient) -> None:
    default = client.get("/api/models").get_json()["default_digit_model"]
    assert default["state"] == "READY" and default["input_kind"] == "digits-8x8"


def test_predict_reads_held_out_digits_sent_as_json_pixels(client: FlaskClient) -> None:
    split = load_split()
    images, labels = split.x_test[:60], split.y_test[:60]
    response = client.post("/api/predict", json={"inputs": images.tolist()})
    assert response.status_code == 200
    predicted = [int(p["label"]) for p in response.get_json()["predictions"]]
    assert np.mean(np.array(predicted) == labels) >= 0.9


def test_predict_answers_ten_probabilities_that_sum_to_one(client: FlaskClient) -> None:
    image = load_split().x_test[0]
    body = client.post("/api/predict", json={"inputs": image.tolist()}).get_json()
    probabilities = body["predictions"][0]["probabilities"]
    assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1.0, abs=1e-4)


def test_predict_reads_an_uploaded_image_of_a_3(client: FlaskClient, digit_3_png: bytes) -> None:
    response = upload(client, digit_3_png)
    assert response.status_code == 200
    assert response.get_json()["predictions"][0]["label"] == "3"


def test_predict_returns_the_8x8_input_the_model_saw(client: FlaskClient, one_stroke_png) -> None:
    pixels = np.array(upload(client, one_stroke_png).get_json()["predictions"][0]["pixels"])
    assert pixels.shape == (8, 8) and pixels.min() >= 0.0 and pixels.max() == pytest.approx(1.0)


def test_predict_reports_server_side_latency(client: FlaskClient, one_stroke_png) -> None:
    body = upload(client, one_stroke_png).get_json()
    assert 0 < body["inference_ms"] <= body["latency_ms"]


def test_predict_uses_the_model_and_version_asked_for(client: FlaskClient) -> None:
    image = load_split().x_test[0].tolist()
    choices = [
        m
        for m in client.get("/api/models").get_json()["models"]
        if m["state"] == "READY" and m["input_kind"] == "digits-8x8"
    ]
    for choice in choices:
        body = client.post(
            "/api/predict",
            json={"inputs": image, "model": choice["name"], "version": choice["version"]},
        ).get_json()
        assert (body["model"], body["version"]) == (choice["name"], choice["version"])


def test_health_is_ok_when_models_serve(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200 and response.get_json()["ready_versions"] >= 1


# -- every bad input: a JSON error with the right code, never a 500 --------------------


@pytest.mark.parametrize(
    ("sample", "status", "words"),
    [
        ("not_an_image", 415, "not an image"),
        ("unidentifiable_png", 415, "not an image"),
        ("corrupt_png", 400, "corrupt"),
        ("truncated_png", 400, "truncated"),
        ("huge_image_png", 413, "pixel"),
        ("blank_canvas_png", 400, "empty"),
    ],
)
def test_predict_refuses_a_bad_image_with_a_json_error(
    client: FlaskClient, request: pytest.FixtureRequest, sample: str, status: int, words: str
) -> None:
    data = (
        b"hello, I am a text file\n"
        if sample == "not_an_image"
        else request.getfixturevalue(sample)
    )
    response = upload(client, data)
    assert response.status_code == status
    assert words in response.get_json()["error"]


def test_predict_refuses_a_body_over_the_upload_limit_with_413(client: FlaskClient) -> None:
    response = upload(client, b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert "limit" in response.get_json()["error"]


def test_predict_names_the_expected_field_when_the_upload_uses_another(
    client: FlaskClient, digit_3_png: bytes
) -> None:
    response = upload(client, digit_3_png, field="file")
    assert response.status_code == 400
    assert "'image'" in response.get_json()["error"] and "'file'" in response.get_json()["error"]


def test_predict_names_the_expected_field_when_json_uses_another(client: FlaskClient) -> None:
    response = client.post("/api/predict", json={"pixels": [[0.0] * 8] * 8})
    assert response.status_code == 400
    assert "'inputs'" in response.get_json()["error"]


def test_predict_with_an_unknown_model_is_404(client: FlaskClient, digit_3_png: bytes) -> None:
    response = upload(client, digit_3_png, model="no_such_model")
    assert response.status_code == 404
    assert "no_such_model" in response.get_json()["error"]


def test_predict_with_an_unknown_version_is_404(client: FlaskClient) -> None:
    default = client.get("/api/models").get_json()["default_digit_model"]
    response = client.post(
        "/api/predict", json={"inputs": [[0.5] * 64], "model": default["name"], "version": 999}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"inputs": [[0.5] * 7] * 8}, "shape"),
        ({"inputs": [[2.0] * 8] * 8}, "[0, 1]"),
        ({"inputs": "eight by eight"}, "numbers"),
        ([1, 2, 3], "object"),
    ],
)
def test_predict_refuses_malformed_json_tensors_with_400(
    client: FlaskClient, body: object, words: str
) -> None:
    response = client.post("/api/predict", json=body)
    assert response.status_code == 400
    assert words in response.get_json()["error"]


def test_predict_with_a_version_that_is_not_a_number_is_404_as_in_the_api(
    client: FlaskClient,
) -> None:
    response = client.post("/api/predict", json={"inputs": [[0.5] * 8] * 8, "version": "newest"})
    assert response.status_code == 404
    assert "no version 'newest'" in response.get_json()["error"]


def test_predict_refuses_invalid_json_with_400(client: FlaskClient) -> None:
    response = client.post("/api/predict", data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.get_json()["error"]


def test_predict_refuses_a_body_that_is_neither_json_nor_multipart_with_415(
    client: FlaskClient,
) -> None:
    response = client.post("/api/predict", data=b"1,2,3", content_type="text/csv")
    assert response.status_code == 415


def test_the_app_still_answers_after_every_bad_input(
    client: FlaskClient, corrupt_png, truncated_png, huge_image_png, blank_canvas_png, digit_3_png
) -> None:
    for bad in (b"text", corrupt_png, truncated_png, huge_image_png, blank_canvas_png):
        assert upload(client, bad).status_code < 500
    assert upload(client, digit_3_png, field="photo").status_code == 400
    assert upload(client, digit_3_png, model="nope").status_code == 404
    response = upload(client, digit_3_png)
    assert response.status_code == 200 and response.get_json()["predictions"][0]["label"] == "3"


def test_unknown_api_route_answers_json_404(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_api_needs_no_csrf_token(client: FlaskClient, digit_3_png: bytes) -> None:
    assert upload(client, digit_3_png).status_code == 200
