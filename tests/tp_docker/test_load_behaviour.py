"""Under concurrent load: batched answers reach the right caller; hot reloads fail nothing;
shutdown drains queued requests. Bounded in time and in request count."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from tp_docker.tp_docker_server import build_repository, infer_body
from utils.testing.toy_models import publish_mlp


def _batch_sum_and_count(metrics_text: str) -> tuple[float, float]:
    values = {}
    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name.startswith("inference_batch_size_") and s.labels.get("model") == "mlp":
                values[s.name] = values.get(s.name, 0.0) + s.value
    return values["inference_batch_size_sum"], values["inference_batch_size_count"]


def test_concurrent_clients_each_get_their_own_batched_answer(
    make_server: Callable[..., Any],
) -> None:
    live = make_server()
    model = live.app.state.plane.repository.get("mlp")
    rng = np.random.default_rng(7)
    inputs = [rng.random((1 + i % 2, 64), dtype=np.float32) for i in range(64)]

    async def fire() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=live.url, limits=limits, timeout=20) as client:
            return await asyncio.gather(
                *(client.post("/v2/models/mlp/infer", json=infer_body(x.tolist())) for x in inputs)
            )

    responses = asyncio.run(fire())
    for x, response in zip(inputs, responses, strict=True):
        assert response.status_code == 200
        got = np.asarray(response.json()["outputs"][0]["data"], np.float32).reshape(len(x), 10)
        np.testing.assert_allclose(got, model.predict({"input": x})["logits"], rtol=1e-5, atol=1e-5)
    _, calls = _batch_sum_and_count(httpx.get(live.url + "/metrics").text)
    assert calls < len(inputs), "requests were not merged into batches"


def test_hot_reloads_under_load_fail_no_request(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    repo = build_repository(tmp_path / "reload")
    live = make_server(repo, admin_key="admin")
    failures: list[str] = []
    versions_seen: set[str] = set()
    stop = threading.Event()
    sent = [0]

    def client() -> None:
        with httpx.Client(base_url=live.url, timeout=10) as http:
            while not stop.is_set() and sent[0] < 5000:
                sent[0] += 1
                try:
                    response = http.post("/v2/models/mlp/infer", json=infer_body([[0.5] * 64]))
                except httpx.HTTPError as exc:  # a dropped connection is a failure too
                    failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")
                else:
                    versions_seen.add(response.json()["model_version"])

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for seed in (3, 4, 5):
            time.sleep(0.3)
            publish_mlp(repo, "mlp", seed=seed, max_batch_size=8)
            reload = httpx.post(
                live.url + "/v2/repository/models/mlp/load", headers={"X-Admin-Key": "admin"}
            )
            assert reload.status_code == 200, reload.text
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=20)
    assert failures == []
    assert sent[0] > 20
    assert {"2", "5"} <= versions_seen
    assert live.app.state.plane.repository.get("mlp").version == 5


def test_shutdown_answers_every_queued_request(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    repo = tmp_path / "slow"
    publish_mlp(repo, "mlp", max_batch_size=16, max_queue_delay_us=500_000)  # requests wait
    live = make_server(repo)
    results: list[object] = []

    def one() -> None:
        try:
            body = infer_body([[0.1] * 64])
            response = httpx.post(live.url + "/v2/models/mlp/infer", json=body, timeout=20)
            results.append(response.status_code)
        except httpx.HTTPError as exc:
            results.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    plane = live.app.state.plane
    model = plane.repository.get("mlp")
    deadline = time.monotonic() + 5
    while plane.scheduler.queue_depth(model) < 12 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert plane.scheduler.queue_depth(model) == 12, "the requests did not all queue"
    live.stop()  # what SIGTERM does: stop accepting, finish what is in flight, drain
    for t in threads:
        t.join(timeout=20)
    assert results == [200] * 12


def test_an_empty_repository_is_live_but_never_ready(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    live = make_server(empty, wait_ready=False)
    assert httpx.get(live.url + "/v2/health/live").status_code == 200
    assert httpx.get(live.url + "/v2/health/ready").status_code == 503
