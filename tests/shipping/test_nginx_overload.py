"""A queue-full 503 (the API shedding load, with Retry-After) is an answer, not a failure:
nginx hands it to the client and keeps sending traffic to that replica. Retrying it, or
counting it towards max_fails, would eject a healthy replica for fail_timeout and push the
whole burst onto the other one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .load import run_load
from .loopback import compose_environment
from .stack import NginxStack, nginx_stack

BURST_REQUESTS = 300
BURST_CONCURRENCY = 32
AFTER_BURST = 12


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[NginxStack]:
    """Replica 0 takes one request at a time (queue of 1, no batching); replica 1 the
    compose defaults. Rate limit off: every request comes from one loopback client."""
    base = {**compose_environment("api-1"), "API_RATE_LIMIT": ""}
    tiny_queue = {**base, "API_MAX_QUEUE_SIZE": "1", "API_BATCHING": "false"}
    with nginx_stack(tmp_path, [tiny_queue, base]) as running:
        yield running


@pytest.fixture
def infer_body(digit_samples: tuple[list[list[float]], list[int]]) -> dict[str, Any]:
    rows, _ = digit_samples
    return {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": rows[0]}]}


def test_a_burst_beyond_one_replicas_queue_does_not_eject_it_from_the_balancer(
    stack: NginxStack, infer_body: dict[str, Any]
) -> None:
    url = stack.url("/v2/models/digits_sklearn/infer")
    burst = run_load(url, infer_body, total=BURST_REQUESTS, concurrency=BURST_CONCURRENCY)
    # The small replica really overflowed, and its 503s reached the client (not retried).
    assert burst.statuses[503] > 0, burst.summary()
    assert set(burst.statuses) <= {200, 503} and not burst.errors, burst.summary()
    # Right after the burst (well within fail_timeout), both replicas still get requests.
    for n in range(AFTER_BURST):
        response = httpx.post(url, json=infer_body, headers={"X-Request-ID": f"after-{n}"})
        assert response.status_code == 200
    answered = set(stack.upstreams_of("after-"))
    assert answered == {f"127.0.0.1:{r.port}" for r in stack.replicas}, answered


def test_a_queue_full_503_reaches_the_client_with_its_retry_after(
    stack: NginxStack, infer_body: dict[str, Any]
) -> None:
    url = stack.url("/v2/models/digits_sklearn/infer")
    import asyncio

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(
                *(client.post(url, json=infer_body) for _ in range(BURST_CONCURRENCY))
            )

    shed = [r for r in asyncio.run(burst()) if r.status_code == 503]
    assert shed, "no request was shed: the burst did not overflow the small replica"
    assert all(r.headers.get("retry-after") for r in shed)
