"""Starting a live inference server on 127.0.0.1, for the TP_Docker tests.

The server is the real app under uvicorn, on a socket bound to port 0 (no port race,
nothing listens outside), in a thread of the test process; ``wait_ready`` polls
``/v2/health/ready`` like a readiness probe. Models are tiny ONNX files built with
onnx.helper into a temporary repository, so these tests need no framework.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from TP_Docker.app import create_app, uvicorn_options
from TP_Docker.settings import Settings
from utils.testing.toy_models import publish_adder, publish_mlp


@dataclass
class LiveServer:
    """A running server: its URL, its app, and a way to stop it."""

    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def host_port(self) -> str:
        return self.url.removeprefix("http://")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_server(settings: Settings, *, wait_ready: bool = True) -> LiveServer:
    """Start the app on a free loopback port and wait until it answers (and is ready)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings)
    options = uvicorn_options(settings)
    options["timeout_graceful_shutdown"] = 10
    config = uvicorn.Config(app, lifespan="on", **options)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{port}", app, server, thread)
    deadline = time.monotonic() + 20
    path = "/v2/health/ready" if wait_ready else "/v2/health/live"
    while time.monotonic() < deadline:
        try:
            if httpx.get(live.url + path, timeout=1).status_code == 200:
                return live
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    live.stop()
    raise RuntimeError(f"server at {live.url} did not become ready")


def listening_socket() -> socket.socket:
    """A loopback socket bound to port 0 and listening, that a child process can inherit.

    Hand it to a server process (``API_FD=<fd>`` or ``uvicorn --fd <fd>``, with
    ``pass_fds``) instead of probing a free port and letting the child bind it later: no
    other process can take the port in between. Close it once the child has started.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def build_repository(root: Path) -> Path:
    """``mlp`` (versions 1 and 2, max batch 8) and the two-input ``adder``."""
    publish_mlp(root, "mlp", seed=1, max_batch_size=8)
    publish_mlp(root, "mlp", seed=2, max_batch_size=8)
    publish_adder(root)
    return root


def settings_for(root: Path, **overrides: Any) -> Settings:
    """Test settings: JSON logs, a generous rate limit, a prediction log of the server's
    own in a temporary folder (not the project's ``out/``), the rest as in production."""
    values: dict[str, Any] = {
        "model_repository": root,
        "log_json": True,
        "rate_limit": "10000/second",
        "prediction_log_url": f"sqlite:///{Path(tempfile.mkdtemp(prefix='api-log-')) / 'log.db'}",
    }
    values.update(overrides)
    return Settings(**values)


def infer_body(rows: list[list[float]], name: str = "input") -> dict[str, Any]:
    """A v2 JSON request for the mlp (FP32 [-1, 64])."""
    return {
        "inputs": [
            {
                "name": name,
                "shape": [len(rows), len(rows[0])],
                "datatype": "FP32",
                "data": [v for row in rows for v in row],
            }
        ]
    }
