"""Fixtures of the Flask app's tests: settings, app, client, a real server, a real browser.

The app serves the committed model repository (``models/``) exactly as a student runs it.
Browser tests drive Debian's chromium through Playwright (a Playwright browser download
does not work offline); the server is werkzeug's, bound to 127.0.0.1 on a free port.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from werkzeug.serving import BaseWSGIServer, make_server

from TP_Flask.app import create_app
from TP_Flask.settings import Settings
from utils.paths import DEFAULT_MODEL_REPOSITORY, TESTDATA

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="session")
def model_repository() -> Path:
    """The committed default repository (``make models`` rebuilds it).

    ``TP_FLASK_TEST_MODELS`` points the tests at another repository in Triton layout, e.g.
    one where MiniLM was built with ``python TP_Quantization/minilm.py --repository DIR``.
    """
    root = Path(os.environ.get("TP_FLASK_TEST_MODELS", DEFAULT_MODEL_REPOSITORY))
    assert any(root.glob("*/manifest.json")), f"no model in {root}: run `make models`"
    return root


@pytest.fixture(scope="session")
def digits_models(model_repository: Path) -> str:
    """The digits models of the repository, comma-separated (``serve_models``).

    Most tests serve only these: a built MiniLM (``make minilm``, 110 MB) would add seconds
    to each of the many apps the tests create. The sentence tests load it themselves.
    """
    names = [
        path.parent.name
        for path in sorted(model_repository.glob("*/manifest.json"))
        if '"digits-8x8"' in path.read_text()
    ]
    assert names, f"no digits model in {model_repository}"
    return ",".join(names)


@pytest.fixture(scope="session")
def text_model_repository(minilm_repository: Path) -> Path:
    """The digits models and MiniLM (see ``minilm_repository`` in tests/conftest.py)."""
    return minilm_repository


@pytest.fixture
def settings(model_repository: Path, digits_models: str, tmp_path: Path) -> Settings:
    """The digits models, a prediction log of this test's own."""
    return Settings(
        model_repository=model_repository,
        serve_models=digits_models,
        log_format="text",
        prediction_log_url=f"sqlite:///{tmp_path / 'prediction_log.sqlite3'}",
    )


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def csrf_token(client: FlaskClient) -> str:
    """Open the page like a browser: the client gets the session cookie, we get the token."""
    html = client.get("/").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token field"
    return match.group(1)


# -- images ---------------------------------------------------------------------------


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def digit_3_png() -> bytes:
    """A real handwritten-style 3 from tests/testdata (A's samples)."""
    return (TESTDATA / "digit_3.png").read_bytes()


@pytest.fixture(scope="session")
def one_stroke_png() -> bytes:
    """A vertical black stroke on white paper: a 1 for every digits model."""
    image = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(image).line([(100, 20), (100, 180)], fill=0, width=18)
    return png_bytes(image)


@pytest.fixture(scope="session")
def blank_canvas_png() -> bytes:
    """What the page sends when nothing was drawn: a transparent 280x280 PNG."""
    return png_bytes(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))


@pytest.fixture(scope="session")
def truncated_png(digit_3_png: bytes) -> bytes:
    """The first half of a real PNG file: the header reads, the pixels do not."""
    return digit_3_png[: len(digit_3_png) // 2]


@pytest.fixture(scope="session")
def corrupt_png(digit_3_png: bytes) -> bytes:
    """A real PNG with bytes overwritten in its pixel data: the header still reads."""
    data = bytearray(digit_3_png)
    middle = len(data) * 3 // 5
    data[middle : middle + 16] = bytes(range(16))
    return bytes(data)


@pytest.fixture(scope="session")
def unidentifiable_png() -> bytes:
    """A PNG signature followed by noise: no decoder recognises it (415, not an image)."""
    return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture(scope="session")
def huge_image_png() -> bytes:
    """A 5000x5000 picture (25 Mpx) that compresses to a small file: refused by pixels."""
    return png_bytes(Image.new("L", (5000, 5000), 255))


# -- a real server and a real browser ---------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread = field(repr=False)


@pytest.fixture(scope="module")
def live_server(
    model_repository: Path, digits_models: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app on werkzeug's threaded server, 127.0.0.1, a free port chosen by the OS."""
    log = tmp_path_factory.mktemp("log") / "prediction_log.sqlite3"
    app = create_app(
        Settings(
            model_repository=model_repository,
            serve_models=digits_models,
            log_format="text",
            prediction_log_url=f"sqlite:///{log}",
        )
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="tp-flask-live", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, server, thread)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium, headless, through Playwright, for one test module.

    Not for the session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, and every later test that calls ``asyncio.run()`` failed
    ("cannot be called from a running event loop") when a browser test ran before it.
    """
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class BrowserPage:
    """A page plus what its console said (CSP violations show up there)."""

    page: object
    console: list[str]


@pytest.fixture
def browser_page(browser: object) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    try:
        yield BrowserPage(page, console)
    finally:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[object, str], Path]:
    """``screenshot(page, "name")`` saves tests/tp_flask/screenshots/name.png."""

    def save(page: object, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return save
