"""The Vercel function, built by Vercel's own CLI (offline) and run from its bundle alone.

Slow (about a minute): the pinned `vercel build` (deploy/ci/package.json, installed by
`npm ci --prefix deploy/ci`) installs requirements.txt for Python 3.12.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from . import vercel_bundle
from .sizes import record_size
from .vercel_bundle import RunningFunction

# Module budget: npm ci + pip for Python 3.12 on a cold cache take longer than pyproject's 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

VERCEL_LIMIT_BYTES = 250 * 1000**2
OUR_BUDGET_BYTES = 200 * 1000**2
"""Ours, under Vercel's 250 MB: onnxruntime and numpy take ~115 MB; SQLAlchemy, Alembic and
psycopg (the prediction log, issue 12) ~25 MB more."""
FRAMEWORKS = ("torch", "tensorflow", "sklearn", "keras", "flask", "gunicorn")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(project copy, function folder) after `vercel build`."""
    project = vercel_bundle.copy_project(tmp_path_factory.mktemp("vercel") / "project")
    function_dir = vercel_bundle.build(project, project.parent / "build.log")
    return project, function_dir


@pytest.fixture(scope="module")
def bundle_files(built: tuple[Path, Path]) -> dict[str, Path]:
    project, function_dir = built
    return vercel_bundle.file_path_map(function_dir, project)


@pytest.fixture(scope="module")
def running(
    built: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningFunction]:
    project, function_dir = built
    bundle = vercel_bundle.materialize(function_dir, project, tmp_path_factory.mktemp("task"))
    python = vercel_bundle.runtime_python(function_dir)
    function = vercel_bundle.start_function(python, bundle, tmp_path_factory.mktemp("run"))
    try:
        yield function
    finally:
        function.stop()


def test_vercel_build_writes_one_python_function(built: tuple[Path, Path]) -> None:
    config = vercel_bundle.vc_config(built[1])
    assert str(config["runtime"]).startswith("python3.")
    assert config["handler"] == "vc__handler__python.vc_handler"


def test_the_function_unzipped_is_under_vercels_250_mb_limit(
    built: tuple[Path, Path], bundle_files: dict[str, Path]
) -> None:
    size = vercel_bundle.unzipped_size_bytes(bundle_files, built[1])
    print(f"unzipped function size: {size / 1e6:.1f} MB in {len(bundle_files)} files")
    assert size < VERCEL_LIMIT_BYTES
    record_size(
        "vercel_function_unzipped",
        size,
        measured_by="tests/shipping/test_vercel.py",
        note=f"the function's filePathMap, uncompressed ({len(bundle_files)} files)",
    )


def test_the_function_unzipped_stays_within_our_150_mb_budget(
    built: tuple[Path, Path], bundle_files: dict[str, Path]
) -> None:
    assert vercel_bundle.unzipped_size_bytes(bundle_files, built[1]) < OUR_BUDGET_BYTES


def test_the_bundle_holds_no_tests_training_code_or_other_apps(
    bundle_files: dict[str, Path],
) -> None:
    tops = {path.split("/")[0] for path in bundle_files}
    assert tops.isdisjoint(
        {
            "tests",
            "TP_ONNX",
            "TP_Quantization",
            "TP_Flask",
            "notebooks",
            "docs",
            "deploy",
            ".venv",
            ".git",
        }
    )
    assert tops.isdisjoint(FRAMEWORKS)


def test_the_bundle_carries_the_default_models(bundle_files: dict[str, Path]) -> None:
    assert any(p.startswith("models/") and p.endswith("/model.onnx") for p in bundle_files)


def test_the_built_function_is_ready_when_started_from_its_bundle_alone(
    running: RunningFunction,
) -> None:
    response = httpx.get(
        f"http://127.0.0.1:{running.port}/v2/health/ready", headers=running.headers(), timeout=10
    )
    assert response.status_code == 200


def test_the_built_function_serves_predictions(
    running: RunningFunction, digit_samples: tuple[list[list[float]], list[int]]
) -> None:
    rows, labels = digit_samples
    response = httpx.post(
        f"http://127.0.0.1:{running.port}/predict",
        json={"model": "digits_sklearn", "inputs": rows},
        headers=running.headers(),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    predicted = [int(p["label"]) for p in response.json()["predictions"]]
    assert sum(p == y for p, y in zip(predicted, labels, strict=True)) >= 9
