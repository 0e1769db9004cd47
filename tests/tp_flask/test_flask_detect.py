"""The detector's page without a browser: ``/?model=digits_detector`` offers the wide pad,
and its form (``POST /detect``, CSRF-protected) answers JSON to the page's script and a
page with the number read to a browser without JavaScript. The JSON door ``/api/detect``
is tested with the API's in tests/tp_docker/test_detect.py."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from TP_Flask.app import create_app
from TP_Flask.settings import Settings
from utils.paths import TESTDATA

SAMPLE = TESTDATA / "number_1176.png"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, model_repository: Path) -> FlaskClient:
    repository = tmp_path_factory.mktemp("detector") / "models"
    for name in ("digits_torch", "digits_detector"):
        shutil.copytree(model_repository / name, repository / name)
    settings = Settings(model_repository=repository, log_format="text", rate_limit="")
    return create_app(settings).test_client()


def _token(client: FlaskClient) -> str:
    html = client.get("/?model=digits_detector").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _post(client: FlaskClient, token: str | None, **headers: str) -> TestResponse:
    fields = {"model": "digits_detector/1", "image": (io.BytesIO(SAMPLE.read_bytes()), "n.png")}
    if token is not None:
        fields["csrf_token"] = token
    return client.post("/detect", data=fields, content_type="multipart/form-data", headers=headers)


def test_the_detector_page_offers_the_wide_pad_and_an_upload(client: FlaskClient) -> None:
    html = client.get("/?model=digits_detector").get_data(as_text=True)
    assert re.search(r'<canvas id="number-pad" width="840" height="280"', html)
    assert 'id="number-image"' in html and 'action="/detect"' in html
    assert 'id="pad"' not in html  # not the one-digit canvas


def test_the_digits_page_still_shows_the_one_digit_canvas(client: FlaskClient) -> None:
    html = client.get("/?model=digits_torch").get_data(as_text=True)
    assert 'id="pad"' in html and 'id="number-pad"' not in html


def test_the_pages_script_gets_the_number_as_json(client: FlaskClient) -> None:
    token = _token(client)
    response = _post(client, None, Accept="application/json", **{"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_json()["text"] == "1176"


def test_without_javascript_the_form_shows_the_number_and_its_digits(client: FlaskClient) -> None:
    response = _post(client, _token(client))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="number-text"[^>]*>1176<', html)
    assert html.count('<span class="answer-label">') == 4


def test_the_form_without_its_csrf_token_is_refused(client: FlaskClient) -> None:
    assert _post(client, None).status_code == 400


def test_the_detect_routes_share_the_prediction_rate_limit(
    tmp_path: Path, model_repository: Path
) -> None:
    repository = tmp_path / "models"
    shutil.copytree(model_repository / "digits_detector", repository / "digits_detector")
    settings = Settings(model_repository=repository, log_format="text", rate_limit="2 per minute")
    client = create_app(settings).test_client()
    codes = [
        client.post(
            "/api/detect",
            data={"image": (io.BytesIO(SAMPLE.read_bytes()), "n.png")},
            content_type="multipart/form-data",
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
