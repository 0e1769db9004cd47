"""The page of the series models (forecast, anomaly): the CO2 sample, the chart of the
history, the forecast and the flagged points in a real browser, and the same form
without JavaScript."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from TP_Flask.app import create_app
from TP_Flask.settings import Settings

HORIZON = 4


@pytest.fixture(scope="module")
def series_repository(tmp_path_factory: pytest.TempPathFactory, model_repository: Path) -> Path:
    repository = tmp_path_factory.mktemp("series-page") / "models"
    for name in ("forecast", "anomaly"):
        shutil.copytree(model_repository / name, repository / name)
    return repository


@pytest.fixture(scope="module")
def series_url(series_repository: Path) -> Iterator[str]:
    app = create_app(Settings(model_repository=series_repository, log_format="text", rate_limit=""))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def series_client(series_repository: Path) -> FlaskClient:
    settings = Settings(model_repository=series_repository, log_format="text", rate_limit="")
    return create_app(settings).test_client()


def _load_sample_and_run(page: object, url: str) -> None:
    page.goto(url)  # type: ignore[attr-defined]
    page.click("#series-sample")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    # polled from here: wait_for_function evaluates a string, which the page's CSP refuses
    while not page.input_value("#series-input").startswith("date,co2_ppm"):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the CO2 sample did not load"
        time.sleep(0.05)
    page.click("#series-submit")  # type: ignore[attr-defined]
    page.wait_for_selector('#series-result[data-state="done"]', timeout=20_000)  # type: ignore[attr-defined]


@pytest.mark.browser
def test_the_co2_sample_draws_the_history_and_the_forecast_past_its_end(
    series_url: str, browser_page, screenshot: Callable[[object, str], Path]
) -> None:
    page = browser_page.page
    _load_sample_and_run(page, series_url + "/?model=forecast")
    points = page.locator("#series-chart polyline.history").get_attribute("points")
    forecast = page.locator("#series-chart polyline.forecast").get_attribute("data-values")
    assert len(points.split()) == 208 and len(forecast.split()) == HORIZON
    assert all(360 < float(v) < 380 for v in forecast.split())
    screenshot(page, "forecast_model_page")
    assert not [c for c in browser_page.console if "error" in c.lower()]


@pytest.mark.browser
def test_a_spike_typed_into_the_sample_is_flagged_on_the_anomaly_page(
    series_url: str, browser_page, screenshot: Callable[[object, str], Path]
) -> None:
    page = browser_page.page
    _load_sample_and_run(page, series_url + "/?model=anomaly")
    assert page.locator("#series-result").get_attribute("data-flagged") == "0"
    page.evaluate(
        """() => {
          const box = document.getElementById('series-input');
          const lines = box.value.split('\\n');
          const [date, value] = lines[181].split(',');
          lines[181] = date + ',' + (Number(value) + 5).toFixed(2);
          box.value = lines.join('\\n');
        }"""
    )
    page.click("#series-submit")
    page.wait_for_selector("#series-chart circle.flag", timeout=20_000)
    first = page.locator("#series-chart circle.flag").first
    assert first.get_attribute("data-index") == "180"  # line 181 is point 180 after the header
    assert page.locator("#series-chart polyline.forecast").count() == 1  # the forecaster too
    screenshot(page, "anomaly_model_page")
    assert not [c for c in browser_page.console if "error" in c.lower()]


@pytest.mark.browser
def test_a_series_shorter_than_the_window_is_refused_saying_the_width(
    series_url: str, browser_page
) -> None:
    page = browser_page.page
    page.goto(series_url + "/?model=anomaly")
    page.fill("#series-input", "370.1\n370.4\n370.9\n")
    page.click("#series-submit")
    page.wait_for_selector("#message:not([hidden])", timeout=10_000)
    assert "at least 105" in page.locator("#message").inner_text()


def test_without_javascript_the_form_forecasts_the_pasted_csv(
    series_client: FlaskClient,
) -> None:
    html = series_client.get("/?model=forecast").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    csv = "\n".join(f"{370 + 0.01 * i:.2f}" for i in range(104))
    response = series_client.post(
        "/predict/fields",
        data={"csrf_token": token.group(1), "model": "forecast/1", "series": csv},
    )
    assert response.status_code == 200
    assert "Forecast past the end" in response.get_data(as_text=True)


def test_without_javascript_a_gap_in_the_csv_is_a_400_naming_the_line(
    series_client: FlaskClient,
) -> None:
    html = series_client.get("/?model=anomaly").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    response = series_client.post(
        "/predict/fields",
        data={"csrf_token": token.group(1), "model": "anomaly/1", "series": "1\n\nNaN\n3"},
    )
    assert response.status_code == 400
    assert "Line 3 of the series" in response.get_data(as_text=True)
