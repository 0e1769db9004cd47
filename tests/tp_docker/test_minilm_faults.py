"""MiniLM served by the API as a real process: the faults of issue 10 that need a real text
model (token checks, a bad request among good ones, the memory one request may take)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tp_docker.tp_docker_server import listening_socket
from utils.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

MEMORY_BUDGET_MB = 512


@pytest.fixture(scope="module")
def api(minilm_repository: Path) -> Iterator[tuple[str, int]]:
    """The API on every default model plus MiniLM v1 (fp32) and v2 (int8): (url, pid)."""
    sock = listening_socket()
    env = {
        **os.environ,
        "API_MODEL_REPOSITORY": str(minilm_repository),
        "API_FD": str(sock.fileno()),
        "API_RATE_LIMIT": "",
        "API_LOG_JSON": "true",
        "API_ACCESS_LOG": "false",
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
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server was not ready in 120 s"
            time.sleep(0.2)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def tokens(ids: list[list[int]], mask: list[list[int]] | None = None) -> dict[str, Any]:
    mask = mask if mask is not None else [[1] * len(row) for row in ids]
    rows, width = len(ids), len(ids[0]) if ids else 0
    return {
        "inputs": [
            {"name": "input_ids", "shape": [rows, width], "datatype": "INT64",
             "data": [v for row in ids for v in row]},
            {"name": "attention_mask", "shape": [rows, len(mask[0]) if mask else 0],
             "datatype": "INT64", "data": [v for row in mask for v in row]},
        ]
    }  # fmt: skip


GOOD = [101, 7592, 2088, 102]  # [CLS] hello world [SEP]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(
    ("body", "words"),
    [
        (tokens([[101, 30522, 102]]), "outside the vocabulary"),
        (tokens([[101] + [2088] * 598 + [102]]), "at most 256"),
        (tokens([[]], [[]]), "0 tokens"),
        (tokens([GOOD], [[1, 1, 1]]), "one mask value per token"),
    ],
    ids=["out-of-vocabulary", "600-tokens", "0-tokens", "mask-length"],
)
def test_each_token_mistake_is_a_400_that_says_what_to_send(
    api: tuple[str, int], version: int, body: dict[str, Any], words: str
) -> None:
    url, _ = api
    response = httpx.post(f"{url}/v2/models/minilm/versions/{version}/infer", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


def test_a_bad_request_among_good_ones_fails_alone(api: tuple[str, int]) -> None:
    url, _ = api
    good, bad = tokens([GOOD]), tokens([[101, 30522, 102]])
    bodies = ([good] * 8 + [bad]) * 10

    def send(body: dict[str, Any]) -> int:
        return httpx.post(f"{url}/v2/models/minilm/versions/1/infer", json=body).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(send, bodies))
    assert [c for b, c in zip(bodies, codes, strict=True) if b is good] == [200] * 80
    assert [c for b, c in zip(bodies, codes, strict=True) if b is bad] == [400] * 10


def test_text_can_be_sent_as_a_bytes_tensor(api: tuple[str, int]) -> None:
    url, _ = api
    body = {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES",
                        "data": ["A cat sits on the mat.", "Stocks fell sharply."]}]}  # fmt: skip
    response = httpx.post(f"{url}/v2/models/minilm/infer", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["shape"] == [2, 384]


def test_the_largest_accepted_request_leaves_the_server_under_512_mb(
    api: tuple[str, int],
) -> None:
    url, pid = api
    largest = tokens([[101] + [2088] * 254 + [102]] * 32)  # 32 sequences of 256 tokens
    for version in (1, 2):
        for _ in range(3):
            response = httpx.post(
                f"{url}/v2/models/minilm/versions/{version}/infer", json=largest, timeout=120
            )
            assert response.status_code == 200, response.text
    rss_mb = psutil.Process(pid).memory_info().rss / 1e6
    assert rss_mb < MEMORY_BUDGET_MB, f"{rss_mb:.0f} MB after the largest request"


def test_a_request_over_the_token_limit_is_refused_before_it_costs_memory(
    api: tuple[str, int],
) -> None:
    url, _ = api
    too_long = tokens([[101] + [2088] * 510 + [102]] * 32)  # the issue's [32, 512]
    response = httpx.post(f"{url}/v2/models/minilm/versions/1/infer", json=too_long)
    assert response.status_code == 400
