"""Both front ends are doors onto one data plane: the same request gets the same answer.

The same good and bad plain-JSON requests go to the API's ``/predict`` (a live uvicorn
server) and to the page's ``/api/predict`` (the Flask app): the request ids, the status
codes, the error bodies and the meaning of ``inference_requests_total`` are the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient
from tp_docker.tp_docker_server import LiveServer, settings_for, start_server

from TP_Flask.app import create_app as create_flask_app
from TP_Flask.settings import Settings as FlaskSettings
from utils.paths import DEFAULT_MODEL_REPOSITORY

MODELS = "digits_sklearn,digits_torch"
GOOD = {"model": "digits_sklearn", "inputs": [[0.5] * 64]}
BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("no inputs", b'{"model": "digits_sklearn"}', "application/json"),
    ("strings", b'{"model": "digits_sklearn", "inputs": "rows"}', "application/json"),
    ("unknown model", b'{"model": "nope", "inputs": [[0.5]]}', "application/json"),
    (
        "version 01",
        b'{"model": "digits_torch", "version": "01", "inputs": [0]}',
        "application/json",
    ),
    ("version 99", b'{"model": "digits_torch", "version": 99, "inputs": [0]}', "application/json"),
    ("wrong shape", b'{"model": "digits_torch", "inputs": [[0.5, 0.5]]}', "application/json"),
    ("out of range", b'{"model": "digits_torch", "inputs": [[2.0] * 64]}', "application/json"),
    ("not JSON", b"{model", "application/json"),
    ("not an object", b"[1, 2]", "application/json"),
    ("csv", b"1,2,3", "text/csv"),
]


@pytest.fixture(scope="module")
def api() -> Iterator[LiveServer]:
    live = start_server(settings_for(DEFAULT_MODEL_REPOSITORY, strict_readiness=False))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def page() -> FlaskClient:
    settings = FlaskSettings(
        model_repository=DEFAULT_MODEL_REPOSITORY,
        serve_models=MODELS,
        log_format="text",
        rate_limit="",
        default_model="",
    )
    return create_flask_app(settings).test_client()


def _both(
    api: LiveServer, page: FlaskClient, body: bytes, content_type: str, request_id: str
) -> tuple[tuple[int, Any, str], tuple[int, Any, str]]:
    headers = {"Content-Type": content_type, "X-Request-ID": request_id}
    a = httpx.post(api.url + "/predict", content=body, headers=headers)
    f = page.post("/api/predict", data=body, headers=headers)
    return (
        (a.status_code, a.json(), a.headers["x-request-id"]),
        (f.status_code, f.get_json(), f.headers["X-Request-ID"]),
    )


def test_a_good_request_gets_the_same_answer_and_request_id(
    api: LiveServer, page: FlaskClient
) -> None:
    import orjson

    (a_status, a_body, a_id), (f_status, f_body, f_id) = _both(
        api, page, orjson.dumps(GOOD), "application/json", "agree-good-1"
    )
    assert a_status == f_status == 200
    assert a_id == f_id == a_body["request_id"] == f_body["request_id"] == "agree-good-1"
    assert a_body["predictions"] == f_body["predictions"]


@pytest.mark.parametrize(
    ("case", "body", "content_type"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
def test_a_bad_request_gets_the_same_status_and_error_body(
    api: LiveServer, page: FlaskClient, case: str, body: bytes, content_type: str
) -> None:
    (a_status, a_body, _), (f_status, f_body, _) = _both(api, page, body, content_type, "bad-1")
    assert 400 <= a_status < 500
    assert (a_status, a_body) == (f_status, f_body)


def _inference_counts(text: str) -> dict[tuple[str, str, str], float]:
    pattern = re.compile(
        r'^inference_requests_total\{model="([^"]*)",status="([^"]*)",version="([^"]*)"\} (\S+)$'
    )
    counts = {}
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            model, status, version, value = match.groups()
            counts[(model, version, status)] = float(value)
    return counts


def test_inference_requests_total_means_the_same_in_both_apps(tmp_path: Path) -> None:
    import orjson

    api = start_server(settings_for(DEFAULT_MODEL_REPOSITORY, strict_readiness=False))
    try:
        page = create_flask_app(
            FlaskSettings(
                model_repository=DEFAULT_MODEL_REPOSITORY,
                serve_models=MODELS,
                log_format="text",
                rate_limit="",
            )
        ).test_client()
        requests = [(orjson.dumps(GOOD), "application/json")] * 3 + [
            (b, c) for _, b, c in BAD_BODIES
        ]
        for body, content_type in requests:
            _both(api, page, body, content_type, "count-1")
        api_counts = _inference_counts(httpx.get(api.url + "/metrics").text)
        page_counts = _inference_counts(page.get("/metrics").get_data(as_text=True))
    finally:
        api.stop()
    assert api_counts[("digits_sklearn", "1", "200")] == 3
    assert api_counts == page_counts
