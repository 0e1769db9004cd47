"""Fixtures for the shipping tests: the real programs (nginx, prometheus, promtool,
uvicorn replicas) started on 127.0.0.1 with temporary folders, and stopped at teardown."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import ApiReplica, start_api_replica

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT_ROOT / "deploy"


def require_program(name: str) -> str:
    """Return the path of a program the test drives, or fail saying how to install it.

    Failing (not skipping) on purpose: CI installs these with `make system-deps`, and a
    skipped fault test would let a broken config land unnoticed.
    """
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.fail(f"{name} is not installed: run `make system-deps` (Debian package)")
    return path


@pytest.fixture(scope="module")
def api_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiReplica]:
    """One live API replica (uvicorn, TP_Docker.app:app) on a free loopback port, with a
    prediction log of its own (flushed every 0.2 s) instead of the project's out/ one."""
    workdir = tmp_path_factory.mktemp("replica")
    log = {
        "API_PREDICTION_LOG_URL": f"sqlite:///{workdir / 'prediction_log.sqlite3'}",
        "API_PREDICTION_LOG_FLUSH_INTERVAL_S": "0.2",
    }
    replica = start_api_replica(workdir, extra_env=log)
    try:
        yield replica
    finally:
        replica.stop()


@pytest.fixture(scope="session")
def digit_samples() -> tuple[list[list[float]], list[int]]:
    """Ten held-out digits of the demo split: 64 pixels in [0, 1] each, and their labels."""
    from utils.digits import load_split

    split = load_split()
    rows = split.x_test[:10].reshape(10, 64).tolist()
    return rows, [int(y) for y in split.y_test[:10]]
