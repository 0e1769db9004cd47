"""Replay a Dockerfile on the host: no Docker engine runs here, so the recipe is proven by
running its parts exactly as written.

- builder stage: its one RUN line (venv, ``pip install --requirement`` of the file it
  copied, clean-up), with ``/opt/venv`` and the copied file's path swapped for the host's;
- runtime stage: every ``COPY`` from the build context (filtered by .dockerignore, as
  `docker build` would) into an app folder, the stage's ``ENV`` (``/opt/venv`` replaced by
  the fresh venv), its ``CMD`` from that folder;
- the ``HEALTHCHECK`` command, run as Docker would, must pass.

Only the address changes, because tests bind loopback only: 0.0.0.0 becomes 127.0.0.1
and port 8000 a free port, in the CMD, the HEALTHCHECK and ``API_HOST``/``API_PORT``
alike; ``/app`` in ``API_MODEL_REPOSITORY`` becomes the replayed app folder.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .dockerfile import Recipe, context_files, parse_dockerfile
from .processes import PROJECT_ROOT, Managed, bound_socket, tail

IMAGE_VENV = "/opt/venv"


@dataclass
class ReplayedImage:
    recipe: Recipe
    venv: Path
    app: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def install(dockerfile: Path, workdir: Path, log: Path) -> ReplayedImage:
    """Build the image's venv and app folder in ``workdir`` as the recipe says."""
    recipe = parse_dockerfile(dockerfile)
    builder = recipe.stages[0]
    copied = {dest: src for src, dest in (i.arguments.split() for i in builder.all("COPY"))}
    runs = [i.arguments for i in builder.all("RUN")]
    assert len(runs) == 1, f"expected one RUN in the builder, found {runs}"
    venv = workdir / "venv"
    # The RUN line itself, with the image's paths swapped for the host's.
    script = runs[0].replace(IMAGE_VENV, str(venv))
    for target, source in copied.items():
        script = script.replace(target, str(PROJECT_ROOT / source))
    script = script.replace("python -m venv", f"{shlex.quote(sys.executable)} -m venv", 1)
    with log.open("ab") as out:
        subprocess.run(["bash", "-euo", "pipefail", "-c", script], check=True, stdout=out,
                       stderr=subprocess.STDOUT, timeout=900)  # fmt: skip
    app = workdir / "app"
    kept = context_files(PROJECT_ROOT, PROJECT_ROOT / ".dockerignore")
    for src, dest in recipe.copies_from_context():
        prefix = src.rstrip("/")
        for relative in kept:
            if relative == prefix or relative.startswith(prefix + "/"):
                inner = relative[len(prefix) :].lstrip("/")
                target_path = app / dest.rstrip("/") / inner if inner else app / dest
                target_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(PROJECT_ROOT / relative, target_path)
    return ReplayedImage(recipe=recipe, venv=venv, app=app)


def loopback(command: list[str], port: int) -> list[str]:
    """The command with 0.0.0.0 -> 127.0.0.1 and :8000/8000 -> the test's port."""
    swapped = []
    for part in command:
        part = part.replace("0.0.0.0", "127.0.0.1").replace(":8000/", f":{port}/")
        swapped.append(str(port) if part == "8000" else part)
    return swapped


def environment(image: ReplayedImage) -> dict[str, str]:
    """The runtime stage's ENV over a clean environment (no API_* leaking from ours)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("API_", "PYTHON", "VIRTUAL_ENV"))}  # fmt: skip
    for key, value in image.recipe.env().items():
        value = value.replace(IMAGE_VENV, str(image.venv)).replace("$PATH", env.get("PATH", ""))
        env[key] = value
    if env.get("API_MODEL_REPOSITORY", "").startswith("/app/"):
        env["API_MODEL_REPOSITORY"] = str(image.app / env["API_MODEL_REPOSITORY"][5:])
    return env


def loopback_environment(image: ReplayedImage, port: int) -> dict[str, str]:
    """:func:`environment`, with the server's address swapped for 127.0.0.1:``port``."""
    env = environment(image)
    env["API_HOST"] = env.get("API_HOST", "").replace("0.0.0.0", "127.0.0.1")
    if env.get("API_PORT") == "8000":
        env["API_PORT"] = str(port)
    return env


def start(image: ReplayedImage, workdir: Path) -> Managed:
    """Run the CMD from the app folder, on a free loopback port."""
    sock = bound_socket()
    port = int(sock.getsockname()[1])
    sock.close()  # uvicorn binds it again at once; the CMD cannot take a file descriptor
    command = loopback(image.recipe.cmd(), port)
    log = workdir / "image.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=image.app, env=loopback_environment(image, port),
                                   stdout=out,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    return Managed(process=process, log=log, port=port)


def healthcheck(image: ReplayedImage, server: Managed, timeout_s: float = 60.0) -> float:
    """Run the HEALTHCHECK until it passes; return the seconds it took (cold start)."""
    command = loopback(image.recipe.healthcheck(), server.port)
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if not server.alive():
            raise RuntimeError("the image's command exited:\n" + tail(server.log))
        result = subprocess.run(command, cwd=image.app,
                                env=loopback_environment(image, server.port),
                                capture_output=True, timeout=10, check=False)  # fmt: skip
        if result.returncode == 0:
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError("HEALTHCHECK never passed:\n" + tail(server.log))


def installed_size_bytes(venv: Path) -> int:
    """Bytes of every file in the venv: the runtime layer's installed packages."""
    return sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink())
