"""The root Dockerfile and .dockerignore, read as a reviewer would (fast, no build).

The replay of the recipe (fresh venv, the image's files and command, a prediction) is in
test_image_recipe.py; this file checks what can be read off the recipe itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import PROJECT_ROOT
from .dockerfile import context_files, parse_dockerfile

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
TP_DOCKER_DOCKERFILE = PROJECT_ROOT / "TP_Docker" / "Dockerfile"
HADOLINT = Path(sys.executable).with_name("hadolint")
FRAMEWORKS = ("torch", "tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "jax")


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>\[~!; ]", line)[0].lower())
    return names


def requirement_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_hadolint_finds_nothing_in_the_root_dockerfile() -> None:
    result = subprocess.run(
        [str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_would_catch_an_unpinned_apt_install(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text() + "RUN apt-get update && apt-get install -y curl\n")
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DL3008" in result.stdout


def test_the_image_is_built_in_two_stages_on_a_slim_python() -> None:
    recipe = parse_dockerfile(DOCKERFILE)
    assert len(recipe.stages) >= 2
    assert all("slim" in stage.base for stage in recipe.stages)


def test_the_builder_installs_the_serving_requirements_only() -> None:
    builder = parse_dockerfile(DOCKERFILE).stages[0]
    installs = [i.arguments for i in builder.all("RUN") if "pip install" in i.arguments]
    assert len(installs) == 1
    assert "--requirement /tmp/requirements.txt" in installs[0]
    copied = [i.arguments for i in builder.all("COPY")]
    assert copied == ["requirements.txt /tmp/requirements.txt"]


def test_the_serving_requirements_hold_no_training_framework() -> None:
    assert requirement_names(PROJECT_ROOT / "requirements.txt").isdisjoint(FRAMEWORKS)


def test_the_runtime_runs_as_an_unprivileged_user() -> None:
    user = parse_dockerfile(DOCKERFILE).runtime.last("USER")
    assert user is not None
    uid = user.arguments.split(":")[0]
    assert uid not in {"0", "root"}


def test_the_healthcheck_asks_the_readiness_endpoint() -> None:
    command = parse_dockerfile(DOCKERFILE).healthcheck()
    assert command[0] == "python"
    script = (PROJECT_ROOT / command[1]).read_text()
    assert "/v2/health/ready" in script
    assert "API_PORT" in script


def test_the_command_serves_the_fastapi_app_on_the_exposed_port() -> None:
    recipe = parse_dockerfile(DOCKERFILE)
    assert recipe.cmd() == ["python", "TP_Docker/app.py"]
    env = recipe.env()
    assert env["API_HOST"] == "0.0.0.0"
    expose = recipe.runtime.last("EXPOSE")
    assert expose is not None and expose.arguments == env["API_PORT"] == "8000"


def test_the_image_serves_the_baked_models_by_default() -> None:
    recipe = parse_dockerfile(DOCKERFILE)
    assert ("models/", "models/") in recipe.copies_from_context()
    workdir = recipe.runtime.last("WORKDIR")
    assert workdir is not None
    assert recipe.env()["API_MODEL_REPOSITORY"] == f"{workdir.arguments}/models"


def test_the_root_recipe_stays_in_step_with_tp_dockers() -> None:
    # Two images on purpose (the API alone; the API + Flask page), one recipe: they may
    # differ only in the requirements file, the TP_Flask copy and the image's labels.
    ours, theirs = parse_dockerfile(DOCKERFILE), parse_dockerfile(TP_DOCKER_DOCKERFILE)
    assert ours.args == theirs.args
    assert [s.name for s in ours.stages] == [s.name for s in theirs.stages]
    for keyword in ("USER", "WORKDIR", "EXPOSE", "HEALTHCHECK", "CMD"):
        mine, other = ours.runtime.last(keyword), theirs.runtime.last(keyword)
        assert mine is not None and other is not None, keyword
        assert mine.arguments == other.arguments, keyword
    assert ours.env() == theirs.env()
    extra = set(ours.copies_from_context()) - set(theirs.copies_from_context())
    assert extra == {("TP_Flask/", "TP_Flask/")}
    assert set(theirs.copies_from_context()) <= set(ours.copies_from_context())


def test_the_api_only_requirements_are_pinned_as_in_the_serving_requirements() -> None:
    pins = requirement_pins(PROJECT_ROOT / "requirements.txt")
    api_only = requirement_pins(PROJECT_ROOT / "TP_Docker" / "requirements.txt")
    assert {name: pins.get(name) for name in api_only} == api_only


def test_every_file_the_image_copies_is_in_the_build_context() -> None:
    kept = context_files(PROJECT_ROOT, DOCKERIGNORE)
    for source, _ in parse_dockerfile(DOCKERFILE).copies_from_context():
        prefix = source.rstrip("/")
        assert any(f == prefix or f.startswith(prefix + "/") for f in kept), source


def test_the_build_context_leaves_out_venv_tests_notebooks_and_training_sources() -> None:
    kept = context_files(PROJECT_ROOT, DOCKERIGNORE)
    tops = {path.split("/")[0] for path in kept}
    assert tops <= {"requirements.txt", "utils", "TP_Docker", "TP_Flask", "models"}
    assert not any("__pycache__" in path or path.endswith(".onnx.data") for path in kept)


def test_the_build_context_keeps_the_default_models() -> None:
    kept = context_files(PROJECT_ROOT, DOCKERIGNORE)
    models = [path for path in kept if path.startswith("models/") and path.endswith("model.onnx")]
    assert models, "no models/<name>/<version>/model.onnx in the build context"
