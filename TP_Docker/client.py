"""Talk to the inference server the way a client application would, then read its metrics.

    python TP_Docker/client.py --image tests/testdata/digit_3.png          # a running server
    python TP_Docker/client.py --start-server --image tests/testdata/digit_3.png

For every model and version the server has READY (found through the Open Inference
Protocol v2 repository index and metadata), the image is reduced to the 8x8 form of the
training data and sent to ``/predict``; each version's answer is printed side by side, so
fp32 and int8 variants can be compared. Then the ``/metrics`` lines that an
operator watches (requests, latency, batch sizes) are printed, so one run shows the whole
loop: serve, predict, watch. The client uses the standard library only (urllib), as a
minimal client of a v2 server can.

``--start-server`` starts ``TP_Docker/app.py`` on a free loopback port for the duration of
the run and stops it at the end (what ``make demo`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no PYTHONPATH

from utils.errors import ToolkitError
from utils.preprocessing import image_to_digit

APP = Path(__file__).resolve().parent / "app.py"
WATCHED_METRICS = (
    "inference_requests_total",
    "inference_request_duration_seconds_count",
    "inference_batch_size_sum",
    "inference_batch_size_count",
)


def _call(url: str, body: dict[str, Any] | None = None, *, api_key: str = "") -> Any:
    """GET (or POST JSON) and decode the answer; a 4xx/5xx becomes a one-line error."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Content-Type", "application/json")
    if api_key:
        request.add_header("X-API-Key", api_key)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise SystemExit(f"error: {url} answered {exc.code}: {detail}") from None
    except urllib.error.URLError as exc:
        reason = f"cannot reach {url} ({exc.reason}): is the server running?"
        raise SystemExit(f"error: {reason}") from None
    return json.loads(text) if text.lstrip().startswith(("{", "[")) else text


def _listening_socket() -> socket.socket:
    """A loopback socket bound to a free port, listening, that a child process can inherit.

    The server gets the socket itself (``API_FD``), so no other process can take the port
    between the moment it is chosen and the moment the server listens on it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _tail(log: IO[bytes], lines: int = 20) -> str:
    """The last lines the server wrote to its log file (why it died, usually)."""
    log.flush()
    log.seek(0)
    text = log.read().decode(errors="replace")
    return "\n".join(text.strip().splitlines()[-lines:])


@contextmanager
def running_server(timeout_s: float = 30.0) -> Iterator[str]:
    """Start TP_Docker/app.py on a free loopback port; yield its URL once ready; stop it.

    The server's stderr goes to a temporary file, not a pipe: a pipe nobody reads while
    the server runs fills up (64 KiB of log lines) and then blocks the server's logging.
    The file's tail is shown when the server dies.
    """
    sock = _listening_socket()
    port = int(sock.getsockname()[1])
    env = {**os.environ, "API_FD": str(sock.fileno()), "API_LOG_JSON": "false"}
    env.pop("API_PORT", None)
    with tempfile.TemporaryFile() as log, sock:
        server = subprocess.Popen(
            [sys.executable, str(APP)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            pass_fds=(sock.fileno(),),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    raise SystemExit(f"error: the server exited; its last lines:\n{_tail(log)}")
                try:
                    with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=1):
                        break
                except OSError:  # refused, reset, timed out, or 503 while loading
                    time.sleep(0.1)
            else:
                raise SystemExit(f"error: the server was not ready within {timeout_s:.0f} s")
            print(f"server started on {url} (pid {server.pid})")
            yield url
        finally:
            server.terminate()
            server.wait(timeout=15)
            print("server stopped")


def predict_everywhere(url: str, image: Path, *, api_key: str = "") -> None:
    """Send the image to every READY digits model version and print what each one reads.

    The 8x8 digit goes to ``/predict`` as one row of 64 values: the server reshapes it to
    each model's layout (NCHW, NHWC or flat) and applies softmax where the model gives
    logits, so the client need not know either.
    """
    row = image_to_digit(image.read_bytes()).ravel().tolist()
    index = _call(f"{url}/v2/repository/index", {}, api_key=api_key)
    print(f"\n{image.name}: what every model version the server has READY reads")
    header = f"{'model':<16}{'version':>8}  {'variant':<12}{'label':>6}  {'confidence':>10}"
    print(f"{header}  {'round trip':>10}")
    for entry in sorted(index, key=lambda e: (e["name"], int(e["version"] or 0))):
        if entry["state"] != "READY":
            continue
        name, version = entry["name"], int(entry["version"])
        metadata = _call(f"{url}/v2/models/{name}/versions/{version}", api_key=api_key)
        if metadata["parameters"].get("task") != "classification":
            continue  # e.g. the sentence-embedding model
        started = time.perf_counter()
        answer = _call(
            f"{url}/predict", {"model": name, "version": version, "inputs": [row]}, api_key=api_key
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        best = answer["predictions"][0]
        confidence = best["probabilities"][best["index"]]
        variant = metadata["parameters"].get("variant", "")
        print(
            f"{name:<16}{version:>8}  {variant:<12}{best['label']:>6}  {confidence:>10.1%}"
            f"  {elapsed_ms:>7.2f} ms"
        )


def watch(url: str) -> None:
    """Print the metric lines an operator would graph, as the server exports them."""
    text = _call(f"{url}/metrics")
    lines = [
        line
        for line in str(text).splitlines()
        if (line.startswith(WATCHED_METRICS) and 'status="200"' in line) or "batch_size_" in line
    ]
    print(f"\nwhat Prometheus scrapes from {url}/metrics (excerpt):")
    for line in lines[:12]:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server to talk to")
    parser.add_argument("--image", type=Path, required=True, help="PNG/JPEG of a digit")
    parser.add_argument("--api-key", default=os.environ.get("API_KEY", ""), help="X-API-Key")
    parser.add_argument(
        "--start-server", action="store_true", help="start TP_Docker/app.py on a free port first"
    )
    args = parser.parse_args(argv)
    try:
        if args.start_server:
            with running_server() as url:
                predict_everywhere(url, args.image, api_key=args.api_key)
                watch(url)
        else:
            predict_everywhere(args.url, args.image, api_key=args.api_key)
            watch(args.url)
    except ToolkitError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
