"""The infer door (``fast_path.py``) and the socket writes (``http_protocol.py``).

Infer requests take a flat door ahead of the middleware stack; a request carrying an
``Origin`` header when CORS is configured takes the stack (CORS decorates the answer).
Both paths must answer the same requests the same way: these tests send each request once
down each path, to a live server, and compare what comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from TP_Docker.http_protocol import CoalescingTransport
from tp_docker.tp_docker_server import LiveServer, build_repository, settings_for, start_server

KEY = "door-key"
ORIGIN = {"origin": "https://page.example"}
"""With CORS on, an Origin header sends the request down the middleware stack."""


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    repo = build_repository(tmp_path_factory.mktemp("door-models"))
    live = start_server(
        settings_for(repo, api_keys=KEY, cors_origins="https://page.example", max_body_bytes=4096)
    )
    yield live
    live.stop()


def _both_paths(
    live: LiveServer, body: Any, headers: dict[str, str], path: str = "/v2/models/mlp/infer"
) -> tuple[httpx.Response, httpx.Response]:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        door = client.post(path, json=body, headers=headers)
        stack = client.post(path, json=body, headers={**headers, **ORIGIN})
    return door, stack


GOOD = {"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}]}
WRONG_SHAPE = {"inputs": [{**GOOD["inputs"][0], "shape": [2, 64]}]}
TOO_LARGE = {"inputs": [{**GOOD["inputs"][0], "data": [0.5] * 2000}]}


@pytest.mark.parametrize(
    ("case", "body", "headers", "status"),
    [
        ("good request", GOOD, {"x-api-key": KEY}, 200),
        ("no key", GOOD, {}, 401),
        ("wrong key", GOOD, {"x-api-key": "guess"}, 401),
        ("wrong shape", WRONG_SHAPE, {"x-api-key": KEY}, 400),
        ("body over the limit", TOO_LARGE, {"x-api-key": KEY}, 413),
    ],
)  # fmt: skip
def test_door_and_stack_answer_alike(
    cors_server: LiveServer, case: str, body: Any, headers: dict[str, str], status: int
) -> None:
    door, stack = _both_paths(cors_server, body, headers)
    assert (door.status_code, stack.status_code) == (status, status), case
    assert door.headers["content-type"] == stack.headers["content-type"] == "application/json"
    if status == 200:
        assert door.json()["outputs"] == stack.json()["outputs"]
    else:
        door_error = door.json()["error"].replace(door.headers["x-request-id"], "<id>")
        stack_error = stack.json()["error"].replace(stack.headers["x-request-id"], "<id>")
        assert door_error == stack_error


def test_both_paths_echo_the_callers_request_id(cors_server: LiveServer) -> None:
    headers = {"x-api-key": KEY, "x-request-id": "trace-42"}
    door, stack = _both_paths(cors_server, GOOD, headers)
    assert door.headers["x-request-id"] == stack.headers["x-request-id"] == "trace-42"


def test_only_the_stack_path_adds_cors_headers(cors_server: LiveServer) -> None:
    door, stack = _both_paths(cors_server, GOOD, {"x-api-key": KEY})
    assert "access-control-allow-origin" not in door.headers
    assert stack.headers["access-control-allow-origin"] == "https://page.example"


def test_an_unknown_model_is_a_404_on_both_paths(cors_server: LiveServer) -> None:
    door, stack = _both_paths(cors_server, GOOD, {"x-api-key": KEY}, "/v2/models/nope/infer")
    assert door.status_code == stack.status_code == 404


def test_an_unexpected_error_is_a_500_quoting_the_request_id_on_both_paths(
    cors_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the data plane")

    monkeypatch.setattr(cors_server.app.state.plane, "infer_v2", broken)
    for response in _both_paths(cors_server, GOOD, {"x-api-key": KEY, "x-request-id": "bug-1"}):
        assert response.status_code == 500
        assert response.headers["x-request-id"] == "bug-1"
        assert response.json() == {"error": "internal server error; quote request id bug-1"}


def test_door_requests_are_counted_in_the_http_metrics(cors_server: LiveServer) -> None:
    with httpx.Client(base_url=cors_server.url, timeout=10) as client:
        before = _counter(client.get("/metrics", headers={"x-api-key": KEY}).text)
        client.post("/v2/models/mlp/infer", json=GOOD, headers={"x-api-key": KEY})
        after = _counter(client.get("/metrics", headers={"x-api-key": KEY}).text)
    assert after == before + 1


def _counter(metrics: str) -> float:
    """``http_requests_total`` for POST 200 in a Prometheus exposition."""
    for line in metrics.splitlines():
        if line.startswith("http_requests_total{") and 'method="POST"' in line and '"200"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- one socket write per response ------------------------------------------------------


class RecordingTransport(asyncio.Transport):
    """Records what reaches the socket: each write or writelines is one system call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.calls.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.calls.append(b"".join(bytes(d) for d in list_of_data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


def test_response_head_and_body_leave_in_one_write() -> None:
    raw = RecordingTransport()
    transport = CoalescingTransport(raw)
    transport.write(HEAD)
    assert raw.calls == []
    transport.write(b"{}")
    assert raw.calls == [HEAD + b"{}"]


def test_an_interim_100_continue_goes_out_at_once() -> None:
    raw = RecordingTransport()
    CoalescingTransport(raw).write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert raw.calls == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_closing_lets_a_held_head_out_first() -> None:
    raw = RecordingTransport()
    transport = CoalescingTransport(raw)
    transport.write(HEAD)
    transport.close()
    assert raw.calls == [HEAD]
    assert raw.closed


def test_other_calls_reach_the_wrapped_transport() -> None:
    raw = RecordingTransport()
    transport = CoalescingTransport(raw)
    assert transport.is_closing() is False
    raw.close()
    assert transport.is_closing() is True


def test_a_live_server_answers_keep_alive_requests_in_sequence(tmp_path: Path) -> None:
    """Held heads must never mix responses up: many requests on one connection."""
    live = start_server(settings_for(build_repository(tmp_path / "m")))
    try:
        with httpx.Client(base_url=live.url, timeout=10) as client:
            ids = [f"seq-{i}" for i in range(50)]
            got = [
                client.get("/v2/health/live", headers={"x-request-id": rid}).headers["x-request-id"]
                for rid in ids
            ]
    finally:
        live.stop()
    assert got == ids
