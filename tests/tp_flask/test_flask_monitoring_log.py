"""The Flask app writes every inference request to the prediction log, takes feedback
through its JSON API, and its monitoring page shows what every process wrote."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tp_flask.live import serving

from TP_Flask.app import create_app
from TP_Flask.services import EXTENSION_KEY
from TP_Flask.settings import Settings
from utils.digits import load_split
from utils.monitoring.schema import predictions
from utils.paths import PROJECT_ROOT

GUNICORN = Path(sys.executable).parent / "gunicorn"
MODEL = "digits_sklearn"


def post(url: str, body: Any, **headers: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        result: dict[str, Any] = json.load(response)
        return result


def log_rows(url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.select(predictions).order_by(predictions.c.id)
            return [dict(row._mapping) for row in connection.execute(query)]
    finally:
        engine.dispose()


@pytest.fixture
def served(model_repository: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The app on werkzeug's threaded server on 127.0.0.1, with a log of its own:
    (base URL, log URL)."""
    log_url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    app = create_app(
        Settings(
            model_repository=model_repository,
            serve_models=MODEL,
            log_format="text",
            rate_limit="",
            prediction_log_url=log_url,
        )
    )
    try:
        with serving(app) as url:
            yield url, log_url
    finally:
        app.extensions[EXTENSION_KEY].shutdown()


def predict(url: str, images: Any, **headers: str) -> tuple[int, dict[str, Any]]:
    return post(url + "/api/predict", {"model": MODEL, "inputs": images.tolist()}, **headers)


def test_a_prediction_is_logged_with_its_request_id_status_and_client(
    served: tuple[str, str],
) -> None:
    url, log_url = served
    predict(url, load_split().x_test[:1], **{"X-Request-ID": "page-req-1"})
    get_json(url + "/monitoring/stats")  # writes this worker's queue
    (row,) = log_rows(log_url)
    assert (row["request_id"], row["status"], row["client"], row["model"]) == (
        "page-req-1",
        200,
        "127.0.0.1",
        MODEL,
    )


def test_a_refused_prediction_is_logged_with_its_status(served: tuple[str, str]) -> None:
    url, log_url = served
    status, _ = post(url + "/api/predict", {"model": MODEL, "inputs": "nonsense"})
    get_json(url + "/monitoring/stats")
    (row,) = log_rows(log_url)
    assert status == 400 and (row["status"], row["model"]) == (400, MODEL) and row["error"]


def test_feedback_through_the_json_api_moves_the_live_accuracy(served: tuple[str, str]) -> None:
    url, _ = served
    answers = [predict(url, load_split().x_test[i : i + 1])[1] for i in range(2)]
    right = answers[0]["predictions"][0]["label"]
    wrong = str((int(answers[1]["predictions"][0]["label"]) + 1) % 10)
    items = [
        {"request_id": answers[0]["request_id"], "label": right},
        {"request_id": answers[1]["request_id"], "label": wrong},
    ]
    status, body = post(f"{url}/api/models/{MODEL}/feedback", items)
    (entry,) = get_json(url + "/monitoring/stats")["watch"]
    assert (status, body) == (200, {"model": MODEL, "accepted": 2})
    assert entry["live_accuracy"] == {"value": 0.5, "samples": 2}
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        assert f'model_live_accuracy{{model="{MODEL}",version="1"}} 0.5' in response.read().decode()


def test_feedback_for_an_unknown_request_is_a_404_as_in_the_api(served: tuple[str, str]) -> None:
    url, _ = served
    status, body = post(f"{url}/api/models/{MODEL}/feedback", [{"request_id": "x", "label": "3"}])
    assert status == 404 and "'x'" not in body["error"] and "id x" in body["error"]


@contextmanager
def gunicorn(
    log_url: str, repository: Path, workers: int = 1, **extra: str
) -> Iterator[tuple[str, Any]]:
    """gunicorn on an inherited socket (no port race), serving one digits model, until
    /api/health answers: (base URL, the process)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.set_inheritable(True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEB_")}
    env.update(
        WEB_PREDICTION_LOG_URL=log_url,
        WEB_SERVE_MODELS=MODEL,
        WEB_MODEL_REPOSITORY=str(repository),
        WEB_WORKERS=str(workers),
        WEB_RATE_LIMIT="",
        **extra,
    )
    command = [
        str(GUNICORN), "-c", "TP_Flask/gunicorn.conf.py", "--bind", f"fd://{sock.fileno()}",
        "TP_Flask.app:create_app()",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        pass_fds=(sock.fileno(),),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"gunicorn exited with {process.returncode}"
            try:
                with urllib.request.urlopen(url + "/api/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn was not healthy in 60 s"
            time.sleep(0.2)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def test_two_processes_write_one_log_that_the_monitoring_page_of_either_shows(
    tmp_path: Path, model_repository: Path
) -> None:
    log_url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    images = load_split().x_test
    with (
        gunicorn(log_url, model_repository) as (first, _),
        gunicorn(log_url, model_repository) as (second, _),
    ):
        for i in range(3):
            predict(first, images[i : i + 1])
        for i in range(4):
            predict(second, images[i : i + 1])
        get_json(second + "/monitoring/stats")  # the second writes its queue
        totals = get_json(first + "/monitoring/stats")["totals"]
    assert totals == {"requests": 7, "errors": 0}


def test_sigterm_to_gunicorn_writes_every_answered_request_to_the_log(
    tmp_path: Path, model_repository: Path
) -> None:
    """Two workers hold queued records when the master is told to stop (their writers
    would wake only after a minute): each worker's exit must write them."""
    log_url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    slow_writer = {"WEB_PREDICTION_LOG_FLUSH_INTERVAL_S": "60"}
    with gunicorn(log_url, model_repository, workers=2, **slow_writer) as (url, process):
        images = load_split().x_test
        answered = [predict(url, images[i : i + 1])[1]["request_id"] for i in range(40)]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert set(answered) <= {row["request_id"] for row in log_rows(log_url)}
