"""The API writes every inference request to the prediction log, takes feedback for it,
and exports drift and accuracy computed from that log on /metrics."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import sqlalchemy as sa

from tp_docker.tp_docker_server import LiveServer, listening_socket
from utils.deployment_helpers.auth import key_id
from utils.digits import load_split
from utils.monitoring.schema import predictions
from utils.paths import DEFAULT_MODEL_REPOSITORY, PROJECT_ROOT

DIGITS = "digits_sklearn"


def logged(live: LiveServer) -> list[dict[str, Any]]:
    """Every row of the server's prediction log, once its queue is written."""
    log = live.app.state.monitor.log
    assert log.flush()
    with log.engine.connect() as connection:
        rows = connection.execute(sa.select(predictions).order_by(predictions.c.id))
        return [dict(row._mapping) for row in rows]


def sample(live: LiveServer, name: str, **labels: str) -> float | None:
    """One sample of the server's /metrics, or None when the series is absent."""
    for line in httpx.get(live.url + "/metrics").text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture
def digits_repo(tmp_path: Path) -> Path:
    """A repository holding the committed scikit-learn digits model (with its profile)."""
    root = tmp_path / "models"
    shutil.copytree(DEFAULT_MODEL_REPOSITORY / DIGITS, root / DIGITS)
    return root


def predict(live: LiveServer, images: np.ndarray, **headers: str) -> httpx.Response:
    body = {"model": DIGITS, "inputs": images.tolist()}
    return httpx.post(live.url + "/predict", json=body, headers=headers, timeout=30)


def test_a_v2_request_is_logged_with_its_request_id_status_and_client_key_id(
    make_server: Callable[..., LiveServer], good_body: dict[str, Any]
) -> None:
    live = make_server(api_keys="k-123")
    headers = {"X-API-Key": "k-123", "X-Request-ID": "req-logged-1"}
    response = httpx.post(live.url + "/v2/models/mlp/infer", json=good_body, headers=headers)
    (row,) = logged(live)
    assert response.status_code == 200
    assert (row["request_id"], row["status"], row["client"], row["model"]) == (
        "req-logged-1",
        200,
        key_id("k-123"),
        "mlp",
    )


def test_a_refused_request_is_logged_with_its_status_and_message(
    make_server: Callable[..., LiveServer], good_body: dict[str, Any]
) -> None:
    live = make_server()
    good_body["inputs"][0]["datatype"] = "INT64"
    headers = {"X-Request-ID": "req-refused-1"}
    response = httpx.post(live.url + "/v2/models/mlp/infer", json=good_body, headers=headers)
    (row,) = logged(live)
    assert response.status_code == 400
    assert (row["request_id"], row["status"]) == ("req-refused-1", 400) and "datatype" in row[
        "error"
    ]


def test_feedback_joins_the_log_and_moves_the_live_accuracy(
    make_server: Callable[..., LiveServer], digits_repo: Path
) -> None:
    live = make_server(digits_repo)
    split = load_split()
    answers = [predict(live, split.x_test[i : i + 1]).json() for i in range(4)]
    truth = [a["predictions"][0]["label"] for a in answers[:3]]
    truth.append(str((int(answers[3]["predictions"][0]["label"]) + 1) % 10))  # one wrong
    items = [
        {"request_id": a["request_id"], "label": t} for a, t in zip(answers, truth, strict=True)
    ]
    response = httpx.post(f"{live.url}/v2/models/{DIGITS}/feedback", json=items)
    assert response.json() == {"model": DIGITS, "accepted": 4}
    assert sample(live, "model_live_accuracy", model=DIGITS) == 0.75


def test_feedback_for_a_request_the_log_does_not_hold_is_a_404_naming_it(
    make_server: Callable[..., LiveServer], digits_repo: Path
) -> None:
    live = make_server(digits_repo)
    items = [{"request_id": "never-answered", "label": "3"}]
    response = httpx.post(f"{live.url}/v2/models/{DIGITS}/feedback", json=items)
    assert response.status_code == 404 and "never-answered" in response.json()["error"]


def test_feedback_with_a_label_the_model_does_not_have_is_a_400(
    make_server: Callable[..., LiveServer], digits_repo: Path
) -> None:
    live = make_server(digits_repo)
    request_id = predict(live, load_split().x_test[:1]).json()["request_id"]
    items = [{"request_id": request_id, "label": "eleven"}]
    response = httpx.post(f"{live.url}/v2/models/{DIGITS}/feedback", json=items)
    assert response.status_code == 400 and "'eleven' is not a class" in response.json()["error"]


def test_feedback_with_the_log_off_is_a_400_that_says_so(
    make_server: Callable[..., LiveServer], digits_repo: Path
) -> None:
    live = make_server(digits_repo, prediction_log=False)
    items = [{"request_id": "any", "label": "3"}]
    response = httpx.post(f"{live.url}/v2/models/{DIGITS}/feedback", json=items)
    assert response.status_code == 400 and "switched off" in response.json()["error"]


def _drift_detected(live: LiveServer, images: np.ndarray) -> float | None:
    for start in range(0, len(images), 60):
        assert predict(live, images[start : start + 60]).status_code == 200
    assert len(logged(live)) == len(images)
    return sample(live, "model_drift_detected", model=DIGITS, signal="inputs")


def test_inverted_digits_raise_model_drift_detected_on_metrics(
    make_server: Callable[..., LiveServer], digits_repo: Path
) -> None:
    live = make_server(digits_repo)
    assert _drift_detected(live, 1.0 - load_split().x_test[:180]) == 1.0


def test_held_out_digits_leave_model_drift_detected_at_zero(
    make_server: Callable[..., LiveServer], digits_repo: Path
) -> None:
    live = make_server(digits_repo)
    assert _drift_detected(live, load_split().x_test[:180]) == 0.0


def test_the_openapi_description_documents_the_feedback_call(server: LiveServer) -> None:
    schema = httpx.get(server.url + "/openapi.json").json()
    operation = schema["paths"]["/v2/models/{model_name}/feedback"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["items"]["required"] == ["request_id"] and "curl" in operation["description"]
    assert {"400", "404"} <= set(operation["responses"])


def test_sigterm_writes_every_answered_request_to_the_log(
    tmp_path: Path, digits_repo: Path
) -> None:
    """Every request is still queued when SIGTERM comes (the writer would wake only after
    a minute): the lifespan's shutdown must write them all."""
    log = tmp_path / "log.sqlite3"
    sock = listening_socket()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("API_")},
        "API_MODEL_REPOSITORY": str(digits_repo),
        "API_FD": str(sock.fileno()),
        "API_PREDICTION_LOG_URL": f"sqlite:///{log}",
        "API_PREDICTION_LOG_FLUSH_INTERVAL_S": "60",
        "API_ACCESS_LOG": "false",
        "API_RATE_LIMIT": "",
    }
    server = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "TP_Docker" / "app.py")],
        env=env,
        pass_fds=(sock.fileno(),),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    try:
        deadline = time.monotonic() + 60
        while not _ready(url):
            assert server.poll() is None and time.monotonic() < deadline, "not ready in 60 s"
            time.sleep(0.1)
        image = load_split().x_test[:1].tolist()
        with httpx.Client(base_url=url) as client:
            answered = [
                client.post("/predict", json={"model": DIGITS, "inputs": image}).headers[
                    "x-request-id"
                ]
                for _ in range(200)
            ]
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: -15.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    engine = sa.create_engine(f"sqlite:///{log}")
    with engine.connect() as connection:
        ids = set(connection.execute(sa.select(predictions.c.request_id)).scalars())
    engine.dispose()
    assert set(answered) <= ids


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/v2/health/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
