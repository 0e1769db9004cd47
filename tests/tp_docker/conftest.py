"""Fixtures: live servers on 127.0.0.1 (see tp_docker_server.py) and a good request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tp_docker.tp_docker_server import (
    LiveServer,
    build_repository,
    infer_body,
    settings_for,
    start_server,
)


@pytest.fixture(scope="module")
def module_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repository(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def server(module_repo: Path) -> Iterator[LiveServer]:
    """One server per module, auth off (as from a fresh clone), admin key set."""
    live = start_server(settings_for(module_repo, admin_key="admin-secret"))
    yield live
    live.stop()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers with custom settings on a fresh repository; all stopped afterwards."""
    started: list[LiveServer] = []

    def factory(
        repo: Path | None = None, *, wait_ready: bool = True, **overrides: Any
    ) -> LiveServer:
        root = repo if repo is not None else build_repository(tmp_path / "models")
        live = start_server(settings_for(root, **overrides), wait_ready=wait_ready)
        started.append(live)
        return live

    yield factory
    for live in started:
        live.stop()


@pytest.fixture
def good_body() -> dict[str, Any]:
    return infer_body([[0.25] * 64])
