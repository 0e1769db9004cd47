"""Talk to the inference server the way a client application would, then read its metrics.

    python TP_Docker/client.py --image tests/testdata/digit_3.png          # a running server
    python TP_Docker/client.py --rows my_rows.csv --model iris_rf         # tabular rows
    python TP_Docker/client.py --text "I loved it" "Too slow"              # text models
    python TP_Docker/client.py --start-server --image tests/testdata/digit_3.png

For every model and version the server has READY (found through the Open Inference
Protocol v2 repository index and metadata), the client sends what that model's input kind
takes: the image reduced to the 8x8 form of the training data for digits models, the rows
of ``--rows`` (a .csv with a header, or a .npy) for tabular models and windows of a
series, the sentences of ``--text`` for text models. Each version's answer is printed side
by side, so fp32 and int8 variants can be compared; models that take none of what was
given are skipped. Then the ``/metrics`` lines that an operator watches (requests,
latency, batch sizes) are printed, so one run shows the whole loop: serve, predict, watch.
The client uses the standard library only (urllib), as a minimal client of a v2 server
can, plus numpy to read rows.

``--start-server`` starts ``TP_Docker/app.py`` on a free loopback port for the duration of
the run and stops it at the end (what ``make demo`` does).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Rows:
    """The rows of ``--rows``: cells as written, and the header's column names if any."""

    names: list[str]
    cells: list[list[str]]

    def for_model(self, feature_names: list[str], width: int) -> list[list[float]] | None:
        """This model's rows: its named features picked by name when the header has them
        all (a CSV with a target column, as conversion took it), else every column when
        there are ``width`` of them. None: these rows are not for this model.
        :raise SystemExit: a picked cell is not a finite number."""
        if feature_names and set(feature_names) <= set(self.names):
            columns = [self.names.index(name) for name in feature_names]
        elif self.cells and len(self.cells[0]) == width:
            columns = list(range(width))
        else:
            return None
        try:
            rows = [[float(row[c]) for c in columns] for row in self.cells]
        except (ValueError, IndexError):
            rows = []
        if not rows or not all(math.isfinite(v) for row in rows for v in row):
            raise SystemExit("error: --rows must hold numbers in every feature column (no blanks)")
        return rows


def read_rows(path: Path) -> Rows:
    """Rows from a .npy ([N, F] or one row [F]) or a .csv (with or without a header row of
    column names). :raise SystemExit: another format or an unreadable file."""
    import numpy as np

    try:
        if path.suffix == ".npy":
            array = np.atleast_2d(np.load(path, allow_pickle=False))
            return Rows(
                [], [[repr(float(v)) for v in row] for row in array.reshape(len(array), -1)]
            )
        if path.suffix != ".csv":
            raise SystemExit(f"error: --rows takes a .csv or a .npy file, not {path.name}")
        lines = [row for row in csv.reader(io.StringIO(path.read_text())) if row]
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SystemExit(f"error: cannot read rows from {path}: {exc}") from None
    if not lines:
        raise SystemExit(f"error: {path.name} is empty")
    if _is_header(lines[0]):
        return Rows([cell.strip() for cell in lines[0]], lines[1:])
    return Rows([], lines)


def _is_header(cells: list[str]) -> bool:
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return True
    return False


def _width(metadata: dict[str, Any]) -> int:
    """Numbers per row the model's first input takes (0 when the size is dynamic)."""
    names = metadata["parameters"].get("feature_names") or []
    shape = metadata["inputs"][0]["shape"]
    return len(names) or (shape[-1] if len(shape) == 2 and shape[-1] > 0 else 0)


def inputs_for(metadata: dict[str, Any], given: dict[str, Any]) -> Any:
    """What to send to a model of this input kind, from what was given (None: skip it)."""
    kind = metadata["parameters"].get("input_kind", "tensor")
    if kind == "digits-8x8":
        return given.get("digit")
    if kind == "text":
        return given.get("text")
    rows: Rows | None = given.get("rows")
    if kind in ("tabular", "series", "tensor") and rows is not None:
        names = metadata["parameters"].get("feature_names") or []
        return rows.for_model(list(names), _width(metadata))
    return None


def describe(answer: dict[str, Any]) -> str:
    """One row's answer in a few words, whatever the task."""
    if "probabilities" in answer:
        return f"{answer['label']}  ({answer['probabilities'][answer['index']]:.1%})"
    if "forecast" in answer:
        values = answer["forecast"]
        return (
            "forecast " + ", ".join(f"{v:.3g}" for v in values[:4]) + (" ..." * (len(values) > 4))
        )
    if "is_anomaly" in answer:
        return f"score {answer['score']:.3g}  {'ANOMALY' if answer['is_anomaly'] else 'normal'}"
    if "value" in answer:
        return f"value {answer['value']:.4g}"
    if "values" in answer:
        return "values " + ", ".join(f"{v:.3g}" for v in answer["values"][:4])
    if "embedding" in answer:
        return f"embedding of {len(answer['embedding'])} numbers"
    return json.dumps(answer)[:60]


def predict_everywhere(
    url: str, given: dict[str, Any], *, api_key: str = "", only: str | None = None
) -> int:
    """Send each READY model version what its input kind takes; print what it answers.

    Returns how many versions answered. ``/predict`` does the rest server-side (reshape to
    the model's layout, softmax where the model gives logits, the task's decoding).
    """
    index = _call(f"{url}/v2/repository/index", {}, api_key=api_key)
    print("\nwhat every model version the server has READY answers")
    print(
        f"{'model':<16}{'version':>8}  {'variant':<12}{'answer (first row)':<40}{'round trip':>10}"
    )
    answered = 0
    for entry in sorted(index, key=lambda e: (e["name"], int(e["version"] or 0))):
        if entry["state"] != "READY" or (only and entry["name"] != only):
            continue
        name, version = entry["name"], int(entry["version"])
        metadata = _call(f"{url}/v2/models/{name}/versions/{version}", api_key=api_key)
        inputs = inputs_for(metadata, given)
        if inputs is None:
            continue
        started = time.perf_counter()
        answer = _call(
            f"{url}/predict", {"model": name, "version": version, "inputs": inputs}, api_key=api_key
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        variant = metadata["parameters"].get("variant", "")
        first = describe(answer["predictions"][0])
        print(f"{name:<16}{version:>8}  {variant:<12}{first:<40}{elapsed_ms:>7.2f} ms")
        answered += 1
    if answered == 0:
        print("  (no READY model takes what was given: try --image, --rows or --text)")
    return answered


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
    parser = argparse.ArgumentParser(
        prog="python TP_Docker/client.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server to talk to")
    parser.add_argument("--image", type=Path, help="PNG/JPEG of a digit (digits models)")
    parser.add_argument("--rows", type=Path, help=".csv or .npy rows (tabular models, windows)")
    parser.add_argument("--text", nargs="+", help="sentences (text models)")
    parser.add_argument("--model", help="only this model (default: every READY model)")
    parser.add_argument("--api-key", default=os.environ.get("API_KEY", ""), help="X-API-Key")
    parser.add_argument(
        "--start-server", action="store_true", help="start TP_Docker/app.py on a free port first"
    )
    args = parser.parse_args(argv)
    if not (args.image or args.rows or args.text):
        parser.error("give something to send: --image, --rows or --text")
    try:
        given: dict[str, Any] = {"text": args.text}
        if args.image:
            given["digit"] = [image_to_digit(args.image.read_bytes()).ravel().tolist()]
        if args.rows:
            given["rows"] = read_rows(args.rows)
        if args.start_server:
            with running_server() as url:
                predict_everywhere(url, given, api_key=args.api_key, only=args.model)
                watch(url)
        else:
            predict_everywhere(args.url, given, api_key=args.api_key, only=args.model)
            watch(args.url)
    except ToolkitError as exc:
        raise SystemExit(f"error: {exc}") from None
    except FileNotFoundError as exc:
        raise SystemExit(f"error: {exc.filename} does not exist") from None


if __name__ == "__main__":
    main()
