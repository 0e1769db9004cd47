"""The monitoring feed, its rolling window, and the psutil sampler behind it."""

from __future__ import annotations

import io
import json
import os
import time

from flask.testing import FlaskClient

from TP_Flask.live_stats import LiveStats, RequestRecord, percentile
from utils.digits import load_split
from utils.monitoring.system import SystemSampler


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_percentile_returns_a_measured_value_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile([], 50)) == (50.0, 99.0, 0.0)


def test_live_stats_forget_requests_older_than_the_window() -> None:
    clock = FakeClock()
    stats = LiveStats(window_s=10, clock=clock)
    stats.record(RequestRecord(at_s=clock.now, status=200, latency_ms=5.0))
    clock.now += 11
    stats.record(RequestRecord(at_s=clock.now, status=200, latency_ms=1.0))
    snapshot = stats.snapshot()
    assert snapshot["latency_ms"]["count"] == 1 and snapshot["totals"]["requests"] == 2


def test_live_stats_error_rate_counts_4xx_and_5xx() -> None:
    clock = FakeClock()
    stats = LiveStats(window_s=10, clock=clock)
    for status in (200, 200, 400, 500):
        stats.record(RequestRecord(at_s=clock.now, status=status, latency_ms=1.0))
    assert stats.snapshot()["error_rate"] == 0.5


def test_live_stats_series_put_each_request_in_its_second() -> None:
    clock = FakeClock()
    stats = LiveStats(window_s=5, clock=clock)
    for offset in (-4.5, -0.2, -0.1):
        stats.record(RequestRecord(at_s=clock.now + offset, status=200, latency_ms=1.0))
    assert stats.snapshot()["requests_per_s_series"] == [1, 0, 0, 0, 2]


def test_live_stats_count_predictions_per_model_and_class_but_not_failures() -> None:
    clock = FakeClock()
    stats = LiveStats(window_s=10, clock=clock)
    stats.record(RequestRecord(clock.now, 200, 1.0, model="m", version=2, predicted=("7", "1")))
    stats.record(RequestRecord(clock.now, 400, 1.0, model="m", version=2))
    snapshot = stats.snapshot()
    assert snapshot["predictions_per_model"] == {"m v2": 2}
    assert snapshot["class_counts"] == {"1": 1, "7": 1}


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


def test_live_stats_latency_series_has_a_gap_for_a_quiet_bucket() -> None:
    clock = FakeClock()
    stats = LiveStats(window_s=60, clock=clock)
    stats.record(RequestRecord(at_s=clock.now - 1, status=200, latency_ms=4.0))
    series = stats.snapshot()["latency_series"]["p50"]
    assert len(series) == 12 and series[-1] == 4.0 and series[0] is None


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
    assert "js/monitoring.js" in html and html.count("<canvas") >= 7


def test_metrics_endpoint_exposes_prometheus_counters(
    client: FlaskClient, digit_3_png: bytes
) -> None:
    client.post("/api/predict", data={"image": (io.BytesIO(digit_3_png), "d.png")})
    text = client.get("/metrics").get_data(as_text=True)
    assert "inference_request_duration_seconds" in text
