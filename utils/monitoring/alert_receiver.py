"""A webhook receiver for Alertmanager that writes each notification as one JSON line.

``python -m utils.monitoring.alert_receiver --port 9099 [--out alerts.jsonl]``

What a student sees of an alert without a chat or paging account: every POST (Alertmanager's
webhook payload: ``status``, ``receiver``, ``groupLabels``, ``alerts`` with their labels and
annotations) is appended to ``--out`` (standard output by default) with the path it came
to (the receiver's name in ``deploy/alertmanager/alertmanager.yml``). ``GET /health``
answers 200 for container health checks. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, ClassVar

MAX_BODY_BYTES = 1_000_000


class _Handler(BaseHTTPRequestHandler):
    out: ClassVar[IO[str]]
    lock: ClassVar[threading.Lock] = threading.Lock()

    def _answer(self, status: HTTPStatus, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(HTTPStatus.OK if self.path == "/health" else HTTPStatus.NOT_FOUND, b"ok")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY_BYTES:
            self._answer(HTTPStatus.BAD_REQUEST)
            return
        try:
            payload: Any = json.loads(self.rfile.read(length))
        except ValueError:
            self._answer(HTTPStatus.BAD_REQUEST)
            return
        line = json.dumps({"received_at": time.time(), "path": self.path, "payload": payload})
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()
        self._answer(HTTPStatus.OK)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the notifications themselves are the output."""


def serve(host: str, port: int, out: IO[str]) -> ThreadingHTTPServer:
    """A server (not yet serving) that appends notifications to ``out``."""
    handler = type("Handler", (_Handler,), {"out": out})
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9099, help="port (0: any free one)")
    parser.add_argument("--out", type=Path, help="file to append JSON lines to (default: stdout)")
    args = parser.parse_args(argv)
    out = args.out.open("a", encoding="utf-8") if args.out else sys.stdout
    server = serve(args.host, args.port, out)
    sys.stderr.write(f"alert receiver on http://{args.host}:{server.server_address[1]}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
