"""The sentence-similarity box: shown and working when MiniLM is built, hidden otherwise.

The tests that serve MiniLM are ``slow``: when the repository has no MiniLM (CI: it is
git-ignored), the ``text_model_repository`` fixture builds it first, once per session.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from TP_Flask.app import create_app
from TP_Flask.settings import Settings

PARAPHRASES = ["A cat sits on the mat.", "A kitten is resting on a rug."]
UNRELATED = "The stock market fell sharply today."

needs_minilm = pytest.mark.timeout(1200)
"""The first test to ask for MiniLM pays for its build (pytest-timeout counts fixtures;
the build itself stops at 900 s, see conftest.py)."""


@pytest.fixture(scope="module")
def text_client(text_model_repository: Path, digits_models: str) -> FlaskClient:
    """An app serving the digits models and MiniLM (``make minilm``, or built for the tests)."""
    settings = Settings(
        model_repository=text_model_repository,
        serve_models=f"{digits_models},minilm",
        log_format="text",
    )
    return create_app(settings).test_client()


@pytest.mark.slow
@needs_minilm
def test_similarity_ranks_a_paraphrase_above_an_unrelated_sentence(
    text_client: FlaskClient,
) -> None:
    response = text_client.post("/api/similarity", json={"sentences": [*PARAPHRASES, UNRELATED]})
    matrix = response.get_json()["matrix"]
    assert response.status_code == 200
    assert matrix[0][1] > matrix[0][2] + 0.2
    assert matrix[0][0] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.slow
@needs_minilm
def test_similarity_uses_each_version_asked_for(text_client: FlaskClient) -> None:
    versions = [
        m["version"]
        for m in text_client.get("/api/models").get_json()["models"]
        if m["name"] == "minilm" and m["state"] == "READY"
    ]
    assert len(versions) == 2, versions  # fp32 and int8
    for version in versions:
        body = text_client.post(
            "/api/similarity", json={"sentences": PARAPHRASES, "version": version}
        ).get_json()
        assert body["version"] == version


@pytest.mark.slow
@needs_minilm
def test_page_shows_the_sentence_box_when_the_text_model_is_served(
    text_client: FlaskClient,
) -> None:
    assert 'id="text-card"' in text_client.get("/").get_data(as_text=True)


@pytest.mark.slow
@needs_minilm
def test_page_sentence_form_renders_the_similarity_table(text_client: FlaskClient) -> None:
    html = text_client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    response = text_client.post(
        "/similarity",
        data={"csrf_token": token.group(1), "sentences": "\n".join([*PARAPHRASES, UNRELATED])},
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('<td class="heat-') == 9


@pytest.mark.slow
@needs_minilm
def test_similarity_of_one_sentence_is_refused_with_400(text_client: FlaskClient) -> None:
    response = text_client.post("/api/similarity", json={"sentences": ["alone"]})
    assert response.status_code == 400
    assert "two sentences" in response.get_json()["error"]


def test_similarity_without_the_text_model_says_how_to_build_it(
    tmp_path: Path, model_repository: Path
) -> None:
    repository = tmp_path / "models"
    shutil.copytree(model_repository / "digits_torch", repository / "digits_torch")
    client = create_app(Settings(model_repository=repository, log_format="text")).test_client()
    response = client.post("/api/similarity", json={"sentences": PARAPHRASES})
    assert response.status_code == 404
    assert "make minilm" in response.get_json()["error"]


@pytest.mark.slow
@pytest.mark.browser
@needs_minilm
def test_sentence_box_shows_the_similarity_matrix_in_the_browser(
    text_model_repository: Path, digits_models: str, browser, screenshot
) -> None:
    import threading

    from werkzeug.serving import make_server

    app = create_app(
        Settings(
            model_repository=text_model_repository,
            serve_models=f"{digits_models},minilm",
            log_format="text",
        )
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/")
        page.fill("#sentences", "\n".join([*PARAPHRASES, UNRELATED]))
        page.click("#similarity-form button[type=submit]")
        page.wait_for_selector("#similarity-result table.sim-table", timeout=15_000)
        page.locator("#text-card").scroll_into_view_if_needed()
        screenshot(page, "similarity")
        assert page.locator("#similarity-result td").count() == 9
    finally:
        context.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
