"""The two pages in a real browser (Debian's chromium, headless) against a real server.

Each test saves a screenshot in tests/tp_flask/screenshots/. Every page must also satisfy
its Content-Security-Policy: a violation is reported in the console and fails the test.
"""

from __future__ import annotations

import io
import json
import math
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from utils.digits import load_split
from utils.paths import TESTDATA

pytestmark = pytest.mark.browser

Point = tuple[float, float]

STROKES: dict[str, list[list[Point]]] = {
    "1": [[(140, 40), (140, 240)]],
    "2": [[(80, 90), (110, 50), (170, 50), (195, 95), (80, 235), (210, 235)]],
    "4": [[(170, 40), (60, 170), (220, 170)], [(170, 40), (170, 240)]],
    "7": [[(70, 50), (210, 50), (120, 240)]],
    "0": [
        [
            (140 + 70 * math.sin(t / 24 * 2 * math.pi), 140 - 100 * math.cos(t / 24 * 2 * math.pi))
            for t in range(25)
        ]
    ],
}
"""Strokes in the 280x280 canvas' coordinates, as a person would draw each digit."""


def draw(page, strokes: list[list[Point]]) -> None:
    """Drag the mouse along each stroke on the drawing pad."""
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=8)
        page.mouse.up()


def wait_for_answer(
    page, state: str = "done", *, number: int | None = None, strokes: int | None = None
) -> None:
    """Wait until the page shows the server's answer (``number``: the n-th since loading;
    ``strokes``: the answer to the drawing of that many strokes, not to a part of it)."""
    selector = f'#result[data-state="{state}"]'
    if number is not None:
        selector += f'[data-answers="{number}"]'
    if strokes is not None:
        selector += f'[data-strokes="{strokes}"]'
    page.wait_for_selector(selector, timeout=10_000)


def csp_violations(console: list[str]) -> list[str]:
    return [line for line in console if "Content Security Policy" in line]


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_drawing_a_digit_on_the_canvas_gets_that_digit_back(
    live_server, browser_page, screenshot: Callable, digit: str
) -> None:
    page = browser_page.page
    page.goto(live_server.url + "/")
    draw(page, STROKES[digit])
    wait_for_answer(page)
    screenshot(page, f"draw_{digit}")
    assert page.inner_text("#label") == digit
    assert csp_violations(browser_page.console) == []


def test_the_answer_shows_the_8x8_input_all_probabilities_model_and_latency(
    live_server, browser_page
) -> None:
    page = browser_page.page
    page.goto(live_server.url + "/")
    draw(page, STROKES["7"])
    wait_for_answer(page)
    assert page.locator("#pixels span").count() == 64
    assert page.locator("#bars rect.bar").count() == 10
    assert page.inner_text("#model-used").startswith(page.input_value("#model").split("/")[0])
    assert "ms" in page.inner_text("#latency")


def test_drawing_with_a_finger_works_like_the_mouse(live_server, browser) -> None:
    context = browser.new_context(viewport={"width": 800, "height": 1000}, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        box = page.locator("#pad").bounding_box()
        cdp = context.new_cdp_session(page)
        points = [(140, 40 + 10 * i) for i in range(21)]

        def touch(kind: str, point: Point | None) -> None:
            touches = (
                [] if point is None else [{"x": box["x"] + point[0], "y": box["y"] + point[1]}]
            )
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touches})

        touch("touchStart", points[0])
        for point in points[1:]:
            touch("touchMove", point)
        touch("touchEnd", None)
        wait_for_answer(page)
        assert page.inner_text("#label") == "1"
    finally:
        context.close()


def test_undo_removes_the_last_stroke_and_clear_empties_the_pad(live_server, browser_page) -> None:
    page = browser_page.page
    page.goto(live_server.url + "/")
    draw(page, STROKES["1"])
    wait_for_answer(page, number=1)
    draw(page, [[(40, 140), (240, 140)]])  # a cross bar: no longer a 1
    wait_for_answer(page, number=2)
    page.click("#undo")
    wait_for_answer(page, number=3)
    assert page.inner_text("#label") == "1"
    page.click("#clear")
    page.click("#read-drawing")
    wait_for_answer(page, "error", number=4)
    assert "empty" in page.inner_text("#message")


def test_uploading_a_digit_image_shows_that_digit(
    live_server, browser_page, screenshot: Callable
) -> None:
    page = browser_page.page
    page.goto(live_server.url + "/")
    page.set_input_files("#image", str(TESTDATA / "digit_3.png"))
    wait_for_answer(page)
    screenshot(page, "upload_3")
    assert page.inner_text("#label") == "3"
    assert page.is_visible("#preview")


def test_dropping_an_image_on_the_drop_zone_predicts_it(live_server, browser_page) -> None:
    page = browser_page.page
    page.goto(live_server.url + "/")
    data = list((TESTDATA / "digit_5.png").read_bytes())
    transfer = page.evaluate_handle(
        """(bytes) => {
            const transfer = new DataTransfer();
            const file = new File([new Uint8Array(bytes)], "digit_5.png", {type: "image/png"});
            transfer.items.add(file);
            return transfer;
        }""",
        data,
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    wait_for_answer(page)
    assert page.inner_text("#label") == "5"


def test_a_bad_upload_shows_a_friendly_message_and_the_page_keeps_working(
    live_server, browser_page, screenshot: Callable, tmp_path: Path
) -> None:
    page = browser_page.page
    page.goto(live_server.url + "/")
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("these are my notes, not a picture")
    page.set_input_files("#image", str(not_an_image))
    wait_for_answer(page, "error")
    screenshot(page, "error_not_an_image")
    assert "not an image" in page.inner_text("#message")
    draw(page, STROKES["7"])
    wait_for_answer(page)
    assert page.inner_text("#label") == "7" and not page.is_visible("#message")


def test_a_file_over_the_upload_limit_is_refused_before_it_is_sent(
    live_server, browser_page, tmp_path: Path
) -> None:
    page = browser_page.page
    page.goto(live_server.url + "/")
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024))
    page.set_input_files("#image", str(big))
    wait_for_answer(page, "error")
    assert "limit" in page.inner_text("#message")


def test_choosing_another_model_asks_that_model(live_server, browser_page) -> None:
    page = browser_page.page
    page.goto(live_server.url + "/")
    options = page.locator("#model option").evaluate_all("(els) => els.map((e) => e.value)")
    assert len(options) >= 2, "the committed repository should serve several digits models"
    draw(page, STROKES["4"])
    wait_for_answer(page, strokes=len(STROKES["4"]))  # the whole 4, not its first stroke
    other = next(v for v in options if v != page.input_value("#model"))
    page.select_option("#model", other)
    name, version = other.split("/")
    page.wait_for_selector(f'#model-used:has-text("{name} v{version}")', timeout=10_000)
    assert page.inner_text("#label") == "4"


def _distinct_colours(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return len(set(image.getdata()))


def test_monitoring_page_draws_its_charts_with_live_numbers(
    live_server, browser_page, screenshot: Callable
) -> None:
    image = (TESTDATA / "digit_3.png").read_bytes()
    boundary = "tp-flask-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="d.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    for _ in range(3):
        request = urllib.request.Request(
            live_server.url + "/api/predict",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["predictions"][0]["label"] == "3"
    held_out = load_split().x_test[:120]
    for start in (0, 60):  # 120 real digits: enough for a drift verdict
        request = urllib.request.Request(
            live_server.url + "/api/predict",
            data=json.dumps({"inputs": held_out[start : start + 60].tolist()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    page = browser_page.page
    page.goto(live_server.url + "/monitoring")
    page.wait_for_selector('body[data-updates="2"]', timeout=10_000)
    screenshot(page, "monitoring")
    assert float(page.inner_text("#tile-rps")) > 0
    assert page.inner_text("#tile-p50").endswith("ms")
    assert int(page.inner_text("#totals").split()[0]) >= 3
    assert "stable" in page.inner_text("#drift-verdict")
    charts = (
        "chart-rps",
        "chart-latency",
        "chart-cpu",
        "chart-memory",
        "chart-classes",
        "chart-drift",
        "chart-features",
        "chart-accuracy",
        "chart-clients",
    )
    for chart in charts:
        assert _distinct_colours(page.locator(f"#{chart}").screenshot()) > 20, chart
    assert csp_violations(browser_page.console) == []
