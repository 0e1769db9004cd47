"""The prediction page as a browser without JavaScript sees it: forms, CSRF, friendly errors."""

from __future__ import annotations

import html as html_text
import io
import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from TP_Flask.app import create_app
from TP_Flask.settings import Settings


def message_of(html: str) -> str:
    """The text of the page's message box (where errors are shown)."""
    match = re.search(r'<p id="message"[^>]*>(.*?)</p>', html, re.S)
    assert match, "the page has no message box"
    return html_text.unescape(match.group(1).strip())


def post_form(
    client: FlaskClient, token: str, data: bytes, *, field: str = "image", model: str = ""
):
    return client.post(
        "/predict",
        data={"csrf_token": token, "model": model, field: (io.BytesIO(data), "digit.png")},
        content_type="multipart/form-data",
    )


def test_page_offers_a_canvas_an_upload_and_every_ready_digits_model(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    ready = [
        m
        for m in client.get("/api/models").get_json()["models"]
        if m["state"] == "READY" and m["input_kind"] == "digits-8x8"
    ]
    assert '<canvas id="pad"' in html and 'type="file"' in html
    for model in ready:
        assert f'value="{model["name"]}/{model["version"]}"' in html


def test_page_hides_the_sentence_box_when_no_text_model_is_served(
    tmp_path: Path, model_repository: Path
) -> None:
    repository = tmp_path / "models"
    shutil.copytree(model_repository / "digits_torch", repository / "digits_torch")
    app = create_app(Settings(model_repository=repository, log_format="text"))
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'id="text-card"' not in html


def test_page_form_shows_the_prediction_without_javascript(
    client: FlaskClient, csrf_token: str, digit_3_png: bytes
) -> None:
    response = post_form(client, csrf_token, digit_3_png)
    assert response.status_code == 200
    assert re.search(r'id="label" class="big-label">3<', response.get_data(as_text=True))


def test_page_form_without_csrf_token_is_refused_with_a_friendly_page(
    client: FlaskClient, digit_3_png: bytes
) -> None:
    client.get("/")
    response = client.post(
        "/predict",
        data={"image": (io.BytesIO(digit_3_png), "d.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Reload the page" in message_of(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("sample", "status", "words"),
    [
        ("not_an_image", 415, "not an image"),
        ("corrupt_png", 400, "corrupt"),
        ("truncated_png", 400, "truncated"),
        ("huge_image_png", 413, "pixel"),
        ("blank_canvas_png", 400, "empty"),
    ],
)
def test_page_shows_a_friendly_message_for_a_bad_image(
    client: FlaskClient,
    csrf_token: str,
    request: pytest.FixtureRequest,
    sample: str,
    status: int,
    words: str,
) -> None:
    data = b"plain text" if sample == "not_an_image" else request.getfixturevalue(sample)
    response = post_form(client, csrf_token, data)
    assert response.status_code == status
    assert words in message_of(response.get_data(as_text=True))


def test_page_shows_a_friendly_message_for_a_wrong_field_name(
    client: FlaskClient, csrf_token: str, digit_3_png: bytes
) -> None:
    response = post_form(client, csrf_token, digit_3_png, field="picture")
    assert response.status_code == 400
    assert "'image'" in message_of(response.get_data(as_text=True))


def test_page_shows_a_friendly_message_for_an_unknown_model(
    client: FlaskClient, csrf_token: str, digit_3_png: bytes
) -> None:
    response = post_form(client, csrf_token, digit_3_png, model="ghost/1")
    assert response.status_code == 404
    assert "ghost" in message_of(response.get_data(as_text=True))


def test_page_script_requests_get_json_errors(
    client: FlaskClient, csrf_token: str, blank_canvas_png: bytes
) -> None:
    response = client.post(
        "/predict",
        data={"model": "", "image": (io.BytesIO(blank_canvas_png), "drawing.png")},
        headers={"Accept": "application/json", "X-CSRFToken": csrf_token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "empty" in response.get_json()["error"]


def test_page_upload_over_the_limit_shows_a_413_page(client: FlaskClient, csrf_token: str) -> None:
    response = post_form(client, csrf_token, b"\0" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert "limit" in response.get_data(as_text=True)


def test_unknown_page_is_a_friendly_404_page(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "The prediction page is at /" in response.get_data(as_text=True)


def test_a_crash_is_a_500_page_with_the_request_id_and_no_stack_trace(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/explode")
    def explode() -> str:
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/explode", headers={"X-Request-ID": "req-42"})
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "req-42" in html
    assert "Traceback" not in html and "secret internal detail" not in html


def test_a_crash_under_the_api_is_a_json_500_without_details(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/api/explode")
    def explode() -> str:
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/api/explode")
    assert response.status_code == 500
    assert "secret" not in response.get_json()["error"]


def test_method_not_allowed_is_405_not_500(client: FlaskClient) -> None:
    assert client.get("/api/predict").status_code == 405
