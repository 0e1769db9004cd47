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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

import pytest

from TP_Flask.settings import Settings
from utils.paths import PROJECT_ROOT, TESTDATA

APP_SCRIPT = PROJECT_ROOT / "TP_Flask" / "app.py"
GUNICORN = Path(sys.executable).parent / "gunicorn"


ATTEMPTS = 3
"""Starts tried when the script must bind a port itself (another process may take it)."""


def free_port() -> int:
    """A port free a moment ago: another process may take it before the child binds it, so
    :func:`script_on_a_free_port` retries, and gunicorn gets a socket instead (below)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def listening_socket() -> Iterator[socket.socket]:
    """A socket bound to 127.0.0.1 and listening, for a child to inherit (``fd://N``):
    the port is never free between choosing it and serving on it."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.set_inheritable(True)
        yield sock
    finally:
        sock.close()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no PYTHONPATH, no WEB_* left over from the tests."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("WEB_")}
    env.pop("PORT", None)
    env.pop("FORWARDED_ALLOW_IPS", None)
    env.update(extra)
    return env


class PortTaken(AssertionError):
    """The child could not bind its port: someone took it after :func:`free_port`."""


@contextmanager
def running(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    port: int,
    pass_fds: tuple[int, ...] = (),
) -> Iterator[str]:
    """Start ``command``, wait until /api/health answers 200, stop it at the end."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=pass_fds,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                error = PortTaken if "Address already in use" in output else AssertionError
                raise error(f"the server exited with {process.returncode}:\n{output}")
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
        if process.stdout:
            process.stdout.close()


@contextmanager
def script_on_a_free_port(
    start: Callable[[int], AbstractContextManager[str]],
    ports: Callable[[], int] = free_port,
) -> Iterator[str]:
    """``start(port)`` on a free port, on a new one when another process took it first.

    The script binds the port itself (that is what the tests check), so it cannot inherit
    a socket as gunicorn does; a retry closes the race instead.
    """
    for attempt in range(1, ATTEMPTS + 1):
        with ExitStack() as stack:
            try:
                url = stack.enter_context(start(ports()))
            except PortTaken:
                if attempt == ATTEMPTS:
                    raise
                continue
            yield url
            return


def script_with_flag(cwd: Path) -> Callable[[int], AbstractContextManager[str]]:
    """``python TP_Flask/app.py --port N`` from ``cwd``, as a starter for the retry."""

    def start(port: int) -> AbstractContextManager[str]:
        command = [sys.executable, str(APP_SCRIPT), "--port", str(port)]
        return running(command, cwd=cwd, env=clean_env(), port=port)

    return start


def test_script_serves_the_page_on_the_port_of_the_flag_from_any_folder(tmp_path: Path) -> None:
    with (
        script_on_a_free_port(script_with_flag(tmp_path)) as url,
        urllib.request.urlopen(url + "/", timeout=5) as response,
    ):
        assert '<canvas id="pad"' in response.read().decode()


def test_script_reads_the_port_from_the_port_variable(tmp_path: Path) -> None:
    def start(port: int) -> AbstractContextManager[str]:
        command = [sys.executable, str(APP_SCRIPT)]
        return running(command, cwd=tmp_path, env=clean_env(PORT=str(port)), port=port)

    with (
        script_on_a_free_port(start) as url,
        urllib.request.urlopen(url + "/api/models", timeout=5) as response,
    ):
        assert json.load(response)["default_digit_model"]["state"] == "READY"


def test_script_started_on_a_port_someone_took_meanwhile_retries_on_another(
    tmp_path: Path,
) -> None:
    """The race the retry exists for, forced: the first port offered is already taken."""
    with listening_socket() as taken:
        offered = iter([taken.getsockname()[1], free_port()])
        with (
            script_on_a_free_port(script_with_flag(tmp_path), ports=lambda: next(offered)) as url,
            urllib.request.urlopen(url + "/api/health", timeout=5) as response,
        ):
            assert response.status == 200
            assert not url.endswith(f":{taken.getsockname()[1]}")


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
    env = clean_env(WEB_WORKERS="2", WEB_SERVE_MODELS="digits_torch")
    image = (TESTDATA / "digit_3.png").read_bytes()
    with (
        listening_socket() as sock,
        running(
            [
                str(GUNICORN),
                "-c",
                "TP_Flask/gunicorn.conf.py",
                "--bind",
                f"fd://{sock.fileno()}",
                "--worker-class",
                "sync",
                "TP_Flask.app:create_app()",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            port=sock.getsockname()[1],
            pass_fds=(sock.fileno(),),
        ) as url,
    ):
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


# -- the settings of both servers come from one typed Settings object --------------------


def test_script_with_a_misspelt_log_level_stops_with_one_line_naming_the_variable(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, str(APP_SCRIPT), "--port", "0"],
        cwd=tmp_path,
        env=clean_env(WEB_LOG_LEVEL="verbose"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: WEB_LOG_LEVEL='verbose'"), lines
    assert "'DEBUG'" in lines[0]


def test_log_level_accepts_a_level_name_in_lower_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_LOG_LEVEL", "debug")
    assert Settings().log_level == "DEBUG"


def gunicorn_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``gunicorn --print-config`` with the config file, from an unrelated folder: gunicorn
    resolves every setting (and loads the app) without binding a port."""
    return subprocess.run(
        [
            str(GUNICORN),
            "-c",
            str(PROJECT_ROOT / "TP_Flask" / "gunicorn.conf.py"),
            "--print-config",
            "TP_Flask.app:create_app()",
        ],
        cwd=tmp_path,
        env=clean_env(WEB_SERVE_MODELS="digits_torch", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def printed_setting(output: str, name: str) -> str:
    match = re.search(rf"^{name}\s+= (.+)$", output, re.MULTILINE)
    assert match, f"gunicorn printed no {name}:\n{output}"
    return match.group(1)


def test_gunicorn_reads_bind_workers_threads_and_trusted_proxies_from_the_settings(
    tmp_path: Path,
) -> None:
    done = gunicorn_config(
        tmp_path,
        WEB_HOST="127.0.0.1",
        PORT="7123",
        WEB_WORKERS="3",
        WEB_THREADS="5",
        FORWARDED_ALLOW_IPS="10.1.2.3",
    )
    assert done.returncode == 0, done.stderr
    assert printed_setting(done.stdout, "bind") == "['127.0.0.1:7123']"
    assert printed_setting(done.stdout, "workers") == "3"
    assert printed_setting(done.stdout, "threads") == "5"
    assert printed_setting(done.stdout, "forwarded_allow_ips") == "['10.1.2.3']"


def test_gunicorn_listens_on_every_interface_when_web_host_is_unset(tmp_path: Path) -> None:
    done = gunicorn_config(tmp_path)
    assert done.returncode == 0, done.stderr
    assert printed_setting(done.stdout, "bind") == "['0.0.0.0:5000']"
    assert printed_setting(done.stdout, "workers") == "2"


@pytest.mark.parametrize(
    ("variable", "value"), [("WEB_WORKERS", "many"), ("WEB_THREADS", "0"), ("WEB_PORT", "http")]
)
def test_gunicorn_with_a_malformed_variable_stops_with_one_line_naming_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    done = gunicorn_config(tmp_path, **{variable: value})
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {variable}='{value}'"), lines
