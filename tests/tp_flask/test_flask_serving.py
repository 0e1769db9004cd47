"""The two ways to serve the app: `python TP_Flask/app.py` and gunicorn, as real processes."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from utils.paths import PROJECT_ROOT, TESTDATA

APP_SCRIPT = PROJECT_ROOT / "TP_Flask" / "app.py"
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no PYTHONPATH, no WEB_* left over from the tests."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("WEB_")}
    env.pop("PORT", None)
    env.update(extra)
    return env


@contextmanager
def running(command: list[str], *, cwd: Path, env: dict[str, str], port: int) -> Iterator[str]:
    """Start ``command``, wait until /api/health answers 200, stop it at the end."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"the server exited with {process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(url + "/api/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:  # refused while binding, reset or slow while the models load
                pass
            assert time.monotonic() < deadline, "the server did not become healthy in 30 s"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_script_serves_the_page_on_the_port_of_the_flag_from_any_folder(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, str(APP_SCRIPT), "--port", str(port)]
    with (
        running(command, cwd=tmp_path, env=clean_env(), port=port) as url,
        urllib.request.urlopen(url + "/", timeout=5) as response,
    ):
        assert '<canvas id="pad"' in response.read().decode()


def test_script_reads_the_port_from_the_port_variable(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, str(APP_SCRIPT)]
    with (
        running(command, cwd=tmp_path, env=clean_env(PORT=str(port)), port=port) as url,
        urllib.request.urlopen(url + "/api/models", timeout=5) as response,
    ):
        assert json.load(response)["default_digit_model"]["state"] == "READY"


def _multipart(token: str, image: bytes, boundary: str) -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            'name="image"; filename="d.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )


def _hold_a_worker(opener: urllib.request.OpenerDirector, url: str):  # type: ignore[no-untyped-def]
    """Open the event stream: a sync worker serving it accepts nothing else for ~2 s.

    Returns the open response and the pid of the worker that holds it.
    """
    response = opener.open(url + "/monitoring/events?seconds=3", timeout=10)
    for line in response:
        if line.startswith(b"data: "):
            return response, json.loads(line[6:])["system"]["pid"]
    raise AssertionError("the event stream sent no data")


def test_gunicorn_workers_share_one_secret_so_a_form_from_one_passes_csrf_on_the_other() -> None:
    """The page comes from one worker and the form post lands on the other: it must pass.

    Sync workers make this deterministic: a worker busy with an event stream accepts no
    other connection, so the next request goes to the other one.
    """
    port = free_port()
    command = [
        str(GUNICORN),
        "-c",
        "TP_Flask/gunicorn.conf.py",
        "--worker-class",
        "sync",
        "TP_Flask.app:create_app()",
    ]
    env = clean_env(
        PORT=str(port), WEB_HOST="127.0.0.1", WEB_WORKERS="2", WEB_SERVE_MODELS="digits_torch"
    )
    image = (TESTDATA / "digit_3.png").read_bytes()
    with running(command, cwd=PROJECT_ROOT, env=env, port=port) as url:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        stream, busy_pid = _hold_a_worker(opener, url)
        with opener.open(url + "/", timeout=5) as response:  # served by the other worker
            token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode())
        stream.close()
        assert token
        for _ in range(20):  # until the page's worker is the busy one
            stream, pid = _hold_a_worker(opener, url)
            if pid != busy_pid:
                break
            stream.close()
            time.sleep(2.5)  # let that stream end, so its worker is free again
        else:
            raise AssertionError("the page's worker never took an event stream")
        request = urllib.request.Request(
            url + "/predict",
            data=_multipart(token.group(1), image, "tp-flask"),
            headers={
                "Content-Type": "multipart/form-data; boundary=tp-flask",
                "Accept": "application/json",
            },
        )
        with opener.open(request, timeout=10) as response:
            assert json.load(response)["predictions"][0]["label"] == "3"
        stream.close()
