"""The page of a student's own tabular model, in a real browser (issue 11): the switcher
opens it, its form has one field per feature, and Predict shows the label."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tp_flask.live import serving

from TP_Flask.app import create_app
from TP_Flask.settings import Settings
from utils.testing.toy_models import IRIS_FEATURES, publish_tabular_classifier

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mixed_url(tmp_path_factory: pytest.TempPathFactory, model_repository: Path) -> Iterator[str]:
    repository = tmp_path_factory.mktemp("mixed") / "models"
    shutil.copytree(model_repository / "digits_torch", repository / "digits_torch")
    publish_tabular_classifier(repository, "iris_toy")
    app = create_app(Settings(model_repository=repository, log_format="text", rate_limit=""))
    with serving(app) as url:
        yield url


def test_the_switcher_opens_the_page_of_the_tabular_model(mixed_url: str, browser_page) -> None:
    page = browser_page.page
    page.goto(mixed_url + "/")
    page.select_option("#model-name", "iris_toy")
    page.wait_for_url("**/?model=iris_toy")
    assert page.locator("input[data-feature]").count() == len(IRIS_FEATURES)
    assert not [c for c in browser_page.console if "Content Security Policy" in c]


def test_filling_the_feature_form_shows_the_label_and_the_bars(
    mixed_url: str, browser_page, screenshot: Callable[[object, str], Path]
) -> None:
    page = browser_page.page
    page.goto(mixed_url + "/?model=iris_toy")
    for name, value in zip(IRIS_FEATURES, ["5.1", "3.5", "1.4", "0.2"], strict=True):
        page.fill(f'input[data-feature="{name}"]', value)
    page.click("#fields-submit")
    page.wait_for_selector('#fields-result[data-state="done"]', timeout=10_000)
    label = page.locator("#fields-result .answer-label").first.inner_text()
    assert label in ("setosa", "versicolor", "virginica")
    assert page.locator("#fields-bars svg rect.bar").count() == 3
    screenshot(page, "tabular_model_page")
    assert not [c for c in browser_page.console if "error" in c.lower()]


def test_an_empty_feature_is_refused_before_anything_is_sent(mixed_url: str, browser_page) -> None:
    page = browser_page.page
    page.goto(mixed_url + "/?model=iris_toy")
    page.evaluate("document.getElementById('fields-form').noValidate = true")
    page.click("#fields-submit")
    page.wait_for_selector("#message:not([hidden])", timeout=5_000)
    assert "Give a number for" in page.locator("#message").inner_text()
