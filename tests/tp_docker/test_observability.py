"""Metrics in Prometheus format and JSON logs carrying the request id."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from TP_Docker.app import create_app
from TP_Docker.settings import Settings


def _samples(text: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_metrics_count_requests_per_model_version_and_status(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server()
    httpx.post(live.url + "/v2/models/mlp/infer", json=good_body)
    httpx.post(live.url + "/v2/models/mlp/versions/1/infer", json={"inputs": []})
    samples = _samples(httpx.get(live.url + "/metrics").text)
    counts = {
        (s.labels["model"], s.labels["version"], s.labels["status"]): s.value
        for s in samples["inference_request_duration_seconds_count"]
    }
    assert counts == {("mlp", "2", "200"): 1.0, ("mlp", "1", "400"): 1.0}


def test_metrics_expose_batch_sizes_queue_depth_and_load_time(
    make_server: Callable[..., Any], good_body: dict[str, Any]
) -> None:
    live = make_server()
    httpx.post(live.url + "/v2/models/mlp/infer", json=good_body)
    samples = _samples(httpx.get(live.url + "/metrics").text)
    assert any(s.labels["model"] == "mlp" for s in samples["inference_batch_size_count"])
    assert {s.labels["model"] for s in samples["inference_queue_depth"]} == {"mlp", "adder"}
    assert all(s.value > 0 for s in samples["model_load_duration_seconds"])


def test_two_apps_in_one_process_keep_separate_registries(tmp_path: Path) -> None:
    first = create_app(Settings(model_repository=tmp_path))
    second = create_app(Settings(model_repository=tmp_path))
    assert first.state.plane.metrics.registry is not second.state.plane.metrics.registry


def test_each_request_writes_one_json_log_line_with_its_request_id(
    make_server: Callable[..., Any], capfd: pytest.CaptureFixture[str]
) -> None:
    live = make_server()
    capfd.readouterr()
    httpx.get(live.url + "/v2/models/mlp", headers={"X-Request-ID": "trace-42"})
    access: list[dict[str, Any]] = []
    text = ""
    deadline = time.monotonic() + 3  # access lines are written in batches, within 0.2 s
    while not access and time.monotonic() < deadline:
        time.sleep(0.05)
        text += capfd.readouterr().err
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        access = [e for e in lines if e.get("request_id") == "trace-42"]
    assert len(access) == 1
    assert access[0]["status"] == 200 and access[0]["path"] == "/v2/models/mlp"
