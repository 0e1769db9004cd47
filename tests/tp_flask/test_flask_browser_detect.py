"""The detector's page in a real browser (Debian's chromium through Playwright): write a
whole number on the wide pad with the mouse, or upload a picture of one; the page shows
the number read and a box over each digit."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_flask_browser import STROKES, Point, csp_violations
from tp_flask.live import serving

from TP_Flask.app import create_app
from TP_Flask.settings import Settings
from utils.vision.compose import held_out_numbers

pytestmark = pytest.mark.browser

PAD_WIDTH = 840
NUMBER = "7402"
CELL = 190
"""Each digit of STROKES (drawn for a 280x280 pad) shrunk to 0.7 and set 190 px apart."""


def number_strokes(text: str) -> list[list[Point]]:
    """The strokes of ``text`` on the wide pad, digit after digit, as a person writes."""
    strokes = []
    for index, digit in enumerate(text):
        left = 40 + CELL * index
        for stroke in STROKES[digit]:
            strokes.append([(left + 0.7 * x, 40 + 0.7 * y) for x, y in stroke])
    return strokes


@pytest.fixture(scope="module")
def detector_url(tmp_path_factory: pytest.TempPathFactory, model_repository: Path) -> Iterator[str]:
    repository = tmp_path_factory.mktemp("detector") / "models"
    for name in ("digits_torch", "digits_detector"):
        shutil.copytree(model_repository / name, repository / name)
    app = create_app(Settings(model_repository=repository, log_format="text", rate_limit=""))
    with serving(app) as url:
        yield url


def write(page, strokes: list[list[Point]]) -> None:
    """Drag the mouse along each stroke on the wide pad."""
    box = page.locator("#number-pad").bounding_box()
    scale = box["width"] / PAD_WIDTH
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0] * scale, box["y"] + stroke[0][1] * scale)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=8)
        page.mouse.up()


def wait_for_reading(page, state: str = "done", *, strokes: int | None = None) -> None:
    selector = f'#number-result[data-state="{state}"]'
    if strokes is not None:
        selector += f'[data-strokes="{strokes}"]'
    page.wait_for_selector(selector, timeout=15_000)


def test_the_detector_page_shows_a_wide_pad_and_an_upload(detector_url: str, browser_page) -> None:
    page = browser_page.page
    page.goto(detector_url + "/?model=digits_detector")
    box = page.locator("#number-pad").bounding_box()
    assert box["width"] >= 2.9 * box["height"]
    assert page.locator("#number-image").count() == 1
    assert csp_violations(browser_page.console) == []


def test_writing_a_number_on_the_wide_pad_reads_it_with_a_box_per_digit(
    detector_url: str, browser_page, screenshot: Callable
) -> None:
    page = browser_page.page
    page.goto(detector_url + "/?model=digits_detector")
    strokes = number_strokes(NUMBER)
    write(page, strokes)
    wait_for_reading(page, strokes=len(strokes))
    screenshot(page, "detect_written_number")
    assert page.inner_text("#number-text") == NUMBER
    assert page.locator("#pad-boxes rect").count() == len(NUMBER)
    boxes = page.locator("#pad-boxes rect")
    labels = boxes.evaluate_all("(els) => els.map((e) => e.dataset.label)")
    assert "".join(labels) == NUMBER
    assert csp_violations(browser_page.console) == []


def test_undo_takes_the_last_digit_away(detector_url: str, browser_page) -> None:
    page = browser_page.page
    page.goto(detector_url + "/?model=digits_detector")
    strokes = number_strokes(NUMBER)
    write(page, strokes)
    wait_for_reading(page, strokes=len(strokes))
    page.click("#number-undo")  # the 2 is one stroke
    wait_for_reading(page, strokes=len(strokes) - 1)
    assert page.inner_text("#number-text") == NUMBER[:-1]


def test_uploading_a_picture_of_a_number_shows_the_number_and_its_boxes(
    detector_url: str, browser_page, screenshot: Callable, tmp_path: Path
) -> None:
    number = next(held_out_numbers(1, seed=11))
    path = tmp_path / "number.png"
    path.write_bytes(number.to_png(scale=1.5))
    page = browser_page.page
    page.goto(detector_url + "/?model=digits_detector")
    page.set_input_files("#number-image", str(path))
    wait_for_reading(page, strokes=0)
    screenshot(page, "detect_uploaded_number")
    assert page.inner_text("#number-text") == number.text
    assert page.is_visible("#number-preview")
    assert page.locator("#picture-boxes rect").count() == len(number.labels)
    assert page.get_attribute("#picture-boxes", "viewBox") == "0 0 1260 420"


def test_a_bad_upload_shows_why_and_the_pad_keeps_working(
    detector_url: str, browser_page, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("these are my notes, not a picture")
    page = browser_page.page
    page.goto(detector_url + "/?model=digits_detector")
    page.set_input_files("#number-image", str(notes))
    wait_for_reading(page, "error")
    assert "not an image" in page.inner_text("#message")
    strokes = number_strokes("41")
    write(page, strokes)
    wait_for_reading(page, strokes=len(strokes))
    assert not page.is_visible("#message")
