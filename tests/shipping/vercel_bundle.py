"""Build the Vercel function with Vercel's own CLI, then run it as Vercel would.

`vercel build` installs requirements.txt INTO the folder it builds (pip --target), so it
runs on a copy of the project, never on the work tree. The function's files are listed
in ``.vc-config.json``'s ``filePathMap`` (path in the bundle -> source file); copying them
into an empty folder gives the function exactly as deployed. It is started through the
bundle's own ``vc__handler__python.py`` (Vercel's runtime shim), which connects to a unix
socket named by ``VERCEL_IPC_PATH``, reports the HTTP port it serves on, and expects
Vercel's internal request headers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Vercel's CLI is pinned (exact version + lock file) in deploy/ci/package.json and
# installed with `npm ci --prefix deploy/ci`: the build is reproducible, never `npx vercel@44`.
CI_NODE_PROJECT = PROJECT_ROOT / "deploy" / "ci"
VERCEL_BIN = CI_NODE_PROJECT / "node_modules" / ".bin" / "vercel"
STUB_PROJECT = {"projectId": "prj_local", "orgId": "team_local", "settings": {"framework": None}}
_COPY_IGNORE = shutil.ignore_patterns(
    ".venv*",  # .venv and .venv-sam (make sam-env): never part of a clone
    ".hypothesis",
    ".git",
    "node_modules",
    ".vercel",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "out",
)


def copy_project(dest: Path) -> Path:
    """A copy of the work tree as a clone would have it (no venv, caches or outputs)."""
    shutil.copytree(PROJECT_ROOT, dest, ignore=_COPY_IGNORE, symlinks=True)
    return dest


def _pyenv_versions() -> list[str]:
    if shutil.which("pyenv") is None:
        return []
    listed = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True,
                            check=True)  # fmt: skip
    return listed.stdout.split()


def build_environment() -> dict[str, str]:
    """The Python builder calls `pip3.12`: with pyenv, name 3.11 and 3.12 in PYENV_VERSION;
    without it (CI's setup-python), pip3.12 must already be on PATH."""
    env = {**os.environ, "VERCEL_TELEMETRY_DISABLED": "1", "CI": "1"}
    found = _pyenv_versions()
    picks = [
        next((v for v in found if v.startswith(minor + ".")), None) for minor in ("3.11", "3.12")
    ]
    if all(picks):
        env["PYENV_VERSION"] = ":".join(p for p in picks if p)
    elif shutil.which("pip3.12") is None:
        raise RuntimeError("Vercel's Python builder needs pip3.12: install Python 3.12")
    return env


def pinned_vercel_version() -> str:
    """The exact Vercel CLI version deploy/ci/package.json pins."""
    manifest = json.loads((CI_NODE_PROJECT / "package.json").read_text())
    return str(manifest["dependencies"]["vercel"])


def installed_vercel_version() -> str | None:
    installed = CI_NODE_PROJECT / "node_modules" / "vercel" / "package.json"
    if not installed.is_file() or not VERCEL_BIN.exists():
        return None
    return str(json.loads(installed.read_text())["version"])


def ensure_vercel_cli() -> Path:
    """The pinned CLI, installed from the lock file by `npm ci` when missing or stale."""
    if installed_vercel_version() != pinned_vercel_version():
        subprocess.run(
            ["npm", "ci", "--prefix", str(CI_NODE_PROJECT), "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
            capture_output=True,
        )
    if installed_vercel_version() != pinned_vercel_version():
        raise RuntimeError(f"npm ci did not install vercel {pinned_vercel_version()}")
    return VERCEL_BIN


def build(project: Path, log: Path) -> Path:
    """Run the pinned `vercel build --yes` offline in ``project``; return the function folder."""
    (project / ".vercel").mkdir(exist_ok=True)
    (project / ".vercel" / "project.json").write_text(json.dumps(STUB_PROJECT))
    env = build_environment()
    vercel = ensure_vercel_cli()
    with log.open("wb") as out:
        result = subprocess.run(
            [str(vercel), "build", "--yes"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"vercel build failed ({result.returncode}):\n{log.read_text()[-3000:]}")
    functions = sorted((project / ".vercel" / "output" / "functions").rglob("*.func"))
    if len(functions) != 1:
        raise RuntimeError(f"expected one function, found {functions}")
    return functions[0]


def vc_config(function_dir: Path) -> dict[str, object]:
    return dict(json.loads((function_dir / ".vc-config.json").read_text()))


def file_path_map(function_dir: Path, project: Path) -> dict[str, Path]:
    """Path in the bundle -> the source file on disk."""
    mapping = vc_config(function_dir)["filePathMap"]
    assert isinstance(mapping, dict)
    return {dest: (project / source) for dest, source in mapping.items()}


def unzipped_size_bytes(files: dict[str, Path], function_dir: Path) -> int:
    """What Vercel counts against the 250 MB limit: every bundled file, uncompressed."""
    extra = sum(
        p.stat().st_size
        for p in function_dir.iterdir()
        if p.is_file() and p.name != ".vc-config.json"
    )
    return sum(path.stat().st_size for path in files.values()) + extra


def materialize(function_dir: Path, project: Path, dest: Path) -> Path:
    """Copy the function's files (and only them) into ``dest``: the deployed /var/task."""
    for bundle_path, source in file_path_map(function_dir, project).items():
        target = dest / bundle_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    for path in function_dir.iterdir():
        if path.is_file() and path.name != ".vc-config.json":
            shutil.copy2(path, dest / path.name)
    return dest


def runtime_python(function_dir: Path) -> str:
    """The interpreter the bundle names (``python3.12``): from pyenv, else from PATH."""
    version = str(vc_config(function_dir)["runtime"]).removeprefix("python")
    match = next((v for v in _pyenv_versions() if v.startswith(version + ".")), None)
    if match is not None:
        prefix = subprocess.run(["pyenv", "prefix", match], capture_output=True, text=True,
                                check=True).stdout.strip()  # fmt: skip
        return str(Path(prefix) / "bin" / f"python{version}")
    found = shutil.which(f"python{version}")
    if found is None:
        raise RuntimeError(f"the bundle runs on python{version}, which is not installed")
    return found


@dataclass
class RunningFunction:
    """The function's process, its IPC socket and the HTTP port it reported."""

    process: subprocess.Popen[bytes]
    ipc: socket.socket
    port: int
    log: Path
    _request_id: int = 0

    def headers(self) -> dict[str, str]:
        """Vercel's internal headers, which the runtime shim reads and strips."""
        self._request_id += 1
        return {
            "x-vercel-internal-invocation-id": f"inv-{self._request_id}",
            "x-vercel-internal-request-id": str(self._request_id),
            "x-vercel-internal-span-id": "0",
            "x-vercel-internal-trace-id": "0",
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.ipc.close()


def start_function(
    python: str, bundle: Path, workdir: Path, timeout_s: float = 60.0
) -> RunningFunction:
    """Start ``vc__handler__python.py`` with ``python -s -S -E`` (no site-packages at all:
    only the bundle's own folder is on sys.path) and wait for its "server-started"."""
    ipc_path = workdir / "ipc.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(ipc_path))
    listener.listen(1)
    listener.settimeout(timeout_s)
    log = workdir / "function.log"
    env = {
        "PATH": "/usr/bin:/bin",
        "VERCEL_IPC_PATH": str(ipc_path),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python, "-s", "-S", "-E", "vc__handler__python.py"],
            cwd=bundle,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        process.kill()
        raise RuntimeError(
            "the function never connected to its IPC socket:\n" + log.read_text()[-3000:]
        ) from None
    finally:
        listener.close()
    connection.settimeout(1.0)
    buffer = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the function exited with {process.returncode}:\n" + log.read_text()[-3000:]
            )
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            continue
        buffer += chunk
        for raw in buffer.split(b"\0")[:-1]:
            message = json.loads(raw)
            if message.get("type") == "server-started":
                port = int(message["payload"]["httpPort"])
                # Keep draining IPC messages so the function never blocks on a full socket.
                connection.setblocking(False)
                return RunningFunction(process=process, ipc=connection, port=port, log=log)
    process.kill()
    raise RuntimeError("no server-started message:\n" + log.read_text()[-3000:])
