"""Start and stop the real programs of the stack on 127.0.0.1 for the shipping tests.

API replicas are uvicorn processes serving ``TP_Docker.app:app`` on a socket this process
bound to port 0 and handed over (``--fd``), so there is no port race. nginx and
prometheus get a temporary folder for their pid file, logs and data. Every starter returns
an object whose ``stop()`` ends exactly the process it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port that was free a moment ago (for programs that cannot take a socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bound_socket() -> socket.socket:
    """A listening loopback socket on a free port, inheritable by a child process."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for failure messages."""
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Managed:
    """A child process with its log file; ``stop()`` ends it and waits."""

    process: subprocess.Popen[bytes]
    log: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it did not exit in time (a SIGSTOPped one is resumed)."""
        if self.process.poll() is not None:
            return
        try:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout_s)


@dataclass
class ApiReplica(Managed):
    """One uvicorn process serving the FastAPI app."""

    env: dict[str, str] = field(default_factory=dict)


def replica_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a replica: ours, minus API_* settings leaking from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def start_api_replica(
    workdir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    wait_ready: bool = True,
    timeout_s: float = 60.0,
) -> ApiReplica:
    """Start ``uvicorn TP_Docker.app:app`` from the project root on a fresh loopback socket."""
    workdir.mkdir(parents=True, exist_ok=True)
    sock = bound_socket()
    port = int(sock.getsockname()[1])
    log = workdir / f"replica-{port}.log"
    env = replica_env(extra_env)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "TP_Docker.app:app",
                "--fd",
                str(sock.fileno()),
                "--no-access-log",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    sock.close()
    replica = ApiReplica(process=process, log=log, port=port, env=env)
    if wait_ready:
        try:
            wait_until_ready(replica, "/v2/health/ready", timeout_s=timeout_s)
        except BaseException:
            replica.stop()
            raise
    return replica


def wait_until_ready(managed: Managed, path: str, *, timeout_s: float = 60.0) -> None:
    """Poll ``path`` until it answers 200; fail with the log tail if the process died."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if not managed.alive():
            raise RuntimeError(
                f"process exited with {managed.process.returncode} before {path} was ready:\n"
                + tail(managed.log)
            )
        try:
            response = httpx.get(managed.url + path, timeout=2.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise TimeoutError(
        f"{managed.url}{path} not ready after {timeout_s} s ({last}):\n" + tail(managed.log)
    )


def start_nginx(nginx: str, config: Path, workdir: Path, port: int) -> Managed:
    """Run nginx in the foreground on a rendered config, pid and logs in ``workdir``."""
    log = workdir / "nginx.out"
    directives = f"daemon off; pid {workdir / 'nginx.pid'}; error_log {workdir / 'error.log'} info;"
    check = subprocess.run(
        [nginx, "-t", "-p", str(workdir), "-c", str(config), "-g", directives],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused {config}:\n{check.stderr}")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [nginx, "-p", str(workdir), "-c", str(config), "-g", directives],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    managed = Managed(process=process, log=log, port=port)
    try:
        wait_until_ready(managed, "/nginx-health", timeout_s=15.0)
    except BaseException:
        managed.stop()
        raise
    return managed


def start_prometheus(prometheus: str, config: Path, workdir: Path) -> Managed:
    """Run Debian's prometheus on a rendered config with its TSDB in ``workdir``."""
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    managed = Managed(process=process, log=log, port=port)
    try:
        wait_until_ready(managed, "/-/ready", timeout_s=30.0)
    except BaseException:
        managed.stop()
        raise
    return managed


def start_flask_page(workdir: Path, command: list[str], env: dict[str, str]) -> Managed:
    """Run the compose file's Flask command (gunicorn) on a free loopback port."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "flask.log"
    full_env = replica_env({**env, "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port)})
    full_env.pop("PORT", None)
    executable = Path(sys.executable).with_name(command[0])
    with log.open("wb") as out:
        process = subprocess.Popen([str(executable), *command[1:]], cwd=PROJECT_ROOT,
                                   env=full_env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    managed = Managed(process=process, log=log, port=port)
    try:
        wait_until_ready(managed, "/api/health", timeout_s=60.0)
    except BaseException:
        managed.stop()
        raise
    return managed
