"""Dynamic batching merges concurrent requests and routes each answer to its caller."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from utils.deployment_helpers import InferenceScheduler, ModelRepository
from utils.errors import Overloaded


def _requests(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(42)
    return [rng.random((1 + i % 3, 64), dtype=np.float32) for i in range(n)]


@pytest.mark.parametrize("in_flight", [1, 2])
def test_concurrent_requests_are_merged_and_each_caller_gets_its_own_rows(
    repository: ModelRepository, in_flight: int
) -> None:
    model = repository.get("mlp")
    batches: list[int] = []
    inputs = _requests(24)

    async def scenario() -> list[np.ndarray]:
        with ThreadPoolExecutor(2) as pool:
            scheduler = InferenceScheduler(
                pool, max_in_flight=in_flight, on_batch=lambda m, rows: batches.append(rows)
            )
            outs = await asyncio.gather(*(scheduler.infer(model, {"input": x}) for x in inputs))
            await scheduler.shutdown()
        return [o["logits"] for o in outs]

    results = asyncio.run(scenario())
    for x, got in zip(inputs, results, strict=True):
        np.testing.assert_allclose(got, model.predict({"input": x})["logits"], rtol=1e-5, atol=1e-6)
    assert len(batches) < len(inputs)
    assert max(batches) <= model.batching.max_batch_size


def test_a_full_queue_refuses_at_once_with_overloaded(repository: ModelRepository) -> None:
    model = repository.get("mlp")

    async def scenario() -> list[object]:
        with ThreadPoolExecutor(1) as pool:
            scheduler = InferenceScheduler(pool, max_queue_size=2)
            x = np.zeros((1, 64), np.float32)
            results = await asyncio.gather(
                *(scheduler.infer(model, {"input": x}) for _ in range(10)), return_exceptions=True
            )
            await scheduler.shutdown()
        return results

    results = asyncio.run(scenario())
    refused = [r for r in results if isinstance(r, Overloaded)]
    assert refused and all(r.retry_after_s > 0 for r in refused)
    assert any(isinstance(r, dict) for r in results)


def test_batching_off_runs_one_call_per_request(repository: ModelRepository) -> None:
    model = repository.get("mlp")
    batches: list[int] = []

    async def scenario() -> None:
        with ThreadPoolExecutor(2) as pool:
            scheduler = InferenceScheduler(
                pool, batching=False, on_batch=lambda m, r: batches.append(r)
            )
            x = np.zeros((1, 64), np.float32)
            await asyncio.gather(*(scheduler.infer(model, {"input": x}) for _ in range(8)))

    asyncio.run(scenario())
    assert batches == [1] * 8


def test_retiring_a_model_lets_its_queued_requests_finish(repository: ModelRepository) -> None:
    model = repository.get("mlp")

    async def scenario() -> list[dict[str, np.ndarray]]:
        with ThreadPoolExecutor(1) as pool:
            scheduler = InferenceScheduler(pool)
            x = np.ones((1, 64), np.float32)
            tasks = [asyncio.ensure_future(scheduler.infer(model, {"input": x})) for _ in range(6)]
            await asyncio.sleep(0)
            scheduler.retire([model])
            late = await scheduler.infer(model, {"input": x})  # a straggler holding the old model
            done = await asyncio.gather(*tasks)
            await scheduler.shutdown()
        return [*done, late]

    results = asyncio.run(scenario())
    assert len(results) == 7
    assert all(r["logits"].shape == (1, 10) for r in results)


@pytest.mark.parametrize("rows_per_request", [1, 3])
def test_shutdown_drains_every_queued_request(
    repository: ModelRepository, rows_per_request: int
) -> None:
    model = repository.get("mlp")

    async def scenario() -> int:
        with ThreadPoolExecutor(1) as pool:
            scheduler = InferenceScheduler(pool)
            x = np.ones((rows_per_request, 64), np.float32)
            tasks = [asyncio.ensure_future(scheduler.infer(model, {"input": x})) for _ in range(12)]
            await asyncio.sleep(0)
            await scheduler.shutdown()
            return sum(t.done() and not t.exception() for t in tasks)

    assert asyncio.run(scenario()) == 12


@pytest.mark.parametrize("in_flight", [1, 2])
def test_batching_off_keeps_at_most_max_in_flight_calls_running_per_model(
    repository: ModelRepository, in_flight: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = repository.get("mlp")
    real_run = model.run
    running = [0]
    peak = [0]
    lock = threading.Lock()

    def slow_run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.02)  # long enough for every pool thread to be offered work
            return real_run(feed)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(model, "run", slow_run)

    async def scenario() -> int:
        with ThreadPoolExecutor(4) as pool:
            scheduler = InferenceScheduler(pool, batching=False, max_in_flight=in_flight)
            x = np.zeros((1, 64), np.float32)
            outs = await asyncio.gather(*(scheduler.infer(model, {"input": x}) for _ in range(8)))
        return len(outs)

    assert asyncio.run(scenario()) == 8
    assert peak[0] == in_flight
