"""The sentiment page in a real browser: a sentence a line, each answered with its label
and probability bars (slow: sentiment is built first on a fresh clone, see
``sentiment_repository`` in tests/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tp_flask.live import serving

from TP_Flask.app import create_app
from TP_Flask.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CLEAR = ["I absolutely loved this hotel, the staff were wonderful.", "Awful film, a waste of time."]
LABELS = ["positive", "negative"]


@pytest.fixture(scope="module")
def sentiment_url(sentiment_repository: Path) -> Iterator[str]:
    app = create_app(
        Settings(model_repository=sentiment_repository, log_format="text", rate_limit="")
    )
    with serving(app) as url:
        yield url


def test_the_sentiment_page_shows_each_sentence_with_its_label_and_bars(
    sentiment_url: str, browser_page: Any, screenshot: Callable[[object, str], Path]
) -> None:
    page = browser_page.page
    page.goto(sentiment_url + "/?model=sentiment")
    page.fill("#text-input", "\n".join(CLEAR))
    page.click("#text-submit")
    page.wait_for_selector('#text-result[data-state="done"]', timeout=30_000)
    rows = page.locator("#text-result li")
    assert [rows.nth(i).get_attribute("data-label") for i in range(rows.count())] == LABELS
    assert page.locator("#text-result svg rect.bar").count() == 4  # two classes a sentence
    screenshot(page, "sentiment_model_page")
    assert not [c for c in browser_page.console if "error" in c.lower()]


def test_an_empty_text_box_is_refused_before_anything_is_sent(
    sentiment_url: str, browser_page: Any
) -> None:
    page = browser_page.page
    page.goto(sentiment_url + "/?model=sentiment")
    page.fill("#text-input", "  \n ")
    page.click("#text-submit")
    page.wait_for_selector("#message:not([hidden])", timeout=5_000)
    assert "Type at least one sentence" in page.locator("#message").inner_text()


def test_without_javascript_the_form_lists_each_sentence_with_its_label(
    sentiment_repository: Path,
) -> None:
    client = create_app(
        Settings(model_repository=sentiment_repository, log_format="text", rate_limit="")
    ).test_client()
    html = client.get("/?model=sentiment").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    response = client.post(
        "/predict/fields",
        data={"csrf_token": token.group(1), "model": "sentiment/1", "text": "\n".join(CLEAR)},
    )
    page = response.get_data(as_text=True)
    labels = re.findall(r'<span class="answer-label">(\w+)</span>', page)
    assert response.status_code == 200 and labels == LABELS
    assert CLEAR[1] in page
