"""The monitoring feed (read from the prediction log), and the psutil sampler beside it.

The figures themselves are tested on the library (tests/monitoring/test_traffic.py); the
log shared by several processes in test_flask_monitoring_log.py."""

from __future__ import annotations

import io
import json
import os
import time

from flask.testing import FlaskClient

from TP_Flask.app import create_app
from TP_Flask.settings import Settings
from utils.digits import load_split
from utils.monitoring.system import SystemSampler


def test_system_sampler_reads_this_process() -> None:
    sample = SystemSampler().sample()
    assert sample.pid == os.getpid() and sample.process_rss_bytes > 10 * 1024 * 1024
    assert 0 <= sample.machine_memory_percent <= 100 and sample.cpu_count >= 1


def test_system_sampler_sees_the_cpu_this_process_burns() -> None:
    sampler = SystemSampler()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert sampler.sample().process_cpu_percent > 10.0


def test_stats_feed_counts_a_prediction_by_model_and_class(
    client: FlaskClient, digit_3_png: bytes
) -> None:
    body = client.post(
        "/api/predict", data={"image": (io.BytesIO(digit_3_png), "d.png")}
    ).get_json()
    stats = client.get("/monitoring/stats").get_json()
    assert stats["predictions_per_model"] == {f"{body['model']} v{body['version']}": 1}
    assert stats["class_counts"]["3"] == 1 and sum(stats["class_counts"].values()) == 1


def test_stats_feed_lists_every_class_of_the_served_models_in_order(client: FlaskClient) -> None:
    assert list(client.get("/monitoring/stats").get_json()["class_counts"]) == [
        str(d) for d in range(10)
    ]


def test_stats_feed_counts_every_image_of_a_batch(client: FlaskClient) -> None:
    split = load_split()
    body = client.post("/api/predict", json={"inputs": split.x_test[:20].tolist()}).get_json()
    counts = client.get("/monitoring/stats").get_json()["class_counts"]
    predicted = [p["label"] for p in body["predictions"]]
    assert counts == {label: predicted.count(label) for label in counts}


def test_stats_feed_counts_refused_inference_requests_in_the_error_rate(
    client: FlaskClient,
) -> None:
    client.post("/api/predict", json={"inputs": "nonsense"})
    client.post("/api/predict", json={"inputs": [[0.5] * 8] * 8})
    client.get("/api/models")  # not an inference request: not counted
    assert client.get("/monitoring/stats").get_json()["error_rate"] == 0.5


def test_stats_feed_does_not_count_its_own_polling(client: FlaskClient) -> None:
    for _ in range(3):
        client.get("/monitoring/stats")
    assert client.get("/monitoring/stats").get_json()["totals"]["requests"] == 0


def test_stats_feed_says_when_the_log_is_off(settings: Settings, digit_3_png: bytes) -> None:
    client = create_app(settings.model_copy(update={"prediction_log": False})).test_client()
    client.post("/api/predict", data={"image": (io.BytesIO(digit_3_png), "d.png")})
    stats = client.get("/monitoring/stats").get_json()
    assert stats["log"] is False and stats["totals"]["requests"] == 0


def test_stats_feed_reports_cpu_and_memory_of_process_and_machine(client: FlaskClient) -> None:
    system = client.get("/monitoring/stats").get_json()["system"]
    assert system["process_rss_bytes"] > 0 and system["machine_memory_total_bytes"] > 0
    assert "process_cpu_percent" in system and "machine_cpu_percent" in system


def test_event_stream_sends_a_stats_event(client: FlaskClient) -> None:
    response = client.get("/monitoring/events?seconds=0")
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    event = next(line for line in text.splitlines() if line.startswith("data: "))
    assert "latency_ms" in json.loads(event.removeprefix("data: "))


def test_monitoring_page_links_its_charts_script(client: FlaskClient) -> None:
    html = client.get("/monitoring").get_data(as_text=True)
    assert "js/monitoring.js" in html and html.count("<canvas") >= 10


def test_metrics_endpoint_exposes_prometheus_counters(
    client: FlaskClient, digit_3_png: bytes
) -> None:
    client.post("/api/predict", data={"image": (io.BytesIO(digit_3_png), "d.png")})
    text = client.get("/metrics").get_data(as_text=True)
    assert "inference_request_duration_seconds" in text
