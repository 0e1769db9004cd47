"""The data plane's sync door (Flask, the CLIs): its own loop in a thread, and the answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop

from utils.deployment_helpers.dataplane import DataPlane, DataPlaneSettings
from utils.deployment_helpers.observation import RequestContext
from utils.deployment_helpers.served_model import ServedModel

MODELS = Path(__file__).resolve().parents[2] / "models"
MODEL = "digits_sklearn"


@pytest.fixture
def plane() -> Iterator[DataPlane]:
    served = DataPlane(DataPlaneSettings(model_repository=MODELS, models=(MODEL,)))
    served.start_background()
    try:
        yield served
    finally:
        served.stop_background()


def test_the_sync_door_runs_on_uvloop_like_the_api(plane: DataPlane) -> None:
    loop = plane.call(_running_loop())
    assert isinstance(loop, uvloop.Loop)


def test_the_sync_door_answers_a_prediction_from_a_caller_thread(plane: DataPlane) -> None:
    answer = plane.call(
        plane.predict(
            {"model": MODEL, "inputs": [[0.0] * 64]}, RequestContext("rid-sync", route="predict")
        )
    )
    assert answer["model"] == MODEL
    assert len(answer["predictions"]) == 1


async def _running_loop() -> object:
    return asyncio.get_running_loop()


def test_the_sync_door_runs_each_batch_on_its_own_loop_thread_not_a_worker(
    plane: DataPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    run = ServedModel.run

    def recording_run(self: ServedModel, feed: dict[str, Any]) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return run(self, feed)

    monkeypatch.setattr(ServedModel, "run", recording_run)
    for rid in ("rid-a", "rid-b"):
        plane.call(plane.predict({"model": MODEL, "inputs": [[1.0] * 64]}, RequestContext(rid)))
    assert threads == ["data-plane-loop", "data-plane-loop"]
